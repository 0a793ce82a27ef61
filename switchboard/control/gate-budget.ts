/**
 * One window's judgement of a capability: go's error rate and p99 against
 * python's over the same window (or python's last judged window when python
 * served too little of it, as at 100% go). Pure: figures in, verdict out.
 *
 *   error rate  go ≤ baseline + MAX_ERROR_RATE_DELTA       (baseline 0 when python was never measured)
 *   p99         go ≤ max(baseline × MAX_P99_RATIO, baseline + P99_ALLOWANCE_MS)   (skipped without a baseline)
 *
 * A window with fewer than MIN_REQUESTS go requests is "insufficient": it
 * neither passes nor fails, and does not break a run of failed windows.
 */
import type { Thresholds } from './gate-thresholds.js';

/** One owner's figures over a window. */
export interface OwnerWindow {
  readonly requests: number;
  /** Upstream failures plus 5xx answers. */
  readonly errors: number;
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
}

export interface Baseline extends OwnerWindow {
  /** When python's figures were measured (ms since epoch). */
  readonly at: number;
}

export type Verdict = 'pass' | 'fail' | 'insufficient';

export interface Check {
  readonly name: 'error_rate' | 'p99';
  readonly ok: boolean;
  readonly go: number;
  readonly python: number | null;
  readonly limit: number;
}

export interface WindowVerdict {
  readonly capability: string;
  readonly at: number;
  readonly window_seconds: number;
  readonly verdict: Verdict;
  readonly go: OwnerWindow;
  readonly python: OwnerWindow;
  /** Where python's side of the comparison came from. */
  readonly baseline: 'this_window' | 'earlier_window' | 'none';
  readonly checks: readonly Check[];
  /** One sentence per failed check, or why there was nothing to judge. */
  readonly reasons: readonly string[];
}

export const errorRate = (w: OwnerWindow): number => (w.requests > 0 ? w.errors / w.requests : 0);

/** A fraction as a percent with two decimals. */
export const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const ms = (x: number): string => `${x < 10 ? x.toFixed(2) : Math.round(x)} ms`;

export function judgeWindow(capability: string, at: number, windowSeconds: number, go: OwnerWindow, python: OwnerWindow, earlier: Baseline | null, t: Thresholds): WindowVerdict {
  const base: OwnerWindow | null = python.requests >= t.MIN_REQUESTS ? python : earlier;
  const baseline = base === null ? 'none' : base === python ? 'this_window' : 'earlier_window';
  const out = { capability, at, window_seconds: windowSeconds, go, python, baseline } as const;
  if (go.requests < t.MIN_REQUESTS) {
    return {
      ...out,
      verdict: 'insufficient',
      checks: [],
      reasons: [`go served ${go.requests} request${go.requests === 1 ? '' : 's'} (fewer than GATE_MIN_REQUESTS ${t.MIN_REQUESTS})`],
    };
  }
  const checks: Check[] = [];
  const reasons: string[] = [];
  const baseRate = base ? errorRate(base) : 0;
  const rateLimit = baseRate + t.MAX_ERROR_RATE_DELTA;
  const goRate = errorRate(go);
  const rateOk = goRate <= rateLimit + 1e-12;
  checks.push({ name: 'error_rate', ok: rateOk, go: goRate, python: base ? baseRate : null, limit: rateLimit });
  if (!rateOk)
    reasons.push(
      `go error rate ${pct(goRate)} (${go.errors}/${go.requests}) over ${pct(rateLimit)} (python ${base ? pct(baseRate) : 'unmeasured'} + ${pct(t.MAX_ERROR_RATE_DELTA)})`,
    );
  if (base?.p99_ms != null && go.p99_ms !== null) {
    const limit = Math.max(base.p99_ms * t.MAX_P99_RATIO, base.p99_ms + t.P99_ALLOWANCE_MS);
    const ok = go.p99_ms <= limit + 1e-9;
    checks.push({ name: 'p99', ok, go: go.p99_ms, python: base.p99_ms, limit });
    if (!ok) reasons.push(`go p99 ${ms(go.p99_ms)} over ${ms(limit)} (python ${ms(base.p99_ms)} × ${t.MAX_P99_RATIO}, or + ${t.P99_ALLOWANCE_MS} ms)`);
  }
  return { ...out, verdict: checks.every((c) => c.ok) ? 'pass' : 'fail', checks, reasons };
}
