/**
 * Small process, file and HTTP helpers shared by the end-to-end tests
 * (test/e2e/): temp dirs, free ports, polling, child processes that are
 * always killed, and a node:http client that returns whole responses.
 */
import http from 'node:http';
import net from 'node:net';
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (…/main/). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What the helpers need from tap's `t` (keeps them independent of tap's types). */
export interface TLike {
  teardown(fn: () => unknown): void;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every `every` ms until it holds or `ms` passes; returns whether it held. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000, every = 25): Promise<boolean> {
  const t0 = Date.now();
  for (;;) {
    try {
      if (await cond()) return true;
    } catch {
      /* not yet */
    }
    if (Date.now() - t0 > ms) return false;
    await sleep(every);
  }
}

/** Temp dirs not yet removed: removed at exit too, when a failed setup never reaches teardown. */
const liveDirs = new Set<string>();

/** A temp directory removed in teardown (or when this process exits, whichever is first). */
export function tempDir(t: TLike, prefix = 'swb-e2e-'): string {
  installExitHook();
  const d = mkdtempSync(join(tmpdir(), prefix));
  liveDirs.add(d);
  t.teardown(() => {
    rmSync(d, { recursive: true, force: true });
    liveDirs.delete(d);
  });
  return d;
}

/** A TCP port that was free a moment ago (bound to port 0, then released). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  // Below the kernel's ephemeral range (32768 and up by default): a port the
  // kernel hands out with listen(0) can be taken again by any outgoing
  // connection (a database client's local port) before the test's server
  // binds it; a port below that range can only be taken by another bind.
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await bindable(port, host)) return port;
  }
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, host, () => resolve());
  });
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** True when `bin` is on PATH (or is an executable path). */
export function hasBinary(bin: string): boolean {
  const r = spawnSync('sh', ['-c', `command -v "$1"`, 'sh', bin], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '';
}

/**
 * Throws (never skips) when one of the binaries the e2e tests drive is
 * missing, saying how to install it.
 */
export function requireBinaries(bins: readonly string[]): void {
  const missing = bins.filter((b) => !hasBinary(b));
  if (missing.length) {
    throw new Error(`end-to-end tests need ${missing.join(', ')} on PATH: run \`apt-get install -y docker-registry skopeo umoci\` (scripts/test.sh does it)`);
  }
}

// ---------------------------------------------------------------- child processes

/** Every child started through `startChild` that has not exited yet: killed if this process exits first. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const d of liveDirs) {
      try {
        rmSync(d, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  });
}

export interface Child {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Captured stdout / stderr text so far (last 1 MiB each). */
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const KEEP = 1 << 20;

/** Spawns `cmd args` (no shell), capturing output; the process is stopped in teardown. */
export function startChild(t: TLike, cmd: string, args: readonly string[], opts: SpawnOptions = {}): Child {
  installExitHook();
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (s: string) => {
    out += s;
    if (out.length > 2 * KEEP) out = out.slice(-KEEP);
  });
  child.stderr!.on('data', (s: string) => {
    err += s;
    if (err.length > 2 * KEEP) err = err.slice(-KEEP);
  });
  live.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
    child.once('error', () => {
      live.delete(child);
      resolve({ code: null, signal: null });
    });
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  const stop = async (graceMs = 5000): Promise<void> => {
    if (!running()) {
      await exited;
      return;
    }
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (running()) child.kill('SIGKILL');
    }, graceMs);
    await exited;
    clearTimeout(timer);
  };
  t.teardown(() => stop());
  return { child, pid: child.pid ?? -1, stdout: () => out, stderr: () => err, exited, running, stop };
}

/** Wait until the child's stderr matches `line` (a log line of a server coming up); throws with its output if it exits or `ms` pass first. */
export async function waitForLog(child: Child, line: RegExp, what: string, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (line.test(child.stderr())) return;
    if (!child.running()) break;
    await sleep(100);
  }
  throw new Error(
    `${what} did not come up (${child.running() ? `no ${line} in ${ms} ms` : `exited: ${JSON.stringify(await child.exited)}`}):\n${child.stdout()}\n${child.stderr()}`,
  );
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (no shell); never throws on a non-zero exit. */
export function run(cmd: string, args: readonly string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<RunResult> {
  installExitHook();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8');
    child.stderr!.setEncoding('utf8');
    child.stdout!.on('data', (s: string) => {
      out += s;
    });
    child.stderr!.on('data', (s: string) => {
      err += s;
    });
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          err += `\n[killed after ${opts.timeoutMs} ms]`;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    child.once('error', (e) => {
      live.delete(child);
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      live.delete(child);
      clearTimeout(timer);
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
}

/** Like `run`, but throws with the command's output unless it exits 0. */
export async function runOk(cmd: string, args: readonly string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${String(r.code)}${r.signal ? `, ${r.signal}` : ''}):\n${r.stdout}\n${r.stderr}`);
  }
  return r;
}

// ---------------------------------------------------------------- HTTP

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  text(): string;
  json(): any;
  /** A single header value ('' when absent). */
  header(name: string): string;
}

export interface RequestOptions {
  method?: string;
  /** Path and query (e.g. /v2/). */
  path: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
  host?: string;
  timeoutMs?: number;
}

/** One HTTP/1.1 request on a fresh connection; resolves with the whole response. */
export function request(port: number, o: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: o.host ?? '127.0.0.1',
        port,
        method: o.method ?? 'GET',
        path: o.path,
        headers: o.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text: () => body.toString('utf8'),
            json: () => JSON.parse(body.toString('utf8')),
            header: (n) => {
              const v = res.headers[n.toLowerCase()];
              return Array.isArray(v) ? v.join(', ') : (v ?? '');
            },
          });
        });
      },
    );
    req.setTimeout(o.timeoutMs ?? 60_000, () => req.destroy(new Error(`${o.method ?? 'GET'} ${o.path} on port ${port}: no response within ${o.timeoutMs ?? 60_000} ms`)));
    req.on('error', reject);
    req.end(o.body);
  });
}
