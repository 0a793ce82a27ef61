/*
 * relay(fromfd, tofd, count) → Promise<bytes relayed>: move exactly `count`
 * bytes from one TCP socket to another on a libuv worker thread (recv into a
 * 1 MiB buffer, send), so a proxied blob body never enters JavaScript.
 *
 * Both descriptors are dup()'d first: Node closing either socket can never
 * make the worker touch a reused descriptor number. The sockets stay
 * non-blocking (libuv owns them); the worker waits for POLLIN / POLLOUT
 * itself, at most NATIVE_IDLE_MS at a time. The caller guarantees nobody else reads
 * `fromfd` or writes `tofd` meanwhile. Rejects with an Error whose `code` is
 * the errno name; EOF before `count` bytes is EPIPE with side "upstream".
 */
#include "common.h"
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  int from;
  int to;
  int64_t count;
  int64_t moved;
  int err;
  const char *side; /* which socket failed: "upstream" or "client" */
  napi_deferred deferred;
  napi_async_work work;
} relay_t;

static void run(napi_env env, void *data) {
  (void)env;
  relay_t *t = data;
  char *buf = malloc(NATIVE_BUF_SIZE);
  if (!buf) { t->err = ENOMEM; t->side = "relay"; return; }
  size_t have = 0, at = 0;
  int64_t left = t->count; /* bytes still to receive */
  while (left > 0 || at < have) {
    if (at == have) {
      ssize_t r = recv(t->from, buf, left > NATIVE_BUF_SIZE ? NATIVE_BUF_SIZE : (size_t)left, 0);
      if (r > 0) { have = (size_t)r; at = 0; left -= r; continue; }
      if (r == 0) { t->err = EPIPE; t->side = "upstream"; break; }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        int e = native_wait_fd(t->from, POLLIN);
        if (e) { t->err = e; t->side = "upstream"; break; }
        continue;
      }
      t->err = errno; t->side = "upstream"; break;
    }
    ssize_t n = native_send_step(t->to, buf + at, have - at);
    if (n < 0) { t->err = (int)-n; t->side = "client"; break; }
    at += (size_t)n; t->moved += n;
  }
  free(buf);
}

static void done(napi_env env, napi_status status, void *data) {
  relay_t *t = data;
  if (status == napi_ok && t->err == 0) {
    napi_value v;
    napi_create_double(env, (double)t->moved, &v);
    napi_resolve_deferred(env, t->deferred, v);
  } else {
    napi_value err = native_errno_error(env, t->err, "ERELAY", "bytesRelayed", t->moved), side;
    napi_create_string_utf8(env, t->side ? t->side : "relay", NAPI_AUTO_LENGTH, &side);
    napi_set_named_property(env, err, "side", side);
    napi_reject_deferred(env, t->deferred, err);
  }
  close(t->from);
  close(t->to);
  napi_delete_async_work(env, t->work);
  free(t);
}

napi_value native_relay(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t from = -1, to = -1;
  int64_t count = -1;
  if (argc != 3 || napi_get_value_int32(env, argv[0], &from) != napi_ok || napi_get_value_int32(env, argv[1], &to) != napi_ok ||
      napi_get_value_int64(env, argv[2], &count) != napi_ok || from < 0 || to < 0 || count < 0) {
    napi_throw_type_error(env, NULL, "relay(fromfd, tofd, count)");
    return NULL;
  }
  int f = dup(from);
  if (f < 0) { napi_throw_error(env, native_errno_name(errno, "EDUP"), strerror(errno)); return NULL; }
  int d = dup(to);
  if (d < 0) { close(f); napi_throw_error(env, native_errno_name(errno, "EDUP"), strerror(errno)); return NULL; }
  relay_t *t = calloc(1, sizeof *t);
  if (!t) { close(f); close(d); napi_throw_error(env, NULL, "out of memory"); return NULL; }
  t->from = f; t->to = d; t->count = count;
  napi_value promise, name;
  napi_create_promise(env, &t->deferred, &promise);
  napi_create_string_utf8(env, "native.relay", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, run, done, t, &t->work);
  napi_queue_async_work(env, t->work);
  return promise;
}
