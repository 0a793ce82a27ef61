/**
 * The floor for bench:proxy: the least a Node reverse proxy can do per request
 * with the same parts the switchboard uses — node:http in front, one undici
 * Pool per upstream, Pool.stream into the response. No decision, metrics,
 * logging, pins, body watch or error pages: what is left is what Node itself
 * costs, so the switchboard's CPU per request divided by this one's is the
 * price of everything the switchboard adds.
 *
 *   node dist/bench/lib/floor-proxy.js <port> <upstream origin>
 *
 * It still behaves as a proxy must (hop-by-hop headers dropped both ways,
 * bodies streamed both ways, a 502 when the upstream fails), so that the
 * comparison is with a proxy, not with an echo.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool } from 'undici';

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

function forwardable(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
  return out;
}

function responseHeaders(h: Record<string, string | string[] | undefined>): string[] {
  const out: string[] = [];
  for (const k in h) {
    if (HOP.has(k)) continue;
    const v = h[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push(k, x);
    else out.push(k, v);
  }
  return out;
}

export function startFloor(port: number, upstream: string): http.Server {
  const pool = new Pool(upstream, { connections: null, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });
  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const body = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined ? req : null;
    pool
      .stream({ path: req.url ?? '/', method: method as 'GET', headers: forwardable(req.rawHeaders), body }, ({ statusCode, headers }) => {
        res.writeHead(statusCode, responseHeaders(headers as Record<string, string | string[]>));
        return res;
      })
      .catch(() => {
        if (res.headersSent) res.destroy();
        else {
          res.writeHead(502, ['content-length', '0']);
          res.end();
        }
      });
  });
  server.listen(port, '127.0.0.1');
  return server;
}

if (process.argv[1]?.endsWith('floor-proxy.js')) {
  const [port, upstream] = process.argv.slice(2);
  if (!port || !upstream) {
    console.error('usage: floor-proxy <port> <upstream origin>');
    process.exit(2);
  }
  startFloor(Number(port), upstream);
}
