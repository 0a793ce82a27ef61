/** Process, port and load-generator helpers shared by the benchmarks that run real peers. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import net from 'node:net';
import http from 'node:http';

export const wrkBin = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((p) => existsSync(p));
/** With two or more cores, the server under test gets cpu 1 and load generators cpu 0. */
export const taskset = existsSync('/usr/bin/taskset') && cpus().length >= 2 ? '/usr/bin/taskset' : null;

export const children: ChildProcess[] = [];

export const nginxBin = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

/**
 * One foreground nginx (one worker, no access log, everything under
 * dir/name) running `http` inside its http{} block, pinned to `cpu`; `main`
 * is added to its main context.
 */
export function startBenchNginx(dir: string, name: string, http: string, cpu: string | null, main = ''): ChildProcess {
  if (!nginxBin) throw new Error('needs nginx: apt-get install -y nginx-light');
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const conf = join(d, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
master_process off;
worker_processes 1;${main ? `\n${main}` : ''}
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${d}/body; proxy_temp_path ${d}/proxy; fastcgi_temp_path ${d}/fcgi;
  uwsgi_temp_path ${d}/uwsgi; scgi_temp_path ${d}/scgi;
  keepalive_requests 1000000;
${http}
}
`,
  );
  const [cmd, args] = pinned(cpu, nginxBin, ['-p', d, '-c', conf]);
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(c);
  return c;
}

/**
 * The plain nginx reverse proxy the benches compare with: `proxy_pass` to
 * `upstream` with keepalive, buffering off, and the header work the
 * switchboard (and its rendered nginx front door) does on every request
 * whatever the owner: Host kept, X-Forwarded-For/-Proto/-Host set to what
 * this server saw, a client's Forwarded dropped, and only WebSocket upgrades
 * carried (Upgrade and Connection from $http_upgrade, as the front door
 * renders them), and the front door's request_pool_size. No owner decision.
 */
export function plainProxyPass(upstream: string, port: number): string {
  return `map $http_upgrade $peer_connection { "~*websocket" upgrade; default ""; }
  map $http_upgrade $peer_upgrade { "~*websocket" $http_upgrade; default ""; }
  upstream quay { server ${upstream}; keepalive 64; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    client_max_body_size 0;
    request_pool_size 16k;
    location / {
      proxy_pass http://quay; proxy_http_version 1.1; proxy_buffering off; proxy_request_buffering off;
      proxy_set_header Host $http_host; proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme; proxy_set_header X-Forwarded-Host $http_host; proxy_set_header Forwarded "";
      proxy_set_header Upgrade $peer_upgrade; proxy_set_header Connection $peer_connection;
    }
  }`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export function pinned(cpu: string | null, cmd: string, args: string[]): [string, string[]] {
  return taskset && cpu !== null ? [taskset, ['-c', cpu, cmd, ...args]] : [cmd, args];
}

export async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      http
        .get(url, (res) => {
          res.resume();
          resolve((res.statusCode ?? 500) < 500);
        })
        .on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not come up`);
}

export interface WrkResult {
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  requests: number;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

/** wrk on cpu 0: requests/s, p50, p99 and errors (non-2xx/3xx plus socket errors). */
export function wrk(url: string, seconds: number, connections: number, extra: string[] = []): WrkResult {
  if (!wrkBin) throw new Error('needs wrk: apt-get install -y wrk');
  const [cmd, args] = pinned('0', wrkBin, ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...extra, url]);
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const out = r.stdout;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const errs = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = Number(errs?.[1] ?? 0) + (sockErr ? sockErr.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  if (!Number.isFinite(rps)) throw new Error(`wrk failed: ${r.stderr || out}`);
  return { rps, p50ms: p50, p99ms: p99, errors, requests };
}

export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

let clockTicks = 0;

/** CPU seconds (user + system, all threads) `pid` has used so far; 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  if (clockTicks === 0) clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / clockTicks;
  } catch {
    return 0;
  }
}

/** Rows of cells as aligned columns. */
export function columns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((x) => x[i]!.length)));
  return rows
    .map((x) =>
      x
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
