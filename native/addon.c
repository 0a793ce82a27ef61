/* The project's native addon: the SHA-256 block function, send_file and relay (see each file). */
#include <node_api.h>

napi_value registryd_sha256_blocks(napi_env env, napi_callback_info info);
napi_value registryd_send_file(napi_env env, napi_callback_info info);
napi_value native_relay(napi_env env, napi_callback_info info);

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "sha256_blocks", NAPI_AUTO_LENGTH, registryd_sha256_blocks, NULL, &fn);
  napi_set_named_property(env, exports, "sha256_blocks", fn);
  napi_create_function(env, "send_file", NAPI_AUTO_LENGTH, registryd_send_file, NULL, &fn);
  napi_set_named_property(env, exports, "send_file", fn);
  napi_create_function(env, "relay", NAPI_AUTO_LENGTH, native_relay, NULL, &fn);
  napi_set_named_property(env, exports, "relay", fn);
  return exports;
}
