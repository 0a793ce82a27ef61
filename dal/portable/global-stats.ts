/**
 * The counts Quay's globalpromstats worker reports (workers/globalpromstats/):
 * exact COUNT(*)s, as Quay's row estimator is on SQLite and PostgreSQL.
 */
import type { PortableSql } from '../model/portable-sql.js';

export interface GlobalCounts {
  /** Every repository (get_estimated_repository_count). */
  readonly repositories: number;
  /**
   * Users that are neither organizations nor robots, disabled ones included,
   * less those being deleted (a `deletednamespace` row): get_active_user_count
   * calls get_active_users with its default `disabled=True`, which keeps
   * disabled users and drops deleted ones.
   */
  readonly users: number;
  /** Enabled organizations (get_active_org_count). */
  readonly orgs: number;
  /** Robot tokens (get_estimated_robot_count: one row per robot account). */
  readonly robots: number;
  /** Organization mirror configurations, all and enabled. */
  readonly orgMirrors: number;
  readonly orgMirrorsEnabled: number;
}

export async function globalCounts(sql: PortableSql): Promise<GlobalCounts> {
  const r = await sql.one<Record<string, number | string>>(
    `SELECT
      (SELECT COUNT(*) FROM repository) AS repositories,
      (SELECT COUNT(*) FROM "user" WHERE organization = @no AND robot = @no AND id NOT IN (SELECT namespace_id FROM deletednamespace)) AS users,
      (SELECT COUNT(*) FROM "user" WHERE organization = @yes AND robot = @no AND enabled = @yes) AS orgs,
      (SELECT COUNT(*) FROM robotaccounttoken) AS robots,
      (SELECT COUNT(*) FROM orgmirrorconfig) AS org_mirrors,
      (SELECT COUNT(*) FROM orgmirrorconfig WHERE is_enabled = @yes) AS org_mirrors_enabled`,
    { yes: true, no: false },
  );
  const n = (k: string): number => Number(r?.[k] ?? 0);
  return {
    repositories: n('repositories'),
    users: n('users'),
    orgs: n('orgs'),
    robots: n('robots'),
    orgMirrors: n('org_mirrors'),
    orgMirrorsEnabled: n('org_mirrors_enabled'),
  };
}
