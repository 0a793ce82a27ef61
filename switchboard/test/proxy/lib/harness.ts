/**
 * Shared helpers for the proxy tests: real node:http upstreams ("python" and
 * "go") that say who they are in `x-upstream`, temp config files, an
 * in-process SwitchboardProxy on a FileSnapshotProvider, the real
 * `switchboard serve` process, and small HTTP clients.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { createHash, randomUUID } from 'node:crypto';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Duplex } from 'node:stream';
import YAML from 'yaml';
import { loadInventory, type Inventory } from '../../../../owner-maps/index.js';
import { isSwitchEnvName } from '../../../config/keys.js';
import { FileSnapshotProvider } from '../../../snapshots/provider.js';
import type { Snapshot } from '../../../core/snapshot.js';
import { silentLogger, type Logger } from '../../../../lib/log.js';
import { AccessLog } from '../../../proxy/access-log.js';
import { ProxyMetrics } from '../../../proxy/metrics.js';
import { MemoryPinStore, type PinStore } from '../../../proxy/pin-store.js';
import { SwitchboardProxy } from '../../../proxy/server.js';

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export type OwnerName = 'python' | 'go';

/** What a test needs from tap's `t` here (keeps the helpers independent of tap's types). */
export interface TLike {
  teardown(fn: () => unknown): void;
}

let inventory: Inventory | null = null;
export function inv(): Inventory {
  return (inventory ??= loadInventory());
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 10 ms until it holds or `ms` passes; returns whether it held. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000, every = 10): Promise<boolean> {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return true;
    if (Date.now() - t0 > ms) return false;
    await sleep(every);
  }
}

/** Resolves with the promise's value, or rejects with `what` after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export function tempDir(t: TLike, prefix = 'swb-proxy-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A port nothing listens on (bound once, then released). */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

// ---------------------------------------------------------------- upstreams

export interface Recorded {
  readonly upstream: OwnerName;
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  /** Body bytes received so far, and their sha256 once the body ended. */
  bytes: number;
  sha256: string | null;
  /** The request body ended normally. */
  complete: boolean;
  /** The connection closed before the body ended ('aborted' / 'close'). */
  aborted: boolean;
  /** The response was closed before it finished (client side of the proxy went away). */
  responseClosedEarly: boolean;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, rec: Recorded) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface Upstream {
  readonly name: OwnerName;
  readonly port: number;
  readonly url: string;
  readonly server: http.Server;
  readonly requests: Recorded[];
  /** Replace to customise answers; `defaultHandler` is the JSON echo. */
  handler: UpstreamHandler;
  upgrade: UpgradeHandler | null;
  close(): Promise<void>;
}

/** Reads the whole body (counting and hashing it), then answers 200 JSON naming the upstream. */
export function echoHandler(name: OwnerName, status = 200, extra: Record<string, string> = {}): UpstreamHandler {
  return (req, res, rec) => {
    req.on('end', () => {
      const body = JSON.stringify({ upstream: name, method: req.method, url: req.url, bytes: rec.bytes, sha256: rec.sha256 });
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-upstream': name, ...extra });
      res.end(body);
    });
  };
}

export async function startUpstream(t: TLike, name: OwnerName, handler?: UpstreamHandler): Promise<Upstream> {
  const requests: Recorded[] = [];
  const up: Upstream = {
    // Header sections up to 1 MiB, as Go's net/http (DefaultMaxHeaderBytes): the proxy's own limit is what tests meet.
    name,
    port: 0,
    url: '',
    server: http.createServer({ maxHeaderSize: 1024 * 1024 }),
    requests,
    handler: handler ?? echoHandler(name),
    upgrade: null,
    close: async () => {
      const closed = new Promise<void>((r) => up.server.close(() => r()));
      up.server.closeAllConnections();
      // Upgraded sockets are no longer the http server's: destroy them too.
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
  const sockets = new Set<net.Socket>();
  up.server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  up.server.keepAliveTimeout = 70_000;
  up.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const rec: Recorded = {
      upstream: name,
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bytes: 0,
      sha256: null,
      complete: false,
      aborted: false,
      responseClosedEarly: false,
    };
    requests.push(rec);
    const h = createHash('sha256');
    req.on('data', (c: Buffer) => {
      rec.bytes += c.length;
      h.update(c);
    });
    req.on('end', () => {
      rec.complete = true;
      rec.sha256 = h.digest('hex');
    });
    req.on('aborted', () => {
      rec.aborted = true;
    });
    req.on('close', () => {
      if (!rec.complete) rec.aborted = true;
    });
    req.on('error', () => {
      rec.aborted = true;
    });
    res.on('close', () => {
      if (!res.writableFinished) rec.responseClosedEarly = true;
    });
    up.handler(req, res, rec);
  });
  up.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (up.upgrade) up.upgrade(req, socket, head);
    else socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', () => r()));
  const port = (up.server.address() as net.AddressInfo).port;
  Object.assign(up, { port, url: `http://127.0.0.1:${port}` });
  t.teardown(() => up.close());
  return up;
}

export async function startUpstreams(t: TLike): Promise<{ python: Upstream; go: Upstream }> {
  return { python: await startUpstream(t, 'python'), go: await startUpstream(t, 'go') };
}

// ---------------------------------------------------------------- config

export interface ConfigSpec {
  /** MIGRATION switches. */
  migration?: Record<string, unknown>;
  /** SWITCHBOARD settings (UPSTREAMS filled from `upstreams` unless given). */
  settings?: Record<string, unknown>;
  upstreams?: { python: string | { url: string }; go: string | { url: string } } | null;
}

const urlOf = (u: string | { url: string }): string => (typeof u === 'string' ? u : u.url);

export function configYaml(c: ConfigSpec): string {
  const settings: Record<string, unknown> = { POLL_INTERVAL_SECONDS: 1, ...(c.settings ?? {}) };
  if (c.upstreams && settings.UPSTREAMS === undefined) settings.UPSTREAMS = { python: urlOf(c.upstreams.python), go: urlOf(c.upstreams.go) };
  const doc: Record<string, unknown> = { SERVER_HOSTNAME: 'registry.example.com' };
  if (c.migration && Object.keys(c.migration).length) doc.MIGRATION = c.migration;
  doc.SWITCHBOARD = settings;
  return YAML.stringify(doc);
}

/** Replaces the file the way config management does: write a temp file, rename it over. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

// ---------------------------------------------------------------- in-process proxy

export interface ProxyHandle {
  readonly proxy: SwitchboardProxy;
  readonly provider: FileSnapshotProvider;
  readonly pins: PinStore;
  readonly metrics: ProxyMetrics | null;
  readonly port: number;
  readonly file: string;
  readonly dir: string;
  /** Every installed snapshot, by version (for checking responses against the snapshot they name). */
  readonly snapshots: Map<number, Snapshot>;
  /** Writes a new config (atomically) and waits until the provider installed a newer snapshot. */
  write(c: ConfigSpec | string): Promise<Snapshot>;
  /** Writes text that must be refused; waits until the failure is counted. */
  writeBad(text: string): Promise<void>;
}

export interface ProxyOptions {
  pins?: PinStore;
  metrics?: boolean;
  accessLog?: string;
  log?: Logger;
  /** Env overlay for the provider (kill switch from the environment). */
  env?: Record<string, string>;
  /** Reuse an existing config file (several proxies on one file). */
  file?: string;
}

export async function startProxy(t: TLike, c: ConfigSpec | string, o: ProxyOptions = {}): Promise<ProxyHandle> {
  const dir = tempDir(t);
  const file = o.file ?? join(dir, 'config.yaml');
  if (!o.file) writeAtomic(file, typeof c === 'string' ? c : configYaml(c));
  const provider = await FileSnapshotProvider.start({ file, inventory: inv(), env: o.env ?? {}, log: o.log ?? silentLogger });
  if (provider.current().hard_failure) {
    await provider.close();
    throw new Error(`test config did not load: ${JSON.stringify(provider.stats().last_error)}`);
  }
  const snapshots = new Map<number, Snapshot>([[provider.current().version, provider.current()]]);
  provider.onChange((s) => {
    snapshots.set(s.version, s);
  });
  const pins = o.pins ?? new MemoryPinStore();
  const accessLog = new AccessLog(o.accessLog ?? 'off');
  let proxy: SwitchboardProxy | null = null;
  const metrics = o.metrics
    ? new ProxyMetrics({
        snapshot: () => {
          const s = provider.current();
          return { version: s.version, updated_at: s.updated_at, hard_failure: s.hard_failure, kill_switch: s.owner_map.forcePython.value };
        },
        reloads: () => provider.stats(),
        pins: () => pins.count(),
        inflight: () => proxy?.inflight ?? 0,
      })
    : null;
  proxy = new SwitchboardProxy({ snapshots: provider, pins, log: o.log ?? silentLogger, accessLog, metrics });
  const { port } = await proxy.listen('127.0.0.1', 0);
  const p = proxy;
  t.teardown(async () => {
    await p.drain(500);
    await provider.close();
    await pins.close();
    await accessLog.close();
  });
  const handle: ProxyHandle = {
    proxy: p,
    provider,
    pins,
    metrics,
    port,
    file,
    dir,
    snapshots,
    async write(next) {
      const before = provider.current().version;
      writeAtomic(file, typeof next === 'string' ? next : configYaml(next));
      const ok = await waitFor(() => provider.current().version > before, 10_000);
      if (!ok) throw new Error(`config write not installed within 10 s (version still ${before}; last error ${JSON.stringify(provider.stats().last_error)})`);
      return provider.current();
    },
    async writeBad(text) {
      const before = provider.stats().reload_failures_total;
      writeAtomic(file, text);
      const ok = await waitFor(() => provider.stats().reload_failures_total > before, 10_000);
      if (!ok) throw new Error('bad config was not refused within 10 s');
    },
  };
  return handle;
}

// ---------------------------------------------------------------- clients

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: Buffer;
  text(): string;
  json(): any;
}

export interface RequestOptions {
  method?: string;
  path: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
  agent?: http.Agent | false;
  host?: string;
}

/** One HTTP request with node:http; resolves with the whole response. */
export function request(port: number, o: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: o.host ?? '127.0.0.1',
        port,
        method: o.method ?? 'GET',
        path: o.path,
        headers: o.headers,
        agent: o.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body,
            text: () => body.toString('utf8'),
            json: () => JSON.parse(body.toString('utf8')),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

export interface RawReply {
  readonly status: number;
  /** Header names lower-cased, in order, with repeats. */
  readonly headerList: [string, string][];
  readonly body: Buffer;
  get(name: string): string[];
}

/**
 * Sends exact request lines (request line, then headers) on a fresh socket and reads until the server closes
 * (send `Connection: close`). For header tests that must control every byte.
 */
export function rawRequest(port: number, head: readonly string[], body: Buffer | string = ''): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('end', () => {
      const all = Buffer.concat(chunks);
      const i = all.indexOf('\r\n\r\n');
      if (i < 0) {
        reject(new Error(`no header end in ${JSON.stringify(all.toString('latin1').slice(0, 200))}`));
        return;
      }
      const lines = all.subarray(0, i).toString('latin1').split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
      const headerList: [string, string][] = lines.slice(1).map((l) => {
        const c = l.indexOf(':');
        return [l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim()];
      });
      resolve({ status, headerList, body: all.subarray(i + 4), get: (n) => headerList.filter(([k]) => k === n.toLowerCase()).map(([, v]) => v) });
    });
    sock.write(head.join('\r\n') + '\r\n\r\n');
    if (body.length) sock.write(body);
  });
}

/** True when a TCP connection to the port is refused. */
export function connectRefused(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

// ---------------------------------------------------------------- the real binary

/**
 * `npm run build` (the serve tests run bin/switchboard.js → dist/). Test files
 * run in parallel: a lock directory serialises this file's builds with the
 * other proxy test files' builds. Throws, with tsc's output, when the build fails.
 */
export async function buildOnce(): Promise<void> {
  const lock = join(tmpdir(), `switchboard-proxy-tests-build-${createHash('sha1').update(ROOT).digest('hex').slice(0, 8)}.lock`);
  const t0 = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A lock left by a killed run: older than 5 minutes.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 300_000) {
          rmdirSync(lock);
          continue;
        }
      } catch {
        continue;
      }
      if (Date.now() - t0 > 600_000) throw new Error(`build lock ${lock} held for 10 minutes`);
      await sleep(200);
    }
  }
  try {
    // dist/ is current (its stamp is as new as every compiled source): never rewrite it under other test processes.
    const stamp = join(ROOT, 'dist', '.build-stamp');
    const { newestSource } = (await import(pathToFileURL(join(ROOT, 'scripts', 'newest-source.mjs')).href)) as { newestSource(): number };
    if (existsSync(stamp) && Number(readFileSync(stamp, 'utf8').trim()) >= newestSource()) return;
    const b = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    if (b.error || b.status !== 0) {
      throw new Error(
        `npm run build failed (status ${String(b.status)}${b.error ? `, ${b.error.message}` : ''}); the serve tests need dist/:\n${b.stdout ?? ''}\n${b.stderr ?? ''}`,
      );
    }
  } finally {
    rmdirSync(lock);
  }
}

/** The child's environment: ours minus anything the CLI would read as a switch or a config location. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    // Every name the switchboard reads as a switch (config/keys.ts decides), and its own and the runtime's settings.
    if (isSwitchEnvName(k) || /^(SWITCHBOARD_|QUAY_)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly adminPort: number;
  readonly file: string;
  stderr(): string;
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** JSON log lines (stderr) so far. */
  logs(): Record<string, unknown>[];
}

/**
 * Starts `node bin/switchboard.js serve --config FILE` and waits for its
 * "switchboard serving" log line (which names the ports it bound: use port 0).
 */
export async function startServe(t: TLike, file: string, env: Record<string, string> = {}): Promise<ServeProcess> {
  // Each process its own STATE_DIR (kill file, last good config), never the repository's data/.
  const stateEnv: Record<string, string> = env.SWITCHBOARD_STATE_DIR ? {} : { SWITCHBOARD_STATE_DIR: mkdtempSync(join(tmpdir(), 'swb-state-')) };
  const child = spawn(process.execPath, ['bin/switchboard.js', 'serve', '--config', file], {
    cwd: ROOT,
    env: childEnv({ ...stateEnv, ...env }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    err += s;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let done = false;
  t.teardown(async () => {
    if (done) return;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  void exited.then(() => {
    done = true;
  });
  const logs = (): Record<string, unknown>[] =>
    err
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
  const ready = await waitFor(() => child.exitCode !== null || logs().some((l) => l.msg === 'switchboard serving'), 30_000, 20);
  const line = logs().find((l) => l.msg === 'switchboard serving');
  if (!ready || !line) {
    child.kill('SIGKILL');
    throw new Error(`switchboard serve did not start (exit ${String(child.exitCode)}):\n${err}`);
  }
  const port = Number(String(line.listen).split(':').pop());
  const adminPort = Number(String(line.admin_listen).split(':').pop());
  return { child, pid: child.pid!, port, adminPort, file, stderr: () => err, exited, logs };
}

/** VmRSS of a process in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}
