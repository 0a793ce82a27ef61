/*
 * sha256_blocks(h, data): compress whole 64-byte blocks of `data` into the
 * eight SHA-256 working words `h` (an Int32Array), in place.
 *
 * The resumable hasher (../upload/sha256.ts) keeps the midstate itself, in
 * JavaScript, because Quay stores it (blobupload.sha_state); only the block
 * function runs here. It borrows the OpenSSL that Node itself links
 * (SHA-NI/AVX2 code paths): a SHA256_CTX seeded with `h`, no pending bytes,
 * fed a whole number of blocks, leaves exactly the compressed words in ctx.h.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <node_api.h>
#include <openssl/sha.h>
#include <string.h>

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

napi_value registryd_sha256_blocks(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) return throw_type(env, "sha256_blocks(h, data)");

  napi_typedarray_type htype;
  size_t hlen;
  void *hdata;
  if (napi_get_typedarray_info(env, argv[0], &htype, &hlen, &hdata, NULL, NULL) != napi_ok || htype != napi_int32_array || hlen != 8) {
    return throw_type(env, "h must be an Int32Array of 8 words");
  }
  napi_typedarray_type dtype;
  size_t dlen;
  void *data;
  if (napi_get_typedarray_info(env, argv[1], &dtype, &dlen, &data, NULL, NULL) != napi_ok || dtype != napi_uint8_array || dlen % 64 != 0) {
    return throw_type(env, "data must be a Uint8Array holding whole 64-byte blocks");
  }
  if (dlen == 0) return NULL;

  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  memcpy(ctx.h, hdata, sizeof ctx.h);
  SHA256_Update(&ctx, data, dlen);
  memcpy(hdata, ctx.h, sizeof ctx.h);
  return NULL;
}
