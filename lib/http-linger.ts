/** Lingering close for an answer sent before the request body was read (shared by the proxy and the registry). */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * How long the rest of a request body is read, and thrown away, after the
 * answer went out without it (a refused upload), as nginx's lingering close
 * and Go's net/http do. Closing at once with unread bytes makes the kernel
 * reset the connection, and a client (or the switchboard in front) still
 * writing its body then loses the answer to the reset: it sees "connection
 * reset" instead of BLOB_UPLOAD_UNKNOWN. The connection stays usable when the
 * body ends in time; a client still sending after this long is cut off.
 * The switchboard's proxy lingers the same way (switchboard/proxy/server.ts) and the registry (registryd/http/respond.ts).
 */
export const LINGER_MS = 30_000;

export function lingerAfter(req: IncomingMessage, res: ServerResponse): void {
  res.once('finish', () => {
    if (req.complete || req.destroyed) return;
    req.resume();
    const timer = setTimeout(() => req.socket.destroy(), LINGER_MS);
    timer.unref();
    const stop = (): void => clearTimeout(timer);
    req.once('end', stop);
    req.socket.once('close', stop);
  });
}
