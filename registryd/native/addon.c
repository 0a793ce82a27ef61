/* The registryd native addon: the SHA-256 block function and send_file (see each file). */
#include <node_api.h>

napi_value registryd_sha256_blocks(napi_env env, napi_callback_info info);
napi_value registryd_send_file(napi_env env, napi_callback_info info);

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "sha256_blocks", NAPI_AUTO_LENGTH, registryd_sha256_blocks, NULL, &fn);
  napi_set_named_property(env, exports, "sha256_blocks", fn);
  napi_create_function(env, "send_file", NAPI_AUTO_LENGTH, registryd_send_file, NULL, &fn);
  napi_set_named_property(env, exports, "send_file", fn);
  return exports;
}
