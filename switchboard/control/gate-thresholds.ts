/**
 * The cutover gates' thresholds: MIGRATION keys `GATE_<SETTING>` (every
 * capability) and `GATE_CAP_<CAPABILITY>_<SETTING>` (one capability, which
 * wins), else the defaults below. Read from a snapshot, so a threshold
 * changes with the config like every switch.
 *
 *   WINDOW_SECONDS        60     one judgement per capability per window (global only)
 *   MIN_REQUESTS          50     go requests a window needs before it is judged (else "not enough data")
 *   MAX_ERROR_RATE_DELTA  0.01   go's error rate (5xx and upstream failures) may exceed python's by this much
 *   MAX_P99_RATIO         1.5    go's p99 may be this many times python's ...
 *   P99_ALLOWANCE_MS      25     ... or this many ms above it, whichever is more
 *   FAILED_WINDOWS        3      consecutive failed windows that roll a capability back
 *   AUTO_ROLLBACK         true   roll back by itself (false: the gate only reports)
 *   COOLDOWN_SECONDS      900    after an automatic rollback, re-arming waits this long
 *   MAX_SHADOW_DIFF_RATE  0.001  shadow comparisons that may differ before the shadow gate fails
 *   REQUIRE_EVIDENCE      false  a ramp needs evidence from every gate, not only no failing one
 */
import type { GateSetting } from '../config/keys.js';
import type { Snapshot } from '../core/snapshot.js';

export interface Thresholds {
  readonly WINDOW_SECONDS: number;
  readonly MIN_REQUESTS: number;
  readonly MAX_ERROR_RATE_DELTA: number;
  readonly MAX_P99_RATIO: number;
  readonly P99_ALLOWANCE_MS: number;
  readonly FAILED_WINDOWS: number;
  readonly AUTO_ROLLBACK: boolean;
  readonly COOLDOWN_SECONDS: number;
  readonly MAX_SHADOW_DIFF_RATE: number;
  readonly REQUIRE_EVIDENCE: boolean;
}

export const GATE_DEFAULTS: Thresholds = Object.freeze({
  WINDOW_SECONDS: 60,
  MIN_REQUESTS: 50,
  MAX_ERROR_RATE_DELTA: 0.01,
  MAX_P99_RATIO: 1.5,
  P99_ALLOWANCE_MS: 25,
  FAILED_WINDOWS: 3,
  AUTO_ROLLBACK: true,
  COOLDOWN_SECONDS: 900,
  MAX_SHADOW_DIFF_RATE: 0.001,
  REQUIRE_EVIDENCE: false,
});

/** The thresholds in force for `capability` (or the global ones for null) in snapshot `s`. */
export function thresholds(s: Snapshot, capability: string | null): Thresholds {
  const switches = s.owner_map.config?.switches;
  if (!switches) return GATE_DEFAULTS;
  const out: Record<string, unknown> = { ...GATE_DEFAULTS };
  for (const k of Object.keys(GATE_DEFAULTS) as GateSetting[]) {
    const own = capability === null ? undefined : switches.get(`GATE_CAP_${capability}_${k}`)?.value;
    const v = own ?? switches.get(`GATE_${k}`)?.value;
    if (v !== undefined && v !== null) out[k] = v;
  }
  return out as unknown as Thresholds;
}
