/*
 * Shared by the worker-thread transfers (file-send.c, relay.c): waiting on a
 * non-blocking socket, and errno values as JavaScript errors.
 */
#ifndef NATIVE_COMMON_H
#define NATIVE_COMMON_H

#include <node_api.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

/* How long a transfer waits for a silent peer before giving up (ETIMEDOUT). */
#define NATIVE_IDLE_MS 60000
/* Bytes moved per system call. */
#define NATIVE_BUF_SIZE (1 << 20)

/*
 * Wait until `fd` is ready for `events` (POLLIN or POLLOUT): 0, or an errno.
 * A hang-up with the awaited event still pending is left to the next
 * recv()/send(), which reports what is left (data, EOF or EPIPE).
 */
static inline int native_wait_fd(int fd, short events) {
  for (;;) {
    struct pollfd p = { .fd = fd, .events = events, .revents = 0 };
    int r = poll(&p, 1, NATIVE_IDLE_MS);
    if (r == 0) return ETIMEDOUT;
    if (r < 0) { if (errno == EINTR) continue; return errno; }
    if (p.revents & POLLNVAL) return EBADF;
    if ((p.revents & (POLLERR | POLLHUP)) && !(p.revents & events)) return EPIPE;
    return 0;
  }
}

/*
 * One send() of `len` bytes on a non-blocking socket, without SIGPIPE: the
 * bytes written (0 after an interrupt or a wait for room), or -errno (EPIPE
 * when the peer takes nothing more).
 */
static inline ssize_t native_send_step(int fd, const char *buf, size_t len) {
  ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
  if (n > 0) return n;
  if (n < 0 && errno == EINTR) return 0;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    int e = native_wait_fd(fd, POLLOUT);
    return e ? -e : 0;
  }
  return -(n < 0 ? errno : EPIPE);
}

static inline const char *native_errno_name(int e, const char *fallback) {
  switch (e) {
    case EPIPE: return "EPIPE";
    case ECONNRESET: return "ECONNRESET";
    case ETIMEDOUT: return "ETIMEDOUT";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case ENOMEM: return "ENOMEM";
    case ENOTCONN: return "ENOTCONN";
    default: return fallback;
  }
}

/* An Error whose `code` names errno `e`, carrying how many bytes got through as `countName`. */
static inline napi_value native_errno_error(napi_env env, int e, const char *fallback, const char *countName, int64_t count) {
  napi_value code, msg, err, n;
  napi_create_string_utf8(env, native_errno_name(e, fallback), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, e ? strerror(e) : "transfer cancelled", NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &err);
  napi_create_double(env, (double)count, &n);
  napi_set_named_property(env, err, countName, n);
  return err;
}

#endif
