/**
 * Writing switches to config.yaml: the one code path behind `switchboard set`,
 * the dashboard and the control API. Each change edits only its key's text
 * (comments and layout kept); the result is validated as a whole before
 * anything is written; the write is a compare-and-swap on the file's contents
 * (and, for the dashboard, on the snapshot version the operator saw); every
 * change is appended to the audit log.
 */
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { isMap, isScalar, parseDocument } from 'yaml';
import { readYamlWithLines } from '../../lib/yaml-lines.js';
import type { Inventory } from '../../owner-maps/index.js';
import { SwitchboardError } from '../errors.js';
import { writeFileAtomic } from '../../lib/files.js';
import { classifyKey } from '../config/keys.js';
import { formatIssue, parseConfig, type ConfigIssue, type SwitchConfig } from '../config/parse.js';
import { configWarnings, type ConfigWarning } from '../snapshots/warnings.js';
import { buildSnapshot, type Snapshot } from '../core/snapshot.js';
import { editMigrationKey } from '../config/yaml-edit.js';
import { diffSnapshots } from '../core/diff.js';

/** One edit: `value` null removes the key. */
export interface SwitchChange {
  readonly key: string;
  readonly value: unknown;
}

export interface PlannedChange {
  readonly key: string;
  readonly old: unknown;
  readonly new: unknown;
}

export interface WritePlan {
  readonly file: string;
  readonly before: string;
  readonly after: string;
  readonly changes: readonly PlannedChange[];
  readonly sha256_before: string;
  readonly sha256_after: string;
  readonly diff: ReturnType<typeof diffSnapshots>;
  readonly config: SwitchConfig;
  /** The file as it is, compiled (without the environment); the result's config when the file is invalid now. */
  readonly snapshotBefore: Snapshot;
  /** What would be valid but do nothing in the resulting config (a percent on a scope that is not canary). */
  readonly warnings: readonly ConfigWarning[];
}

export interface AuditEntry {
  readonly time: string;
  readonly actor: string;
  readonly via: string;
  /** arm: a human re-armed a capability's automatic rollback (control/gate-keeper.ts). */
  readonly action: 'set' | 'unset' | 'edit' | 'arm';
  readonly key: string;
  readonly old: unknown;
  readonly new: unknown;
  readonly reason: string | null;
  /** The file changed: config.yaml, or the kill switch's state file. */
  readonly file: string;
  /** The config file's digests; null for a change of the kill file. */
  readonly sha256_before: string | null;
  readonly sha256_after: string | null;
  readonly routes_changing_owner: number;
  /** The snapshot version in force when the change was made (the next one carries it); for a file edit, the version it became. */
  readonly snapshot_version?: number;
  /** Gates a ramp failed that its operator overrode (with the reason above). */
  readonly overridden_gates?: readonly string[];
  /** A file edit ("via": "file edit"): every key that changed. */
  readonly keys?: readonly string[];
}

/** Where audit lines go when the config's audit log cannot be opened (a read-only config directory): STATE_DIR. */
export function fallbackAuditPath(stateDir: string): string {
  return join(stateDir, 'switchboard-audit.log');
}

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The audit log of a config file: SWITCHBOARD.AUDIT_LOG (relative to the file), else switchboard-audit.log beside it. */
export function auditPath(file: string, c: SwitchConfig | null): string {
  const configured = c?.settings.AUDIT_LOG;
  return configured ? resolve(dirname(file), configured) : join(dirname(file), 'switchboard-audit.log');
}

/** config.yaml's MIGRATION mapping ({} when absent); a clear error when the file is not YAML or MIGRATION not a mapping. */
export function readMigration(file: string, text: string): Record<string, unknown> {
  const y = readYamlWithLines(text);
  const doc = y.doc;
  const bad = y.errors[0];
  if (bad) throw new SwitchboardError('SWB_CONFIG_YAML', `${file}:${bad.line} is not valid YAML; fix it by hand first: ${bad.message}`);
  const mig = doc.get('MIGRATION', true);
  if (mig !== undefined && mig !== null && !isMap(mig) && !(isScalar(mig) && mig.value === null)) {
    throw new SwitchboardError('SWB_CONFIG_NOT_MAPPING', `${file}: MIGRATION is not a mapping`);
  }
  return (doc.toJS() as { MIGRATION?: Record<string, unknown> | null } | null)?.MIGRATION ?? {};
}

/** The issues of an invalid result, as one error naming each key and line. */
export class InvalidResultError extends SwitchboardError {
  constructor(
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super('SWB_CONFIG_BAD_VALUE', `refusing to write ${file}: the result would be invalid: ${issues.map(formatIssue).join('; ')}`);
  }
}

/** What `changes` would do to `file`: the new text, each key's old and new value, the routes that change owner. Writes nothing. */
export function planWrite(file: string, changes: readonly SwitchChange[], inv: Inventory): WritePlan {
  if (!Array.isArray(changes) || changes.length === 0) throw new SwitchboardError('SWB_CLI_USAGE', 'no change given');
  for (const c of changes as unknown[]) {
    if (c === null || typeof c !== 'object' || typeof (c as SwitchChange).key !== 'string' || !('value' in c)) {
      throw new SwitchboardError('SWB_CLI_USAGE', `a change is {"key": "ROUTE_OWNER_...", "value": ... or null}, not ${JSON.stringify(c)?.slice(0, 80)}`);
    }
  }
  for (const c of changes) {
    const spec = classifyKey(c.key, inv);
    if ('code' in spec) throw new SwitchboardError(spec.code, spec.message);
  }
  const before = readFileSync(file, 'utf8');
  const mig = readMigration(file, before);
  let after = before;
  const planned: PlannedChange[] = [];
  for (const c of changes) {
    const old = planned.find((p) => p.key === c.key)?.new ?? (Object.hasOwn(mig, c.key) ? (mig[c.key] ?? null) : null);
    after = editMigrationKey(after, c.key, c.value === null ? undefined : c.value);
    const i = planned.findIndex((p) => p.key === c.key);
    const entry = { key: c.key, old: i >= 0 ? planned[i]!.old : old, new: c.value };
    if (i >= 0) planned[i] = entry;
    else planned.push(entry);
  }
  const next = parseConfig(after, file, inv, {});
  if (!next.ok) throw new InvalidResultError(file, next.issues);
  const prev = parseConfig(before, file, inv, {});
  const configBefore = prev.ok ? prev.config : next.config;
  const snapshotBefore = buildSnapshot(inv, configBefore, 1, new Date());
  const diff = diffSnapshots(snapshotBefore, buildSnapshot(inv, next.config, 2, new Date()));
  return {
    file,
    before,
    after,
    changes: planned.filter((p) => JSON.stringify(p.old) !== JSON.stringify(p.new)),
    sha256_before: sha256(before),
    sha256_after: sha256(after),
    diff,
    config: next.config,
    snapshotBefore,
    warnings: configWarnings(next.config, inv),
  };
}

export interface CommitOptions {
  readonly actor: string;
  readonly via: string;
  readonly reason: string | null;
  /** The snapshot version in force when the change is made, for the history. */
  readonly snapshotVersion?: number;
  /** Gates the change was forced past ("CAP gate"), recorded in each entry. */
  readonly overriddenGates?: readonly string[];
}

/**
 * Writes a plan: refused with SWB_CONFIG_CONFLICT if the file is no longer
 * what the plan was made from; then one audit line per changed key.
 */
export function commitWrite(plan: WritePlan, o: CommitOptions): AuditEntry[] {
  if (!existsSync(plan.file) || readFileSync(plan.file, 'utf8') !== plan.before) {
    throw new SwitchboardError('SWB_CONFIG_CONFLICT', `${plan.file} changed since it was read; nothing written — look again and retry on top of the new contents`);
  }
  if (plan.changes.length === 0) return [];
  // The audit log must take the entry before the change is made: no change without its record.
  const audit = auditPath(plan.file, plan.config);
  let fd: number;
  try {
    fd = openSync(audit, 'a');
  } catch (e) {
    throw new SwitchboardError('SWB_CONFIG_BAD_VALUE', `cannot open the audit log ${audit} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): nothing written`);
  }
  const time = new Date().toISOString();
  const entries = plan.changes.map((c): AuditEntry => ({
    time,
    actor: o.actor,
    via: o.via,
    action: c.new === null ? 'unset' : 'set',
    key: c.key,
    old: c.old,
    new: c.new,
    reason: o.reason,
    file: resolve(plan.file),
    sha256_before: plan.sha256_before,
    sha256_after: plan.sha256_after,
    routes_changing_owner: plan.diff.routes.length,
    ...(o.snapshotVersion !== undefined ? { snapshot_version: o.snapshotVersion } : {}),
    ...(o.overriddenGates?.length ? { overridden_gates: o.overriddenGates } : {}),
  }));
  try {
    writeFileAtomic(plan.file, plan.after, statSync(plan.file).mode);
    writeSync(fd, entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
  } finally {
    closeSync(fd);
  }
  return entries;
}

/**
 * Appends audit lines: to the config's audit log, else (read-only directory) to
 * STATE_DIR's. Returns the log written; throws only when neither can be opened.
 */
export function appendAudit(entries: readonly AuditEntry[], file: string, c: SwitchConfig | null, stateDir: string | null): string {
  const text = entries.map((e) => JSON.stringify(e)).join('\n') + '\n';
  const tries = [auditPath(file, c), ...(stateDir ? [fallbackAuditPath(stateDir)] : [])];
  let last: unknown = null;
  for (const p of tries) {
    try {
      const fd = openSync(p, 'a');
      try {
        writeSync(fd, text);
      } finally {
        closeSync(fd);
      }
      return p;
    } catch (e) {
      last = e;
    }
  }
  throw new SwitchboardError('SWB_CONFIG_BAD_VALUE', `cannot write the audit log (${tries.join(', ')}): ${(last as NodeJS.ErrnoException).code ?? (last as Error).message}`);
}

/** The audit log, oldest first (with STATE_DIR's fallback log merged in); lines that are not JSON are skipped. */
export function readAudit(file: string, c: SwitchConfig | null, stateDir: string | null = null): AuditEntry[] {
  const out: AuditEntry[] = [];
  const paths = [auditPath(file, c), ...(stateDir ? [fallbackAuditPath(stateDir)] : [])];
  for (const p of new Set(paths)) {
    if (!existsSync(p)) continue;
    for (const line of readFileSync(p, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as AuditEntry);
      } catch {
        /* a torn or foreign line */
      }
    }
  }
  // Stable by time: entries of one change keep their order.
  return paths.length > 1
    ? out
        .map((e, i) => [e, i] as const)
        .sort((x, y) => (x[0].time < y[0].time ? -1 : x[0].time > y[0].time ? 1 : x[1] - y[1]))
        .map(([e]) => e)
    : out;
}

/**
 * Triggers of installs that no writer of ours made: the watcher and the poll
 * saw the file change (or the kill-file check's reload read it first).
 */
const FILE_TRIGGERS = new Set(['watch', 'poll', 'kill_file']);

/** The key describeMoves() gives the kill switch's state file: its writers audit it themselves. */
const KILL_FILE_KEY = 'kill file';

/**
 * Records a hand edit of config.yaml in the audit log ("via": "file edit"),
 * unless one of our writers made it (the latest audit line that wrote the
 * config ends at this digest). Only a change of the file's digest is an edit:
 * a reload that picked up nothing but the kill file is not. Called with every
 * snapshot the provider installs; returns the entry written, or null.
 */
export function recordFileEdit(
  s: { readonly version: number; readonly source: { readonly file: string; readonly digest: string | null }; readonly owner_map: { readonly config: SwitchConfig | null } },
  info: { readonly trigger: string; readonly moves: { readonly keys: readonly string[]; readonly routes: number }; readonly previous_digest: string | null },
  stateDir: string | null,
): AuditEntry | null {
  if (!FILE_TRIGGERS.has(info.trigger) || s.source.digest === null || s.source.digest === info.previous_digest) return null;
  const keys = info.moves.keys.filter((k) => k !== KILL_FILE_KEY);
  if (keys.length === 0) return null;
  const file = s.source.file;
  // The latest write, not any: a hand revert to what an earlier write made is an edit too.
  const latest = readAudit(file, s.owner_map.config, stateDir).findLast((e) => typeof e.sha256_after === 'string');
  if (latest?.sha256_after === s.source.digest) return null;
  const entry: AuditEntry = {
    time: new Date().toISOString(),
    actor: '(file)',
    via: 'file edit',
    action: 'edit',
    key: keys.join(', '),
    keys,
    old: null,
    new: null,
    reason: null,
    file: resolve(file),
    sha256_before: info.previous_digest,
    sha256_after: s.source.digest,
    routes_changing_owner: info.moves.routes,
    snapshot_version: s.version,
  };
  appendAudit([entry], file, s.owner_map.config, stateDir);
  return entry;
}
