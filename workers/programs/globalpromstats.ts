/**
 * globalpromstats (Quay's workers/globalpromstats/): every
 * GLOBAL_PROMETHEUS_STATS_FREQUENCY seconds (default 3600) the registry's
 * size as Prometheus gauges, under Quay's own metric names (an operator's
 * dashboards and alerts query them by name):
 *
 *   quay_repository_rows      repositories
 *   quay_user_rows            users (not organizations, not robots), disabled ones too, less those being deleted
 *   quay_org_rows             enabled organizations
 *   quay_robot_rows           robot accounts
 *   quay_org_mirrors_total    organization mirror configurations (a gauge despite `_total`: Quay's name)
 *   quay_org_mirrors_enabled  the enabled ones
 *
 * Quay pushes them to PROMETHEUS_PUSHGATEWAY_URL from the worker's process;
 * here they are on the /metrics of the process that runs the program (`quay
 * worker globalpromstats`' admin listener, or `quay serve`'s), scraped like
 * the rest of the go side's metrics. Quay takes the Redis lock
 * GLOBAL_PROM_STATS so that one worker reports at a time; the TS side has no
 * Redis: every process running it reports the same counts (read-only
 * queries, once an hour), and WORKER_OWNER_GLOBALPROMSTATS says which
 * runtime does.
 */
import { Gauge, type Registry } from 'prom-client';
import type { PortableSql } from '../../dal/model/portable-sql.js';
import { globalCounts, type GlobalCounts } from '../../dal/portable/global-stats.js';
import type { WorkerMetrics } from '../metrics.js';
import type { WorkerProgram } from '../runner.js';

/** Quay's gauges: name, help (Quay's), and the count each shows. */
export const GLOBAL_GAUGES: readonly (readonly [name: string, help: string, key: keyof GlobalCounts])[] = [
  ['quay_repository_rows', 'number of repositories in the database', 'repositories'],
  ['quay_user_rows', 'number of users in the database', 'users'],
  ['quay_org_rows', 'number of organizations in the database', 'orgs'],
  ['quay_robot_rows', 'number of robot accounts in the database', 'robots'],
  ['quay_org_mirrors_total', 'number of org-level mirror configurations in the database', 'orgMirrors'],
  ['quay_org_mirrors_enabled', 'number of enabled org-level mirror configurations in the database', 'orgMirrorsEnabled'],
];

/** The gauges in `registry`, created once per registry. */
function gauges(registry: Registry): Gauge[] {
  return GLOBAL_GAUGES.map(([name, help]) => (registry.getSingleMetric(name) as Gauge | undefined) ?? new Gauge({ name, help, registers: [registry] }));
}

export function globalPromStats(d: { readonly sql: PortableSql; readonly quayConfig: Readonly<Record<string, unknown>>; readonly metrics: WorkerMetrics | null }): WorkerProgram {
  const every = d.quayConfig.GLOBAL_PROMETHEUS_STATS_FREQUENCY;
  const shown = d.metrics ? gauges(d.metrics.registry) : [];
  return {
    program: 'globalpromstats',
    everyMs: (typeof every === 'number' && every > 0 ? every : 3600) * 1000,
    async run() {
      const counts = await globalCounts(d.sql);
      shown.forEach((g, i) => g.set(counts[GLOBAL_GAUGES[i]![2]]));
      return Object.fromEntries(GLOBAL_GAUGES.map(([name, , key]) => [name, counts[key]]));
    },
  };
}
