/**
 * The worker runner: Quay's background programs on the go side, each run
 * only while the live snapshot gives it to go (`WORKER_OWNER_<PROGRAM>`,
 * decided by decideWorker: the kill switch and a config that cannot be used
 * give everything to python). A program that loses ownership stops being
 * scheduled at once; a run in progress finishes (the program's own work is
 * short and safe to interrupt between runs). Each program runs at start when
 * owned, then every `everyMs`; runs never overlap.
 */
import type { Logger } from '../lib/log.js';
import { decideWorker } from '../switchboard/core/decide.js';
import type { Snapshot } from '../switchboard/core/snapshot.js';
import type { WorkerMetrics } from './metrics.js';

/** Where the live snapshot comes from (the switchboard's provider, or a fixed one). */
export interface SnapshotSource {
  current(): Snapshot;
  onChange(fn: (s: Snapshot) => void): () => void;
}

export interface WorkerProgram {
  /** The program's name in owner-maps/workers.tsv (Quay's worker module name). */
  readonly program: string;
  readonly everyMs: number;
  /**
   * One pass; resolves with what it did, for the log (null: nothing worth a line).
   * A long pass checks `active()` between batches and stops early once it is
   * false: ownership went to python (the kill switch) or the runner is stopping.
   */
  run(active: () => boolean): Promise<Record<string, unknown> | null>;
  /** Why Quay's own worker would idle under this config (features.ts), if it would: then this one is never scheduled either. */
  readonly idle?: string | null;
}

export interface WorkerState {
  readonly program: string;
  readonly owner: 'python' | 'go';
  readonly reason: string;
  readonly running: boolean;
  readonly runs: number;
  readonly failures: number;
  readonly last_run_at: string | null;
  readonly last_error: string | null;
  /** Why the program idles (its feature is off), or null. */
  readonly idle: string | null;
}

interface Slot {
  readonly p: WorkerProgram;
  owner: 'python' | 'go';
  reason: string;
  timer: NodeJS.Timeout | null;
  inFlight: Promise<void> | null;
  runs: number;
  failures: number;
  lastRunAt: string | null;
  lastError: string | null;
}

export class WorkerRunner {
  private readonly slots: Slot[];
  private unsubscribe: (() => void) | null = null;
  private stopped = false;

  constructor(
    private readonly source: SnapshotSource,
    programs: readonly WorkerProgram[],
    private readonly log: Logger,
    private readonly metrics: WorkerMetrics | null = null,
  ) {
    const inv = source.current().owner_map.inventory;
    for (const p of programs) {
      if (!inv.workers.some((w) => w.program === p.program)) throw new Error(`worker program ${p.program} is not in the worker inventory (owner-maps/workers.tsv)`);
    }
    this.slots = programs.map((p) => ({ p, owner: 'python', reason: 'not started', timer: null, inFlight: null, runs: 0, failures: 0, lastRunAt: null, lastError: null }));
  }

  /** Apply the current snapshot, and every later one. */
  start(): void {
    this.apply(this.source.current());
    this.unsubscribe = this.source.onChange((s) => this.apply(s));
  }

  /** Stop scheduling; resolves when the runs in progress end. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const s of this.slots) {
      if (s.timer) clearInterval(s.timer);
      s.timer = null;
    }
    await Promise.all(this.slots.map((s) => s.inFlight));
  }

  states(): WorkerState[] {
    return this.slots.map((s) => ({
      program: s.p.program,
      owner: s.owner,
      reason: s.reason,
      running: s.timer !== null,
      runs: s.runs,
      failures: s.failures,
      last_run_at: s.lastRunAt,
      last_error: s.lastError,
      idle: s.p.idle ?? null,
    }));
  }

  /** One pass of a program now, whoever owns it (tests and `quay worker --once`). */
  runOnce(program: string): Promise<void> {
    const s = this.slots.find((x) => x.p.program === program);
    if (!s) return Promise.reject(new Error(`no such program ${program}`));
    return this.pass(s);
  }

  private apply(snap: Snapshot): void {
    if (this.stopped) return;
    for (const s of this.slots) {
      const d = decideWorker(snap, s.p.program);
      const owner = d?.owner ?? 'python';
      const reason = d?.reason ?? 'not in the inventory';
      const changed = owner !== s.owner || s.reason === 'not started';
      s.owner = owner;
      s.reason = reason;
      if (!changed) continue;
      if (owner === 'go' && s.p.idle) {
        if (s.timer) clearInterval(s.timer);
        s.timer = null;
        this.log.info(`worker owned by go, idle as Quay's: ${s.p.idle}`, { program: s.p.program, reason, snapshot_version: snap.version });
      } else if (owner === 'go') {
        this.log.info('worker owned by go: running it here', { program: s.p.program, reason, every_seconds: s.p.everyMs / 1000, snapshot_version: snap.version });
        void this.pass(s);
        s.timer = setInterval(() => {
          void this.pass(s);
        }, s.p.everyMs);
        s.timer.unref();
      } else {
        if (s.timer) clearInterval(s.timer);
        s.timer = null;
        const fields = { program: s.p.program, reason, key: d?.key ?? null, snapshot_version: snap.version };
        // Nobody chose python for it: fine when Python Quay's own worker runs on this data tier, a leak when none does.
        if (reason === 'default')
          this.log.warn(
            `worker owned by python by default: not running it here; unless Python Quay runs ${s.p.program} on this data tier, set ${d?.key ?? 'its WORKER_OWNER_ key'}: go`,
            fields,
          );
        else this.log.info('worker owned by python: not running it here', fields);
      }
    }
  }

  private pass(s: Slot): Promise<void> {
    if (s.inFlight) return s.inFlight;
    s.inFlight = (async () => {
      const t0 = performance.now();
      try {
        const did = await s.p.run(() => !this.stopped && s.owner === 'go');
        s.runs++;
        s.lastError = null;
        this.metrics?.pass(s.p.program, true);
        if (did) this.log.info(`${s.p.program} pass`, { program: s.p.program, ...did, duration_seconds: (performance.now() - t0) / 1000 });
      } catch (e) {
        s.failures++;
        s.lastError = String((e as Error)?.message ?? e);
        this.metrics?.pass(s.p.program, false);
        this.log.error(`${s.p.program} pass failed`, { program: s.p.program, error: s.lastError });
      } finally {
        s.lastRunAt = new Date().toISOString();
        s.inFlight = null;
      }
    })();
    return s.inFlight;
  }
}

/** A snapshot source that never changes (a runtime started without a config file to watch). */
export function fixedSource(s: Snapshot): SnapshotSource {
  return { current: () => s, onChange: () => () => undefined };
}
