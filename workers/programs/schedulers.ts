/**
 * Quay's timer-driven programs that only touch the data tier (no queue).
 */
import type { Logger } from '../../lib/log.js';
import type { PortableSql } from '../../dal/model/portable-sql.js';
import { sqlTime } from '../../dal/model/time.js';
import type { WorkerProgram } from '../runner.js';

/** util/timedeltastring.convert_to_timedelta: `<integer><s|m|h|d|w|y>` as milliseconds, or null when it is not that. */
export function parseTimedelta(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const m = /^\s*([+-]?\d+)([smhdwy])$/.exec(v);
  if (!m) return null;
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400, y: 365 * 86_400 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w' | 'y'];
  return Number(m[1]) * unit * 1000;
}

/**
 * expiredappspecifictokenworker: hourly, deletes app-specific tokens that
 * expired longer ago than EXPIRED_APP_SPECIFIC_TOKEN_GC (default `1d`).
 * As Quay's: idle when FEATURE_APP_SPECIFIC_TOKENS is off or the window is
 * set to null. A window that is not `<n><unit>` makes Quay's worker fail at
 * start; this one says so in its log and stays idle.
 */
export function expiredAppTokenProgram(d: {
  readonly sql: PortableSql;
  readonly log: Logger;
  readonly quayConfig: Readonly<Record<string, unknown>>;
  readonly now?: () => number;
}): WorkerProgram {
  const now = d.now ?? Date.now;
  const program = 'expiredappspecifictokenworker';
  const cfg = d.quayConfig;
  const raw = Object.hasOwn(cfg, 'EXPIRED_APP_SPECIFIC_TOKEN_GC') ? cfg.EXPIRED_APP_SPECIFIC_TOKEN_GC : '1d';
  const windowMs = parseTimedelta(raw);
  const idle =
    cfg.FEATURE_APP_SPECIFIC_TOKENS === false
      ? 'app-specific tokens are disabled (FEATURE_APP_SPECIFIC_TOKENS: false)'
      : raw === null
        ? 'garbage collection of app-specific tokens is disabled (EXPIRED_APP_SPECIFIC_TOKEN_GC: null)'
        : windowMs === null
          ? `EXPIRED_APP_SPECIFIC_TOKEN_GC ${JSON.stringify(raw)} is not <number><s|m|h|d|w|y>`
          : null;
  let said = false;
  return {
    program,
    everyMs: 3600_000,
    async run() {
      if (idle !== null) {
        if (!said)
          (windowMs === null && raw !== null && cfg.FEATURE_APP_SPECIFIC_TOKENS !== false ? d.log.error : d.log.info).call(d.log, `${program}: idle: ${idle}`, { program });
        said = true;
        return null;
      }
      const deleted = await d.sql.run('DELETE FROM appspecificauthtoken WHERE expiration < @before', { before: sqlTime(now() - windowMs!) });
      return deleted > 0 ? { deleted, window: raw as string } : null;
    },
  };
}
