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

/**
 * quotaregistrysizeworker: every QUOTA_REGISTRY_SIZE_POLL_PERIOD (60 s), when
 * a superuser has asked for the registry's size (`quotaregistrysize.queued`,
 * set by the API), sums `imagestorage.image_size` into `size_bytes` with
 * `completed_ms`. Quay marks the row running with a plain UPDATE after
 * reading it; here the mark is a compare-and-swap (queued and not running),
 * so two workers of either runtime never both compute it.
 */
export function registrySizeProgram(d: { readonly sql: PortableSql; readonly quayConfig: Readonly<Record<string, unknown>>; readonly now?: () => number }): WorkerProgram {
  const now = d.now ?? Date.now;
  const every = d.quayConfig.QUOTA_REGISTRY_SIZE_POLL_PERIOD;
  return {
    program: 'quotaregistrysizeworker',
    everyMs: (typeof every === 'number' && every > 0 ? every : 60) * 1000,
    async run() {
      const claimed = await d.sql.run('UPDATE quotaregistrysize SET running = @yes, queued = @no WHERE running = @no AND queued = @yes', { yes: true, no: false });
      if (claimed === 0) return null;
      const r = await d.sql.one<{ total: number | string | null }>('SELECT SUM(image_size) AS total FROM imagestorage');
      const total = Number(r?.total ?? 0);
      await d.sql.run('UPDATE quotaregistrysize SET running = @no, queued = @no, size_bytes = @total, completed_ms = @at', { no: false, total, at: now() });
      return { size_bytes: total };
    },
  };
}
