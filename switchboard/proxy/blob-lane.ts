/**
 * The blob lane: `GET /v2/<repo>/blobs/<digest>` (ROUTE_0010) bodies relayed
 * socket to socket by the native addon on a libuv worker thread, so a
 * multi-GiB layer never passes through JavaScript (native/relay.c).
 *
 *   1. a fresh TCP connection to the owner, the request with `Connection: close`
 *   2. the response head is read and parsed here
 *   3. a response with a Content-Length (blobs, and errors or redirects too):
 *      the head goes to the client, then the worker relays exactly the
 *      remaining body bytes
 *   4. no Content-Length (chunked, or ended by close; no registry answers a
 *      blob GET so): nothing was sent to the client, the caller forwards the
 *      request the ordinary way (a GET, so asking twice is safe)
 *
 * Used only where it can work: a plain-TCP client socket, an http:// owner,
 * the addon built, and a free worker slot.
 */
import net, { type Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { holdWorkerSlot, native, queuedWritesFlushed, socketFd, workerSlotFree } from '../../native/index.js';
import { responseHeaders } from './headers.js';

const MAX_HEAD = 64 * 1024;
let started = 0;

/** Responses that went through the lane since the process started (tests). */
export function laneResponses(): number {
  return started;
}

export interface LaneResult {
  /** Body bytes the worker wrote to the client (Node's socket counters do not see them). */
  readonly relayed: number;
  /** Set when the transfer broke after the head went out: who failed. */
  readonly failure?: 'client_abort' | 'reset';
}

/**
 * Filled in before the response ends or is destroyed, so whoever logs the
 * request on the response's 'close' sees it: the body bytes the worker wrote
 * (not those Node wrote itself, which the socket's counter has).
 */
export interface LaneProgress {
  relayed: number;
}

export function laneAvailable(res: ServerResponse, upstream: string): boolean {
  return native !== null && workerSlotFree() && upstream.startsWith('http://') && socketFd(res.socket) >= 0;
}

interface Head {
  status: number;
  headers: Record<string, string | string[]>;
  rest: Buffer;
}

function parseHead(buf: Buffer, end: number): Head | null {
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (!m) return null;
  const headers: Record<string, string | string[]> = {};
  for (const line of lines.slice(1)) {
    const c = line.indexOf(':');
    if (c <= 0) return null;
    const name = line.slice(0, c).trim().toLowerCase();
    const value = line.slice(c + 1).trim();
    const prev = headers[name];
    headers[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return { status: Number(m[1]), headers, rest: buf.subarray(end + 4) };
}

/** Connect, send the request, read the response head; the socket is left paused. */
function requestHead(upstream: URL, path: string, headers: readonly string[], timeoutMs: number): Promise<{ sock: Socket; head: Head }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: upstream.hostname, port: Number(upstream.port || 80) });
    let buf: Buffer = Buffer.alloc(0);
    const fail = (e: Error): void => {
      sock.destroy();
      reject(e);
    };
    sock.setTimeout(timeoutMs, () => fail(Object.assign(new Error('upstream sent no response head in time'), { code: 'UND_ERR_HEADERS_TIMEOUT' })));
    sock.once('error', fail);
    sock.once('connect', () => {
      let text = `GET ${path} HTTP/1.1\r\n`;
      for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
      sock.write(`${text}connection: close\r\n\r\n`, 'latin1');
    });
    const onData = (chunk: Buffer): void => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > MAX_HEAD) fail(new Error('upstream response head too large'));
        return;
      }
      // Stop libuv reading at once: from here the bytes stay in the kernel for the relay.
      // The handle's `reading` flag stays set, so draining Node's own buffer with read()
      // cannot start it again; the socket is never read from JavaScript after this.
      const handle = (sock as unknown as { _handle?: { readStop?: () => void; reading?: boolean } })._handle;
      handle?.readStop?.();
      sock.off('data', onData);
      sock.pause();
      const buffered: Buffer[] = [buf];
      for (let more = sock.read() as Buffer | null; more !== null; more = sock.read() as Buffer | null) buffered.push(more);
      if (buffered.length > 1) buf = Buffer.concat(buffered);
      sock.setTimeout(0);
      sock.off('error', fail);
      sock.on('error', () => {}); // from here on, failures surface through the relay
      const head = parseHead(buf, end);
      if (!head) {
        fail(new Error('upstream sent a malformed response head'));
        return;
      }
      resolve({ sock, head });
    };
    sock.on('data', onData);
    sock.once('end', () => fail(Object.assign(new Error('upstream closed before its response head'), { code: 'UND_ERR_SOCKET' })));
  });
}

/**
 * Try the lane. Resolves null when the response is not for the lane (nothing
 * was sent to the client: forward the ordinary way), else with what happened.
 * Rejects (nothing sent) when the upstream cannot be reached.
 */
export async function blobLane(
  req: IncomingMessage,
  res: ServerResponse,
  upstream: string,
  headers: readonly string[],
  timeoutMs: number,
  extraHeaders: readonly string[],
  /** Told who failed before the response is destroyed (so the access log names the right side). */
  onBroken: (failure: 'client_abort' | 'reset') => void,
  progress: LaneProgress = { relayed: 0 },
): Promise<LaneResult | null> {
  const release = holdWorkerSlot();
  try {
    const { sock, head } = await requestHead(new URL(upstream), req.url ?? '/', headers, timeoutMs);
    const rawLen = head.headers['content-length'];
    const len = typeof rawLen === 'string' && /^\d+$/.test(rawLen) ? Number(rawLen) : NaN;
    // Bytes Node already read past the head: the start of the body.
    const first = head.rest;
    if (head.headers['transfer-encoding'] !== undefined || !Number.isSafeInteger(len) || first.length > len) {
      sock.destroy();
      return null;
    }
    const client = res.socket!;
    const clientFd = socketFd(client);
    const upstreamFd = socketFd(sock);
    if (clientFd < 0 || upstreamFd < 0) {
      sock.destroy();
      return null;
    }
    started++;
    res.writeHead(head.status, [...responseHeaders(head.headers), ...extraHeaders]);
    res.flushHeaders();
    if (first.length) res.write(first);
    // The worker writes to the client socket behind Node's back: wait until everything queued has left.
    await queuedWritesFlushed(client);
    try {
      const relayed = len > first.length ? await native!.relay(upstreamFd, clientFd, len - first.length) : 0;
      progress.relayed = relayed;
      res.end();
      return { relayed: relayed + first.length };
    } catch (e) {
      const failure = (e as { side?: string }).side === 'client' ? 'client_abort' : 'reset';
      const relayed = (e as { bytesRelayed?: number }).bytesRelayed ?? 0;
      progress.relayed = relayed;
      onBroken(failure);
      res.destroy();
      return { relayed: relayed + first.length, failure };
    } finally {
      sock.destroy();
    }
  } finally {
    release();
  }
}
