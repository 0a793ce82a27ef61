/** Plumbing shared by the CLI commands: arguments, config loading, output. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { userInfo } from 'node:os';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { loadInventory, type Inventory } from '../../owner-maps/index.js';
import { SwitchboardError } from '../errors.js';
import { EXIT_FAIL, EXIT_INTERNAL, EXIT_USAGE, parseArgsMessage } from '../../lib/cli-errors.js';
import { parseConfig, formatIssue, type ConfigIssue, type Env } from '../config/parse.js';
import { killFilePath, readKill, resolveStateDir } from '../config/kill-switch.js';
import { buildSnapshot } from '../core/snapshot.js';
import type { Snapshot } from '../core/snapshot.js';
import type { Logger } from '../../lib/log.js';
import type { Registry as MetricsRegistry } from 'prom-client';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: Env;
  cwd: string;
  /** The go runtime, for SWITCHBOARD.EMBEDDED_REGISTRY; injected by bin/switchboard.js, so the switchboard never imports the go side. */
  goRuntime?: GoRuntimeHooks;
}

export interface GoRuntimeHooks {
  /** Start it inside this process. */
  readonly embed: EmbedRuntime;
  /** The capabilities it claims under a config's Quay keys (the readiness document it would serve), without starting it. */
  claims(quayKeys: Readonly<Record<string, unknown>>): Promise<readonly string[]>;
}

/** Starts the go runtime inside the switchboard's process (quay/embed.ts is the one bin/switchboard.js injects). */
export type EmbedRuntime = (o: {
  readonly configFile: string;
  readonly mode: 'mirror' | 'standalone' | 'full';
  readonly dataDir: string;
  readonly log: Logger;
  /** The switchboard's live snapshot: the runtime runs the background programs it gives to go. */
  readonly snapshots: { current(): Snapshot; onChange(fn: (s: Snapshot) => void): () => void };
}) => Promise<{ readonly url: string; readonly metrics: MetricsRegistry | null; readonly auth: string; stop(): Promise<void> }>;

/** Exit codes: 0 success, 1 the command ran and found a problem, 2 usage error, 70 internal error. */
export const EXIT_OK = 0;
export { EXIT_FAIL, EXIT_INTERNAL, EXIT_USAGE };

/** Thrown to end a command with an exit code after its output was written. */
export class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function args<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new SwitchboardError('SWB_CLI_USAGE', `${parseArgsMessage(e)}\n\n${usage}`);
  }
}

/** A path from the command line, relative to the command's working directory. */
export function resolveIn(io: Io, p: string): string {
  return isAbsolute(p) ? p : join(io.cwd, p);
}

export function configPath(flag: string | undefined, io: Io): string {
  return resolveIn(io, flag ?? io.env.SWITCHBOARD_CONFIG ?? 'config.yaml');
}

export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SwitchboardError(
      'SWB_CONFIG_UNREADABLE',
      `cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message} (use --config FILE or SWITCHBOARD_CONFIG)`,
    );
  }
}

export function printIssues(io: Io, issues: readonly ConfigIssue[]): void {
  for (const i of issues) io.err(`  ${formatIssue(i)}`);
}

export interface Loaded {
  readonly snapshot: Snapshot;
  readonly inventory: Inventory;
  readonly text: string;
  readonly file: string;
  /** The switchboard's STATE_DIR for this config (kill file, a running serve's record). */
  readonly stateDir: string;
}

/** Reads and compiles a config file once, or reports every issue and exits 1. */
export function loadSnapshot(file: string, io: Io, env: Env = io.env): Loaded {
  const inventory = loadInventory();
  const text = readConfigText(file);
  const r = parseConfig(text, file, inventory, env);
  if (!r.ok) {
    io.err(`${file}: invalid config (${r.issues.length} problem${r.issues.length === 1 ? '' : 's'}):`);
    printIssues(io, r.issues);
    throw new Exit(EXIT_FAIL);
  }
  // With the process's own environment, the kill switch's state file counts too (as in `serve`); a diff of two files does not.
  const stateDir = resolveStateDir({ configFile: file, cwd: io.cwd, env: io.env, text });
  const kill = env === io.env ? readKill(killFilePath(stateDir)) : null;
  return { snapshot: buildSnapshot(inventory, r.config, 1, new Date(), kill), inventory, text, file, stateDir };
}

/** Left-aligned columns; the last column is not padded. */
export function table(rows: readonly (readonly string[])[], indent = ''): string {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  return rows
    .map(
      (r) =>
        indent +
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

/**
 * A usage text whose first lines are `Usage: …` forms of several subcommands, with the one
 * asked about (`sub`) first: `cmd sub --help` names `cmd sub` on its first line.
 */
export function usageFor(usage: string, sub: string | undefined): string {
  const lines = usage.split('\n');
  let forms = 0;
  while (forms < lines.length && /^(Usage: | {7}\S)/.test(lines[forms]!)) forms++;
  const head = lines.slice(0, forms).map((l) => l.slice(7));
  const i = sub === undefined ? -1 : head.findIndex((l) => l.split(' ')[2] === sub);
  if (i <= 0) return usage;
  const order = [head[i]!, ...head.filter((_, k) => k !== i)];
  return [...order.map((l, k) => `${k === 0 ? 'Usage: ' : '       '}${l}`), ...lines.slice(forms)].join('\n');
}

export function json(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/** Who is acting at the command line: --actor, $SUDO_USER, $USER, the OS user, else "cli" — never "unknown". */
export function cliActor(flag: string | undefined, env: Env): string {
  for (const v of [flag, env.SUDO_USER, env.USER, env.LOGNAME]) if (v && v.trim()) return v.trim();
  try {
    const u = userInfo();
    if (u.username) return u.username;
    return `uid ${u.uid}`;
  } catch {
    return typeof process.getuid === 'function' ? `uid ${process.getuid()}` : 'cli';
  }
}
