/**
 * What the SQLite and PostgreSQL auth stores share: the user columns they
 * select, the role orderings, Quay's service-key TTL, and the mapping from database
 * rows to AuthStore rows (SQLite answers booleans as 0/1, PostgreSQL as booleans).
 */
import { ROLE_RANK, TEAM_RANK, type AppTokenRow, type UserRow } from './auth-store.js';
import { parseSqlTime } from './time.js';

export const USER_COLUMNS = 'u.id, u.uuid, u.username, u.email, u.password_hash, u.organization, u.robot, u.enabled, u.invalid_login_attempts, u.last_invalid_login';
/** The mirroring robot of a repository ({p} = the parameter marker), per AuthStore.mirrorRobot's scope. */
export const MIRROR_ROBOT_SQL = {
  repository: 'SELECT internal_robot_id AS id FROM repomirrorconfig WHERE repository_id = {p}',
  organization: `SELECT c.internal_robot_id AS id FROM orgmirrorrepository r JOIN orgmirrorconfig c ON c.id = r.org_mirror_config_id
    WHERE r.repository_id = {p}`,
} as const;

/** A rank as SQL: `CASE <column> WHEN '<name>' THEN <rank> ... ELSE 0 END`. */
const rankSql = (column: string, ranks: Readonly<Record<string, number>>): string =>
  `CASE ${column} ${Object.entries(ranks)
    .map(([name, rank]) => `WHEN '${name}' THEN ${rank}`)
    .join(' ')} ELSE 0 END`;

/** ROLE_RANK of `ro.name` (a `role` row). */
export const ROLE_ORDER = rankSql('ro.name', ROLE_RANK);
/** TEAM_RANK of `tr.name` (a `teamrole` row). */
export const TEAM_ORDER = rankSql('tr.name', TEAM_RANK);
/** Quay's EXPIRED_SERVICE_KEY_TTL_SEC default: expired keys linger a day before collection. */
export const EXPIRED_KEY_TTL_MS = 86_400_000;

type DbBool = boolean | number;
const yes = (v: DbBool): boolean => v === true || v === 1;

export interface UserDbRow {
  id: number;
  uuid: string | null;
  username: string;
  email: string;
  password_hash: string | null;
  organization: DbBool;
  robot: DbBool;
  enabled: DbBool;
  invalid_login_attempts: number;
  last_invalid_login: string;
}

export type AppTokenDbRow = UserDbRow & { token_id: number; token_uuid: string; title: string; token_secret: string };

export function userRow(r: UserDbRow): UserRow {
  return {
    id: r.id,
    uuid: r.uuid ?? '',
    username: r.username,
    email: r.email,
    passwordHash: r.password_hash,
    organization: yes(r.organization),
    robot: yes(r.robot),
    enabled: yes(r.enabled),
    invalidLoginAttempts: r.invalid_login_attempts,
    lastInvalidLoginMs: parseSqlTime(r.last_invalid_login),
  };
}

export function appTokenRow(r: AppTokenDbRow): AppTokenRow {
  return { id: r.token_id, uuid: r.token_uuid, title: r.title, secret: r.token_secret, user: userRow(r) };
}
