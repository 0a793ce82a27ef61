/**
 * Real nginx for the front-door tests: start it on a rendered configuration,
 * and small upstreams that echo who they are.
 */
import http from 'node:http';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinaries, run, sleep, startChild, type Child, type TLike } from './proc.js';
import net from 'node:net';

export const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

export function requireNginx(): void {
  requireBinaries([NGINX]);
}

/** Resolves once something accepts connections on 127.0.0.1:port. */
export async function waitForPort(port: number, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() - t0 > ms) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await sleep(30);
  }
}

export interface RunningNginx {
  readonly child: Child;
  readonly conf: string;
  stop(): Promise<void>;
  /** `nginx -s reload`, then waits until the old workers are gone. */
  reload(): Promise<void>;
}

/** The worker processes of an nginx master (children by /proc). */
function workersOf(master: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces, so read after its closing parenthesis.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === master) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Writes `text` to dir/nginx.conf, checks it with `nginx -t`, and runs nginx in the foreground on it. */
export async function startNginx(t: TLike, dir: string, text: string, port: number): Promise<RunningNginx> {
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, text);
  const check = await run(NGINX, ['-t', '-q', '-c', conf]);
  if (check.code !== 0) throw new Error(`nginx -t rejected the rendered configuration:\n${check.stderr}`);
  const child = startChild(t, NGINX, ['-c', conf, '-g', 'daemon off;']);
  try {
    await waitForPort(port);
  } catch (e) {
    throw new Error(`nginx did not come up: ${(e as Error).message}\n${child.stderr()}`);
  }
  return {
    child,
    conf,
    stop: async () => {
      child.child.kill('SIGQUIT');
      await child.stop(5000);
    },
    reload: async () => {
      const master = child.child.pid!;
      const old = workersOf(master);
      const r = await run(NGINX, ['-c', conf, '-s', 'reload']);
      if (r.code !== 0) throw new Error(`nginx -s reload failed:\n${r.stderr}`);
      // The master loads the new configuration, starts new workers, then tells the old
      // ones to finish: until they are gone, a kept-alive connection may still reach one.
      const t0 = Date.now();
      for (;;) {
        const now = workersOf(master);
        if (now.length > 0 && !now.some((pid) => old.includes(pid))) break;
        if (Date.now() - t0 > 10_000) throw new Error(`nginx reload: old workers ${old.join(', ')} still running after 10 s`);
        await sleep(25);
      }
      await sleep(50);
    },
  };
}

export interface EchoServer {
  readonly owner: string;
  readonly port: number;
  /** Requests seen, as "METHOD URL". */
  readonly seen: string[];
  /** The Cookie header of each request seen ('' when none). */
  readonly cookies: string[];
  close(): Promise<void>;
}

/**
 * An upstream that answers every request with `x-echo-owner: <owner>` and a
 * JSON body naming itself; a POST under /blobs/uploads/ starts an "upload"
 * and answers 202 with its Location, as a registry does.
 */
export async function startEcho(t: TLike, owner: string): Promise<EchoServer> {
  const seen: string[] = [];
  const cookies: string[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    cookies.push(String(req.headers.cookie ?? ''));
    req.resume();
    req.on('end', () => {
      const headers: Record<string, string> = { 'x-echo-owner': owner, 'content-type': 'application/json' };
      let status = 200;
      const m = /^(\/v2\/.+\/blobs\/uploads\/)(?:\?.*)?$/.exec(req.url ?? '');
      if (req.method === 'POST' && m) {
        status = 202;
        const uuid = `${owner}-upload-${++n}`;
        headers.location = `${m[1]}${uuid}`;
        headers['docker-upload-uuid'] = uuid;
      } else if (/\/blobs\/uploads\/[^/?]+/.test(req.url ?? '') && req.method === 'PATCH') {
        status = 202;
        headers.location = (req.url ?? '').replace(/\?.*$/, '');
      }
      const body = JSON.stringify({ owner, method: req.method, url: req.url, host: req.headers.host, xff: req.headers['x-forwarded-for'] });
      res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const close = (): Promise<void> =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  t.teardown(close);
  return { owner, port, seen, cookies, close };
}
