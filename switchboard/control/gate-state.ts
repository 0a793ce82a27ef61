/**
 * What the gates remember across windows and restarts, one JSON file in
 * STATE_DIR (gates.json), rewritten atomically after each window that
 * changed it:
 *
 *   { "version": 1,
 *     "capabilities": {
 *       "V2_PULL": {
 *         "armed": true,                 auto-rollback armed (a human re-arms it after a rollback)
 *         "failed_windows": 0,           consecutive failed windows
 *         "recent": [WindowVerdict…],    the last RECENT judgements, newest last
 *         "baseline": Baseline | null,   python's last window with enough requests
 *         "rollback": {…} | null,        the last automatic rollback, with the figures behind it
 *         "armed_by": {…} | null } } }   who re-armed it last
 *
 * A file that cannot be read or parsed is set aside (gates.json.bad) and the
 * gates start empty: armed, no history.
 */
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/files.js';
import type { Baseline, WindowVerdict } from './gate-budget.js';

export const GATES_FILE = 'gates.json';
/** Judgements kept per capability. */
export const RECENT = 20;

export interface RollbackRecord {
  readonly at: number;
  readonly snapshot_version: number;
  readonly keys: readonly string[];
  readonly reason: string;
  /** The failed windows that triggered it, oldest first. */
  readonly windows: readonly WindowVerdict[];
  /** False when another switchboard node had already written it (this one found it done). */
  readonly written_here: boolean;
}

export interface CapabilityState {
  armed: boolean;
  failed_windows: number;
  recent: WindowVerdict[];
  baseline: Baseline | null;
  rollback: RollbackRecord | null;
  armed_by: { readonly actor: string; readonly at: number; readonly reason: string } | null;
}

export function emptyState(): CapabilityState {
  return { armed: true, failed_windows: 0, recent: [], baseline: null, rollback: null, armed_by: null };
}

export class GateStore {
  readonly caps = new Map<string, CapabilityState>();
  private readonly file: string | null;

  /** `stateDir` null: kept in memory only. */
  constructor(stateDir: string | null, onBadFile: (why: string) => void = () => {}) {
    this.file = stateDir === null ? null : join(stateDir, GATES_FILE);
    if (this.file === null || !existsSync(this.file)) return;
    try {
      const doc = JSON.parse(readFileSync(this.file, 'utf8')) as { version?: unknown; capabilities?: Record<string, Partial<CapabilityState>> };
      if (doc.version !== 1 || typeof doc.capabilities !== 'object' || doc.capabilities === null) throw new Error('not a version 1 gates file');
      for (const [cap, st] of Object.entries(doc.capabilities)) this.caps.set(cap, { ...emptyState(), ...st, recent: Array.isArray(st.recent) ? st.recent.slice(-RECENT) : [] });
    } catch (e) {
      try {
        renameSync(this.file, `${this.file}.bad`);
      } catch {
        /* read-only: it stays, and is overwritten at the next save */
      }
      onBadFile(`${this.file}: ${(e as Error).message}; set aside as ${GATES_FILE}.bad, gates start empty`);
    }
  }

  get(cap: string): CapabilityState {
    let st = this.caps.get(cap);
    if (!st) {
      st = emptyState();
      this.caps.set(cap, st);
    }
    return st;
  }

  /** Writes the file; throws when STATE_DIR cannot be written (the caller logs it). */
  save(): void {
    if (this.file === null) return;
    writeFileAtomic(this.file, JSON.stringify({ version: 1, capabilities: Object.fromEntries(this.caps) }, null, 1) + '\n', 0o644);
  }
}
