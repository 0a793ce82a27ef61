/**
 * Quay's timer-driven programs that only touch the data tier (no queue).
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '../../lib/log.js';
import type { PortableSql } from '../../dal/model/portable-sql.js';
import { sqlTime } from '../../dal/model/time.js';
import type { WorkerProgram } from '../runner.js';
import { QuotaTotals } from '../../dal/portable/quota-totals.js';

/** What a timer-driven data-tier program here is given (`now`: the clock, Date.now unless a test fixes it). */
export interface TimedProgramDeps {
  readonly sql: PortableSql;
  readonly log: Logger;
  readonly quayConfig: Readonly<Record<string, unknown>>;
  readonly now?: () => number;
}

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
export function expiredAppTokenProgram(d: TimedProgramDeps): WorkerProgram {
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

/**
 * quotatotalworker: every QUOTA_BACKFILL_POLL_PERIOD (15 s), up to
 * QUOTA_BACKFILL_BATCH_SIZE (100) namespaces without a namespace total get
 * theirs and their repositories' (Quay's run_backfill, dal/portable/quota-totals.ts).
 * As Quay's process, the first pass waits QUOTA_TOTAL_DELAY_SECONDS (30 min;
 * null: none) after the program starts. FEATURE_QUOTA_NOTIFICATIONS' check
 * (the same process's second operation in Quay) is not built: said once in the log.
 */
export function quotaTotalProgram(d: TimedProgramDeps): WorkerProgram {
  const now = d.now ?? Date.now;
  const cfg = d.quayConfig;
  const positive = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback);
  const delay = Object.hasOwn(cfg, 'QUOTA_TOTAL_DELAY_SECONDS') ? cfg.QUOTA_TOTAL_DELAY_SECONDS : 1800;
  const startAt = now() + (typeof delay === 'number' && delay > 0 ? delay * 1000 : 0);
  const batch = Math.floor(positive(cfg.QUOTA_BACKFILL_BATCH_SIZE, 100));
  const totals = new QuotaTotals(d.sql);
  let said = false;
  return {
    program: 'quotatotalworker',
    everyMs: positive(cfg.QUOTA_BACKFILL_POLL_PERIOD, 15) * 1000,
    async run(active) {
      if (!said && cfg.FEATURE_QUOTA_NOTIFICATIONS === true)
        d.log.warn('quotatotalworker: quota notifications (FEATURE_QUOTA_NOTIFICATIONS) are not built on the TS side: leave this program with python to send them', {
          program: 'quotatotalworker',
        });
      said = true;
      if (now() < startAt) return null;
      let namespaces = 0;
      let repositories = 0;
      for (const ns of await totals.namespacesToBackfill(batch)) {
        if (!active()) break;
        const r = await totals.backfill(ns, now());
        if (r.namespace) namespaces++;
        repositories += r.repositories;
      }
      return namespaces + repositories > 0 ? { namespaces, repositories } : null;
    },
  };
}

/**
 * servicekey (Quay's supervisord program of workers/servicekeyworker/; switch
 * WORKER_OWNER_SERVICEKEY): every
 * INSTANCE_SERVICE_KEY_REFRESH minutes (55), the instance key named by
 * INSTANCE_SERVICE_KEY_KID_LOCATION gets its `servicekey.expiration_date`
 * moved to now + INSTANCE_SERVICE_KEY_EXPIRATION minutes (120), so it is not
 * collected while the deployment runs. That is all Quay's worker does.
 *
 * A process of the go side that signs registry tokens keeps its own key alive
 * by itself (domain/auth/instance-key.ts), whoever owns this program: a
 * switch must never leave the registry signing with an expired key. This
 * program is for the deployment's instance key as Quay's process keeps it
 * (the key files of the config), so Quay's servicekeyworker can be retired;
 * a refresh twice over is harmless. A missing kid file or key row fails the
 * pass (logged, counted), as Quay's worker fails.
 */
export function serviceKeyProgram(d: {
  readonly keys: { extendServiceKey(kid: string, expirationMs: number): Promise<boolean> };
  readonly quayConfig: Readonly<Record<string, unknown>>;
  readonly now?: () => number;
}): WorkerProgram {
  const now = d.now ?? Date.now;
  const cfg = d.quayConfig;
  const minutes = (key: string, fallback: number): number => {
    const v = cfg[key];
    return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback;
  };
  const expiration = minutes('INSTANCE_SERVICE_KEY_EXPIRATION', 120);
  return {
    program: 'servicekey',
    everyMs: minutes('INSTANCE_SERVICE_KEY_REFRESH', 55) * 60_000,
    async run() {
      const kidFile = typeof cfg.INSTANCE_SERVICE_KEY_KID_LOCATION === 'string' ? cfg.INSTANCE_SERVICE_KEY_KID_LOCATION : 'conf/quay.kid';
      let kid: string;
      try {
        kid = readFileSync(kidFile, 'utf8').trim();
      } catch (e) {
        throw new Error(`cannot read the instance key's kid (INSTANCE_SERVICE_KEY_KID_LOCATION ${kidFile}): ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e });
      }
      const expiresMs = now() + expiration * 60_000;
      if (!(await d.keys.extendServiceKey(kid, expiresMs))) throw new Error(`no servicekey row for the instance key ${kid} (${kidFile})`);
      return { kid, expires_at: new Date(expiresMs).toISOString() };
    },
  };
}
