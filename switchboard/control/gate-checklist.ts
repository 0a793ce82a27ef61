/**
 * The gate checklist of one capability: each line a status, the evidence
 * behind it and that evidence's age. Pure: everything it judges is passed in.
 *
 *   readiness      go's readiness document says it implements the capability
 *   contract       the last `switchboard contract run` (STATE_DIR/contracts/<CAP>.json) passed
 *   shadow         shadow comparisons differ at most GATE_MAX_SHADOW_DIFF_RATE
 *   budget         go's p99 within budget against python's (the last judged window)
 *   canary_health  go's error rate within budget (the last judged window), no failed windows pending
 *   auto_rollback  armed (GATE_AUTO_ROLLBACK on, not disarmed by a rollback)
 *
 * Status: pass, fail, none (no evidence yet), or warn (known, not blocking).
 */
import { SwitchboardError } from '../errors.js';
import { pct, type WindowVerdict } from './gate-budget.js';
import type { ContractResult } from '../contract/runner.js';
import type { CapabilityState } from './gate-state.js';
import type { Thresholds } from './gate-thresholds.js';

export type GateName = 'readiness' | 'contract' | 'shadow' | 'budget' | 'canary_health' | 'auto_rollback';
export type GateStatus = 'pass' | 'fail' | 'none' | 'warn';

export interface GateLine {
  readonly gate: GateName;
  readonly status: GateStatus;
  /** One sentence: what was seen. */
  readonly evidence: string;
  /** When the evidence was taken (ISO), null without evidence. */
  readonly at: string | null;
  readonly age_seconds: number | null;
}

/** The last contract run of a capability, as the contract runner keeps it. */
export type ContractRecord = Pick<ContractResult, 'at' | 'passed' | 'sequences' | 'requests' | 'differences' | 'noise'>;

/** Shadow comparisons of a capability since the switchboard started. */
export interface ShadowRecord {
  readonly compared: number;
  readonly diffs: number;
  readonly last_at: number | null;
}

export interface ChecklistInput {
  readonly capability: string;
  readonly now: number;
  readonly thresholds: Thresholds;
  readonly readiness: { readonly verdict: 'yes' | 'no' | 'unknown'; readonly at: number | null; readonly source: string };
  readonly state: CapabilityState | null;
  readonly contract: ContractRecord | null;
  readonly shadow: ShadowRecord | null;
}

export interface Checklist {
  readonly capability: string;
  readonly gates: readonly GateLine[];
  /** Gates that block a ramp: failing ones (and, with GATE_REQUIRE_EVIDENCE, those without evidence). */
  readonly blocking: readonly GateName[];
  readonly passed: boolean;
}

function line(gate: GateName, status: GateStatus, evidence: string, at: number | null, now: number): GateLine {
  return { gate, status, evidence, at: at === null ? null : new Date(at).toISOString(), age_seconds: at === null ? null : Math.max(0, Math.round((now - at) / 1000)) };
}

function lastJudged(st: CapabilityState | null): WindowVerdict | null {
  if (!st) return null;
  for (let i = st.recent.length - 1; i >= 0; i--) if (st.recent[i]!.verdict !== 'insufficient') return st.recent[i]!;
  return null;
}

export function checklist(i: ChecklistInput): Checklist {
  const { now, thresholds: t, state: st } = i;
  const gates: GateLine[] = [];
  const r = i.readiness;
  gates.push(
    line(
      'readiness',
      r.verdict === 'yes' ? 'pass' : r.verdict === 'no' ? 'fail' : 'none',
      r.verdict === 'yes' ? `${r.source} lists ${i.capability}` : r.verdict === 'no' ? `${r.source} does not list ${i.capability}` : `go's readiness is unknown (${r.source})`,
      r.at,
      now,
    ),
  );
  const c = i.contract;
  gates.push(
    c === null
      ? line('contract', 'none', `never run: switchboard contract run ${i.capability}`, null, now)
      : line(
          'contract',
          c.passed ? 'pass' : 'fail',
          `${c.sequences} sequence${c.sequences === 1 ? '' : 's'}, ${c.requests} requests: ${c.differences} difference${c.differences === 1 ? '' : 's'}${c.noise ? `, ${c.noise} noise` : ''}`,
          c.at,
          now,
        ),
  );
  const sh = i.shadow;
  if (sh === null || sh.compared === 0) gates.push(line('shadow', 'none', `no shadow comparisons (ROUTE_SHADOW_CAP_${i.capability})`, null, now));
  else {
    const rate = sh.diffs / sh.compared;
    gates.push(
      line(
        'shadow',
        rate <= t.MAX_SHADOW_DIFF_RATE ? 'pass' : 'fail',
        `${sh.diffs} of ${sh.compared} differ (${pct(rate)}; limit ${pct(t.MAX_SHADOW_DIFF_RATE)})`,
        sh.last_at,
        now,
      ),
    );
  }
  const w = lastJudged(st);
  const p99 = w?.checks.find((x) => x.name === 'p99');
  if (!w) gates.push(line('budget', 'none', `no window with ${t.MIN_REQUESTS}+ go requests yet`, null, now));
  else if (!p99) gates.push(line('budget', 'none', 'no python latency to compare with yet', w.at, now));
  else gates.push(line('budget', p99.ok ? 'pass' : 'fail', `p99 go ${p99.go.toFixed(1)} ms, python ${p99.python?.toFixed(1)} ms, limit ${p99.limit.toFixed(1)} ms`, w.at, now));
  const er = w?.checks.find((x) => x.name === 'error_rate');
  if (!w || !er) gates.push(line('canary_health', 'none', `no window with ${t.MIN_REQUESTS}+ go requests yet`, null, now));
  else {
    const pending = st?.failed_windows ?? 0;
    const ok = er.ok && pending === 0;
    gates.push(
      line(
        'canary_health',
        ok ? 'pass' : 'fail',
        `error rate go ${pct(er.go)}, python ${er.python === null ? 'unmeasured' : pct(er.python)}, limit ${pct(er.limit)}; ${pending} failed window${pending === 1 ? '' : 's'} in a row (rollback at ${t.FAILED_WINDOWS})`,
        w.at,
        now,
      ),
    );
  }
  if (st && !st.armed) {
    const rb = st.rollback;
    gates.push(line('auto_rollback', 'fail', `disarmed: rolled back ${rb ? `(${rb.reason})` : ''}; re-arm with switchboard gates arm ${i.capability}`, rb?.at ?? null, now));
  } else if (!t.AUTO_ROLLBACK) gates.push(line('auto_rollback', 'warn', 'off (GATE_AUTO_ROLLBACK: false): failed windows are reported, nothing is rolled back', null, now));
  else gates.push(line('auto_rollback', 'pass', `armed: ${t.FAILED_WINDOWS} failed windows of ${t.WINDOW_SECONDS} s roll back to python`, st?.armed_by?.at ?? null, now));
  const blocking = gates.filter((g) => g.status === 'fail' || (t.REQUIRE_EVIDENCE && g.status === 'none')).map((g) => g.gate);
  return { capability: i.capability, gates, blocking, passed: blocking.length === 0 };
}

/** A capability a change would send more of to go, and the gates of it that fail. */
export interface CutoverFinding {
  readonly capability: string;
  readonly gates: readonly GateName[];
  readonly lines: readonly GateLine[];
}

/** A ramp refused by the cutover gates (SWB_GATE_FAILED); `how` says how to override it on the surface at hand. */
export class GateFailedError extends SwitchboardError {
  constructor(
    readonly failing: readonly CutoverFinding[],
    how: string,
  ) {
    const what = failing
      .map((f) => `${f.capability}: ${f.lines.map((l) => `${l.gate} ${l.status === 'none' ? 'has no evidence' : 'fails'} (${l.evidence})`).join('; ')}`)
      .join(' — ');
    super('SWB_GATE_FAILED', `the cutover gates do not pass: ${what}; nothing written — ${how}`);
  }
}
