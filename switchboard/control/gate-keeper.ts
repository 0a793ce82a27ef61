/**
 * The canary's watch: once a window (GATE_WINDOW_SECONDS) it samples the
 * proxy's own metrics, judges every capability go served or may serve
 * (budget.ts), and rolls back a capability that failed GATE_FAILED_WINDOWS
 * windows in a row, through the same write path as the dashboard
 * (config.yaml edited, audited with actor `auto-rollback` and the figures).
 *
 * No flapping: a rollback disarms the capability; only a human re-arms it
 * (arm()), and not before GATE_COOLDOWN_SECONDS. With several switchboard
 * nodes each judges its own traffic; the first rollback written wins and the
 * others find the capability already on python (the compare-and-swap of
 * commitWrite refuses a write on a file that changed under it).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../lib/log.js';
import type { Inventory } from '../../owner-maps/index.js';
import { SwitchboardError } from '../errors.js';
import type { Snapshot } from '../core/snapshot.js';
import { planAction } from './actions.js';
import { capabilityExposure } from './readiness-gate.js';
import { appendAudit, commitWrite, planWrite, type AuditEntry } from './switches.js';
import { delta, EMPTY, takeSample, type Sample } from './stats.js';
import { judgeWindow, type OwnerWindow, type WindowVerdict } from './gate-budget.js';
import { RECENT, type CapabilityState, GateStore } from './gate-state.js';
import { thresholds } from './gate-thresholds.js';
import { checklist, type Checklist, type ShadowRecord } from './gate-checklist.js';
import { readContractResult } from '../contract/result-file.js';
import type { ShadowDiff } from '../contract/compare.js';

export interface KeeperDeps {
  readonly registry: Registry;
  readonly provider: { current(): Snapshot; reload(trigger: string): Promise<unknown> };
  readonly inventory: Inventory;
  /** config.yaml, where rollbacks are written. */
  readonly file: string;
  readonly stateDir: string | null;
  readonly log: Logger;
  readonly now?: () => number;
  /** What go says it implements (proxy/readiness.ts's monitor). */
  readonly readiness?: { implements(capability: string): 'yes' | 'no' | 'unknown'; current(): { upstream: string | null; checked_at: string | null } };
  /** Shadow comparisons per capability, when shadowing runs. */
  readonly shadow?: { record(capability: string): ShadowRecord | null; recent(capability: string): readonly ShadowDiff[] };
}

/** How long python's last measured window stands in for it (at 100 % go). */
const BASELINE_MAX_AGE_MS = 24 * 3600 * 1000;

const ms = (s: number | null): number | null => (s === null ? null : Math.round(s * 1e6) / 1e3);

function ownerWindow(a: Sample, b: Sample, owner: string, capability: string, family: string): OwnerWindow {
  // Errors and latency per capability when the series carry it (they do in this proxy), else its family's.
  const exact = b.perCapability.errors && b.perCapability.durations;
  const key = `${owner} ${capability}`;
  const req = delta(a.capabilities.get(key) ?? EMPTY, b.capabilities.get(key) ?? EMPTY);
  const fk = `${owner} ${family}`;
  const src = exact ? req : delta(a.families.get(fk) ?? EMPTY, b.families.get(fk) ?? EMPTY);
  return { requests: req.requests, errors: exact ? req.errors : 0, p50_ms: ms(src.p50_seconds), p99_ms: ms(src.p99_seconds) };
}

export class GateKeeper {
  readonly store: GateStore;
  private last: Sample | null = null;
  private timer: NodeJS.Timeout | null = null;
  private windowSeconds = 0;
  private ticking: Promise<void> | null = null;
  private readonly now: () => number;
  private readonly families: Map<string, string>;
  private readonly windows: Counter<'capability' | 'verdict'>;
  private readonly rollbacks: Counter<'capability'>;
  private readonly rollbackFailures: Counter<'capability'>;

  constructor(private readonly d: KeeperDeps) {
    this.now = d.now ?? Date.now;
    this.store = new GateStore(d.stateDir, (why) => d.log.warn('gates state unreadable', { error: why }));
    this.families = new Map(d.inventory.routes.map((r) => [r.capability, r.family]));
    const registers = [d.registry];
    const store = this.store;
    this.windows = new Counter({
      name: 'switchboard_gate_windows_total',
      help: 'Windows judged per capability, by verdict (pass, fail, insufficient)',
      labelNames: ['capability', 'verdict'],
      registers,
    });
    this.rollbacks = new Counter({ name: 'switchboard_auto_rollbacks_total', help: 'Capabilities rolled back to python by the gates', labelNames: ['capability'], registers });
    this.rollbackFailures = new Counter({
      name: 'switchboard_auto_rollback_failures_total',
      help: 'Automatic rollbacks that could not be written (config unwritable, or the switch set in the environment)',
      labelNames: ['capability'],
      registers,
    });
    new Gauge({
      name: 'switchboard_gate_failed_windows',
      help: 'Consecutive failed windows per capability (the rollback happens at GATE_FAILED_WINDOWS)',
      labelNames: ['capability'],
      registers,
      collect() {
        this.reset();
        for (const [c, st] of store.caps) this.labels(c).set(st.failed_windows);
      },
    });
    new Gauge({
      name: 'switchboard_auto_rollback_armed',
      help: '1 while automatic rollback is armed for the capability (0 after a rollback, until a human re-arms it)',
      labelNames: ['capability'],
      registers,
      collect() {
        this.reset();
        for (const [c, st] of store.caps) this.labels(c).set(st.armed ? 1 : 0);
      },
    });
  }

  start(): void {
    void this.tick();
  }

  /** Waits for a window being judged, then stops. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.windowSeconds = -1;
    await this.ticking;
  }

  private schedule(): void {
    if (this.windowSeconds < 0) return;
    const w = thresholds(this.d.provider.current(), null).WINDOW_SECONDS;
    this.windowSeconds = w;
    this.timer = setTimeout(() => void this.tick(), w * 1000);
    this.timer.unref();
  }

  /** Judges the window since the last tick (the first tick only takes a sample), then schedules the next. */
  async tick(): Promise<void> {
    const run = (async () => {
      try {
        const sample = await takeSample(this.d.registry, this.now);
        const prev = this.last;
        this.last = sample;
        if (prev !== null) await this.judge(prev, sample);
      } catch (e) {
        this.d.log.error('gate window failed', { error: (e as Error).message });
      }
    })();
    this.ticking = run;
    await run;
    this.ticking = null;
    if (this.timer !== null || this.windowSeconds >= 0) this.schedule();
  }

  /** Judges every capability go served in the window or may serve now. */
  private async judge(a: Sample, b: Sample): Promise<void> {
    const s = this.d.provider.current();
    const secs = Math.max(1, Math.round((b.at - a.at) / 1000));
    let changed = false;
    for (const [capability, family] of this.families) {
      const t = thresholds(s, capability);
      const go = ownerWindow(a, b, 'go', capability, family);
      const python = ownerWindow(a, b, 'python', capability, family);
      // python's earlier window (before this one) is a baseline for a day at most.
      const prior = this.store.caps.get(capability)?.baseline ?? null;
      const earlier = prior && prior.at < b.at && b.at - prior.at <= BASELINE_MAX_AGE_MS ? prior : null;
      if (python.requests >= t.MIN_REQUESTS) {
        this.store.get(capability).baseline = { ...python, at: b.at };
        changed = true;
      }
      const exposed = capabilityExposure(s, capability).kind !== 'none';
      if ((go.requests === 0 && !exposed) || s.owner_map.forcePython.value) {
        // Not on go (rolled back by hand, kill switch): a run of failed windows ends here, so a later ramp starts clean.
        const st = this.store.caps.get(capability);
        if (st && st.failed_windows > 0) {
          st.failed_windows = 0;
          changed = true;
        }
        continue;
      }
      const state = this.store.get(capability);
      const v = judgeWindow(capability, b.at, secs, go, python, earlier, t);
      this.record(state, v);
      changed = true;
      if (v.verdict === 'fail') {
        this.d.log.warn('gate window failed', { capability, failed_windows: state.failed_windows, of: t.FAILED_WINDOWS, reasons: v.reasons, snapshot_version: s.version });
      }
      if (v.verdict === 'fail' && state.failed_windows >= t.FAILED_WINDOWS && t.AUTO_ROLLBACK && state.armed && exposed) {
        await this.rollback(capability, state, s);
      }
    }
    if (changed) this.save();
  }

  private record(state: CapabilityState, v: WindowVerdict): void {
    this.windows.labels(v.capability, v.verdict).inc();
    state.recent.push(v);
    if (state.recent.length > RECENT) state.recent.splice(0, state.recent.length - RECENT);
    if (v.verdict === 'fail') state.failed_windows++;
    else if (v.verdict === 'pass') state.failed_windows = 0;
  }

  private save(): void {
    try {
      this.store.save();
    } catch (e) {
      this.d.log.warn('cannot save the gates state in STATE_DIR', { error: (e as Error).message });
    }
  }

  /** Rolls `capability` back to python (config.yaml, audited), disarms it, logs at error. */
  private async rollback(capability: string, state: CapabilityState, s: Snapshot): Promise<void> {
    const t = thresholds(s, capability);
    const windows = state.recent.slice(-t.FAILED_WINDOWS);
    const reason = `automatic rollback: ${t.FAILED_WINDOWS} consecutive failed windows of ${windows[0]?.window_seconds ?? t.WINDOW_SECONDS} s; last: ${windows[windows.length - 1]?.reasons.join('; ') ?? ''}`;
    const changes = planAction({ action: 'rollback', scope: `CAP_${capability}` }, s);
    const env = changes.map((c) => c.key).filter((k) => s.owner_map.config?.switches.get(k)?.origin.source === 'env');
    let entries: AuditEntry[] = [];
    let writtenHere = true;
    try {
      if (env.length > 0) throw new SwitchboardError('SWB_CONFIG_BAD_VALUE', `${env.join(', ')} set in the environment: a config.yaml change cannot override it`);
      for (let attempt = 0; ; attempt++) {
        try {
          const plan = planWrite(this.d.file, changes, this.d.inventory);
          if (plan.changes.length === 0) {
            writtenHere = false; // another node (or a human) got there first
            break;
          }
          entries = commitWrite(plan, { actor: 'auto-rollback', via: 'auto-rollback', reason, snapshotVersion: s.version });
          break;
        } catch (e) {
          if ((e as SwitchboardError).code !== 'SWB_CONFIG_CONFLICT' || attempt >= 2) throw e;
        }
      }
    } catch (e) {
      this.rollbackFailures.labels(capability).inc();
      this.d.log.error('automatic rollback could NOT be written: roll back by hand (or turn on the kill switch)', {
        capability,
        reason,
        error: (e as Error).message,
      });
      return;
    }
    // Recorded as soon as config.yaml says python: whoever reads the file next also sees why.
    state.armed = false;
    state.failed_windows = 0;
    state.rollback = { at: this.now(), snapshot_version: s.version, keys: entries.map((e) => e.key), reason, windows, written_here: writtenHere };
    try {
      await this.d.provider.reload('auto-rollback');
      state.rollback = { ...state.rollback, snapshot_version: this.d.provider.current().version };
    } catch (e) {
      // Written all the same: the file watcher installs it on its next poll.
      this.d.log.error('automatic rollback written; reloading it failed (the config watcher will install it)', { capability, error: (e as Error).message });
    }
    this.rollbacks.labels(capability).inc();
    this.d.log.error('capability rolled back to python by its gates', {
      capability,
      actor: 'auto-rollback',
      reason,
      keys: entries.map((e) => e.key),
      written_here: writtenHere,
      snapshot_version: this.d.provider.current().version,
      windows: windows.map((w) => ({ go: w.go, python: w.python, reasons: w.reasons })),
    });
  }

  /** The shadow comparisons (the dashboard shows their diffs). */
  get shadow(): KeeperDeps['shadow'] {
    return this.d.shadow;
  }

  /** Every capability's family (from the inventory). */
  get capabilities(): ReadonlyMap<string, string> {
    return this.families;
  }

  /** The gate checklist of `capability` now. */
  checklist(capability: string): Checklist {
    const s = this.d.provider.current();
    const r = this.d.readiness;
    const cur = r?.current();
    return checklist({
      capability,
      now: this.now(),
      thresholds: thresholds(s, capability),
      readiness: {
        verdict: r ? r.implements(capability) : 'unknown',
        at: cur?.checked_at ? Date.parse(cur.checked_at) : null,
        source: cur?.upstream ? `go's readiness document (${cur.upstream})` : 'no go upstream configured',
      },
      state: this.store.caps.get(capability) ?? null,
      contract: this.d.stateDir === null ? null : readContractResult(this.d.stateDir, capability),
      shadow: this.d.shadow?.record(capability) ?? null,
    });
  }

  /** A human re-arms automatic rollback for `capability` (audited); refused during the cool-down. */
  arm(capability: string, actor: string, reason: string, via: string): AuditEntry {
    if (!this.families.has(capability)) throw new SwitchboardError('SWB_CLI_USAGE', `unknown capability ${capability}`);
    if (!reason.trim()) throw new SwitchboardError('SWB_CLI_USAGE', 'say why (reason): it goes to the audit log');
    const s = this.d.provider.current();
    const st = this.store.get(capability);
    const t = thresholds(s, capability);
    const until = (st.rollback?.at ?? 0) + t.COOLDOWN_SECONDS * 1000;
    if (!st.armed && this.now() < until) {
      throw new SwitchboardError(
        'SWB_GATE_COOLDOWN',
        `${capability} was rolled back at ${new Date(st.rollback!.at).toISOString()}: it can be re-armed from ${new Date(until).toISOString()} (GATE_COOLDOWN_SECONDS ${t.COOLDOWN_SECONDS})`,
      );
    }
    const entry: AuditEntry = {
      time: new Date(this.now()).toISOString(),
      actor,
      via,
      action: 'arm',
      key: `gates ${capability}`,
      old: st.armed,
      new: true,
      reason: reason.trim(),
      file: this.d.file,
      sha256_before: null,
      sha256_after: null,
      routes_changing_owner: 0,
      snapshot_version: s.version,
    };
    appendAudit([entry], this.d.file, s.owner_map.config, this.d.stateDir);
    st.armed = true;
    st.failed_windows = 0;
    st.armed_by = { actor, at: this.now(), reason: reason.trim() };
    this.save();
    this.d.log.info('automatic rollback re-armed', { capability, actor, via, reason: reason.trim() });
    return entry;
  }
}
