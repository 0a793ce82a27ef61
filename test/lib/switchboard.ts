/**
 * The real `switchboard serve` process for the end-to-end tests: built once
 * (`npm run build`, serialised with the other test files' builds), run with a
 * temp config whose UPSTREAMS point python/go at two upstreams, and driven by
 * rewriting that config file the way an operator does.
 */
import { createHash, randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { ROOT, request, sleep, startChild, waitFor, type Child, type TLike } from './proc.js';
import { buildOnce, childEnv } from '../../switchboard/test/proxy/lib/harness.js';

export { childEnv };
import type { AccessRecord } from '../../switchboard/proxy/access-log.js';

/** `npm run build` (bin/switchboard.js runs dist/), serialised with the proxy tests' builds. */
export async function buildSwitchboard(): Promise<void> {
  await buildOnce();
  if (!existsSync(join(ROOT, 'dist/switchboard/cli/main.js'))) throw new Error('npm run build succeeded but dist/switchboard/cli/main.js is missing');
}

export type OwnerName = 'python' | 'go';

export interface SwitchboardConfig {
  /** The MIGRATION section (switches). */
  readonly migration: Record<string, unknown>;
  /** Extra SWITCHBOARD settings (UPSTREAMS, LISTEN, ADMIN_LISTEN, ACCESS_LOG are filled in). */
  readonly settings?: Record<string, unknown>;
}

/** One line of SWITCHBOARD.ACCESS_LOG. */
export type AccessLine = AccessRecord;

export interface Switchboard {
  readonly port: number;
  readonly adminPort: number;
  readonly configFile: string;
  readonly accessLogFile: string;
  readonly process: Child;
  readonly upstreams: { python: string; go: string };
  /** GET /status on the admin port. */
  status(): Promise<any>;
  /** snapshot.version from /status. */
  version(): Promise<number>;
  /**
   * Rewrites the config (write + rename, as config management does) and waits
   * until /status shows a higher snapshot version; returns it.
   */
  reconfigure(c: SwitchboardConfig): Promise<number>;
  /** Parsed access log lines so far. */
  accessLog(): AccessLine[];
  /** The process's JSON log (stderr). */
  logText(): string;
  stop(): Promise<void>;
}

/** Replaces a file by write-and-rename, as editors and config management do: readers never see it torn. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

export function switchboardConfigYaml(c: SwitchboardConfig, fixed: Record<string, unknown>): string {
  const doc: Record<string, unknown> = {
    SERVER_HOSTNAME: 'registry.example.com',
    MIGRATION: c.migration,
    SWITCHBOARD: { POLL_INTERVAL_SECONDS: 1, ...(c.settings ?? {}), ...fixed },
  };
  return YAML.stringify(doc);
}

/**
 * Starts `node bin/switchboard.js serve --config FILE` (call buildSwitchboard
 * first) with LISTEN (unless `opts.listen`, e.g. an address an owner was
 * told as its SERVER_HOSTNAME) and ADMIN_LISTEN on 127.0.0.1 port 0 (the bound ports are
 * read from the "switchboard serving" log line), the access log in `dir`, and
 * waits for /readyz. Killed in teardown.
 */
export async function startSwitchboard(
  t: TLike,
  dir: string,
  upstreams: { python: string; go: string },
  c: SwitchboardConfig,
  opts: { listen?: string } = {},
): Promise<Switchboard> {
  const configFile = join(dir, 'config.yaml');
  const accessLogFile = join(dir, 'access.log');
  const fixed = {
    UPSTREAMS: { python: upstreams.python, go: upstreams.go },
    LISTEN: opts.listen ?? '127.0.0.1:0',
    ADMIN_LISTEN: '127.0.0.1:0',
    ACCESS_LOG: accessLogFile,
    STATE_DIR: join(dir, 'state'),
  };
  writeAtomic(configFile, switchboardConfigYaml(c, fixed));
  const child = startChild(t, process.execPath, ['bin/switchboard.js', 'serve', '--config', configFile], { cwd: ROOT, env: childEnv() });
  const logs = (): Record<string, unknown>[] =>
    child
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
  await waitFor(() => !child.running() || logs().some((l) => l.msg === 'switchboard serving'), 60_000, 50);
  const line = logs().find((l) => l.msg === 'switchboard serving');
  if (!line) {
    await child.stop(1000);
    throw new Error(`switchboard serve did not start (exit ${String(child.child.exitCode)}):\n${child.stderr()}`);
  }
  const port = Number(String(line.listen).split(':').pop());
  const adminPort = Number(String(line.admin_listen).split(':').pop());
  const ready = await waitFor(async () => (await request(adminPort, { path: '/readyz', timeoutMs: 5000 })).status === 200, 30_000, 50);
  if (!ready) throw new Error(`switchboard /readyz never answered 200:\n${child.stderr()}`);
  const status = async (): Promise<any> => {
    const r = await request(adminPort, { path: '/status' });
    if (r.status !== 200) throw new Error(`/status answered ${r.status}: ${r.text()}`);
    return r.json();
  };
  const version = async (): Promise<number> => Number((await status()).snapshot.version);
  const initial = await status();
  if (initial.snapshot.hard_failure) throw new Error(`switchboard started without a valid config: ${JSON.stringify(initial.reload.last_error)}`);
  return {
    port,
    adminPort,
    configFile,
    accessLogFile,
    process: child,
    upstreams,
    status,
    version,
    async reconfigure(next) {
      const before = await version();
      writeAtomic(configFile, switchboardConfigYaml(next, fixed));
      let after = before;
      const ok = await waitFor(
        async () => {
          after = await version();
          return after > before;
        },
        20_000,
        25,
      );
      if (!ok) {
        const s = await status();
        throw new Error(`config edit not installed within 20 s (version still ${before}; last reload error ${JSON.stringify(s.reload.last_error)})`);
      }
      return after;
    },
    accessLog() {
      if (!existsSync(accessLogFile)) return [];
      return readFileSync(accessLogFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AccessLine);
    },
    logText: () => child.stderr(),
    stop: () => child.stop(),
  };
}
