/**
 * Turning the kill switch on and off: the one code path behind
 * `switchboard set MIGRATION_FORCE_PYTHON`, the dashboard and the API.
 *
 * On writes STATE_DIR's kill file (config/kill-switch.ts) and nothing else:
 * it works with config.yaml broken, invalid, deleted, unreadable or read-only.
 * Off removes the kill file and, when config.yaml itself says
 * MIGRATION_FORCE_PYTHON: true, removes that key through the ordinary write
 * path (which needs the file to be valid). Both are audited; the audit line
 * goes to STATE_DIR's log when the config's own cannot be written.
 */
import { readFileSync } from 'node:fs';
import type { Inventory } from '../../owner-maps/index.js';
import { killFilePath, readKill, removeKill, writeKillOn, type StateOrigin, type Who } from '../config/kill-switch.js';
import { parseConfig, type Env, type SwitchConfig } from '../config/parse.js';
import { isSwitchEnvName } from '../config/keys.js';
import { buildSnapshot, hardFailureSnapshot, routesByOwner, type Snapshot } from '../core/snapshot.js';
import { diffSnapshots } from '../core/diff.js';
import { SwitchboardError } from '../errors.js';
import { appendAudit, commitWrite, planWrite, readMigration, type AuditEntry, type PlannedChange } from './switches.js';

export interface KillOutcome {
  readonly on: boolean;
  /** False when it already was so. */
  readonly changed: boolean;
  readonly kill_file: string;
  /** Where the audit line went (null when nothing changed). */
  readonly audit_log: string | null;
  /** Routes that were not on python before the kill (what it moves); null when the config cannot be read. */
  readonly routes_changing_owner: number | null;
  /** Off: config.yaml's own MIGRATION_FORCE_PYTHON: true was removed too. */
  readonly config_key_removed: boolean;
  /** The environment of the calling process sets MIGRATION_FORCE_PYTHON: processes started with it keep the kill on. */
  readonly environment_sets_it: boolean;
  readonly warnings: readonly string[];
}

export interface KillRequest {
  readonly file: string;
  readonly stateDir: string;
  readonly on: boolean;
  readonly who: Who;
  readonly inventory: Inventory;
  readonly env: Env;
  readonly snapshotVersion?: number;
}

function tryConfig(file: string, inv: Inventory): { config: SwitchConfig | null; text: string | null } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { config: null, text: null };
  }
  const r = parseConfig(text, file, inv, {});
  return { config: r.ok ? r.config : null, text };
}

/** Routes that are not on python under `config` (what a kill moves): those go serves, canaries included. */
function routesOffPython(inv: Inventory, config: SwitchConfig): number {
  return routesByOwner(buildSnapshot(inv, config, 1, new Date())).go;
}

export function setKillSwitch(q: KillRequest): KillOutcome {
  const killFile = killFilePath(q.stateDir);
  const { config, text } = tryConfig(q.file, q.inventory);
  const envSets = isSwitchEnvName('MIGRATION_FORCE_PYTHON') && (q.env.MIGRATION_FORCE_PYTHON ?? '').trim() !== '';
  const warnings: string[] = [];
  const entry = (over: Partial<AuditEntry>): AuditEntry => ({
    time: new Date().toISOString(),
    actor: q.who.actor,
    via: q.who.via,
    action: 'set',
    key: 'MIGRATION_FORCE_PYTHON',
    old: false,
    new: true,
    reason: q.who.reason,
    file: killFile,
    sha256_before: null,
    sha256_after: null,
    routes_changing_owner: 0,
    ...(q.snapshotVersion !== undefined ? { snapshot_version: q.snapshotVersion } : {}),
    ...over,
  });
  if (q.on) {
    const was = readKill(killFile);
    if (was) {
      return {
        on: true,
        changed: false,
        kill_file: killFile,
        audit_log: null,
        routes_changing_owner: null,
        config_key_removed: false,
        environment_sets_it: envSets,
        warnings: [`already on since ${was.since || '(unknown)'} (by ${was.actor})`],
      };
    }
    try {
      writeKillOn(q.stateDir, q.who);
    } catch (e) {
      throw new SwitchboardError(
        'SWB_STATE_UNWRITABLE',
        `cannot write the kill file ${killFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} — set MIGRATION_FORCE_PYTHON=true in the proxy's environment and restart it instead`,
      );
    }
    // The kill is in force from here; a missing audit line is reported, never a reason to undo it.
    const moving = config ? routesOffPython(q.inventory, config) : null;
    let audit: string | null = null;
    try {
      audit = appendAudit([entry({ routes_changing_owner: moving ?? 0 })], q.file, config, q.stateDir);
    } catch (e) {
      warnings.push(`the kill switch is ON but no audit line was written: ${(e as Error).message}`);
    }
    if (!config)
      warnings.push(text === null ? `${q.file} cannot be read: the kill file alone holds the kill switch` : `${q.file} is not valid: the kill file alone holds the kill switch`);
    return { on: true, changed: true, kill_file: killFile, audit_log: audit, routes_changing_owner: moving, config_key_removed: false, environment_sets_it: envSets, warnings };
  }
  // Off: config.yaml's own key when it says true, then the kill file. In that order, so that a key that
  // cannot be removed (an invalid file, a conflict, no audit log) changes nothing, and the kill switch stays
  // on until the last step: nothing is ever off without its audit line.
  let inConfig = false;
  if (text !== null) {
    try {
      inConfig = readMigration(q.file, text).MIGRATION_FORCE_PYTHON === true;
    } catch {
      /* broken YAML: below */
    }
  }
  let removedKey = false;
  if (inConfig) {
    const plan = planWrite(q.file, [{ key: 'MIGRATION_FORCE_PYTHON', value: null }], q.inventory);
    commitWrite(plan, { actor: q.who.actor, via: q.who.via, reason: q.who.reason, ...(q.snapshotVersion !== undefined ? { snapshotVersion: q.snapshotVersion } : {}) });
    removedKey = true;
  }
  let was: StateOrigin | null;
  try {
    was = removeKill(q.stateDir);
  } catch (e) {
    throw new SwitchboardError(
      'SWB_STATE_UNWRITABLE',
      `cannot remove the kill file ${killFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} — the kill switch stays on`,
    );
  }
  const entries: AuditEntry[] = [];
  if (was) entries.push(entry({ action: 'unset', old: true, new: false }));
  let audit: string | null = null;
  if (entries.length) {
    try {
      audit = appendAudit(entries, q.file, config, q.stateDir);
    } catch (e) {
      warnings.push(`the kill switch is off but no audit line was written: ${(e as Error).message}`);
    }
  }
  if (envSets) warnings.push(`MIGRATION_FORCE_PYTHON=${q.env.MIGRATION_FORCE_PYTHON} is set in this environment: a switchboard started with it keeps its own setting`);
  return {
    on: false,
    changed: was !== null || removedKey,
    kill_file: killFile,
    audit_log: audit,
    routes_changing_owner: null,
    config_key_removed: removedKey,
    environment_sets_it: envSets,
    warnings,
  };
}

/** What turning the kill switch on or off would do to the snapshot in force: the key and the routes that change owner. */
export function previewKill(s: Snapshot, on: boolean, killFile: string): { changes: PlannedChange[]; diff: ReturnType<typeof diffSnapshots> } {
  const inv = s.owner_map.inventory;
  const config = s.owner_map.config;
  let after: Snapshot;
  if (on) {
    const k = { source: 'state' as const, file: killFile, actor: '(preview)', since: '', reason: null };
    after = config ? buildSnapshot(inv, config, s.version + 1, new Date(), k) : hardFailureSnapshot(inv, s.source.file, s.version + 1, new Date(), k);
  } else {
    // Off removes the kill file and config.yaml's own key; the environment's stays.
    const switches = new Map([...(config?.switches ?? [])].filter(([k, v]) => k !== 'MIGRATION_FORCE_PYTHON' || v.origin.source === 'env'));
    after = config ? buildSnapshot(inv, { ...config, switches }, s.version + 1, new Date(), null) : hardFailureSnapshot(inv, s.source.file, s.version + 1, new Date(), null);
  }
  const before = s.owner_map.forcePython.value;
  const changes: PlannedChange[] = before === after.owner_map.forcePython.value ? [] : [{ key: 'MIGRATION_FORCE_PYTHON', old: before, new: after.owner_map.forcePython.value }];
  return { changes, diff: diffSnapshots(s, after) };
}
