/**
 * The auth half of the metadata contract: namespaces, credentials, teams,
 * permissions and service keys, on Quay's tables (quay-schema.md §1, §2, §9).
 * Kept apart from MetadataStore so the /v2 data path does not grow with it;
 * one adapter class per database implements both.
 */
import type { PermissionArea, ServiceKeyArea, TeamArea, UserArea } from './areas.js';

/** `role.name`: a repository role. */
export type RepoRole = 'read' | 'write' | 'admin';
/** `teamrole.name`: a team's role in its organisation. */
export type TeamRole = 'admin' | 'creator' | 'member';

export const ROLE_RANK: Readonly<Record<RepoRole, number>> = { read: 1, write: 2, admin: 3 };
/** Team roles, weakest first (a user's best team role in an organisation wins). */
export const TEAM_RANK: Readonly<Record<TeamRole, number>> = { member: 1, creator: 2, admin: 3 };

/** Quay's LAST_ACCESSED_UPDATE_THRESHOLD_S (60 s): a `last_accessed` younger than this is not rewritten. */
export const LAST_ACCESSED_THRESHOLD_MS = 60_000;

/** A `"user"` row: a user, an organisation or a robot. */
export interface UserRow {
  readonly id: number;
  readonly uuid: string;
  readonly username: string;
  readonly email: string;
  readonly passwordHash: string | null;
  readonly organization: boolean;
  readonly robot: boolean;
  readonly enabled: boolean;
  readonly invalidLoginAttempts: number;
  readonly lastInvalidLoginMs: number;
}

export interface AppTokenRow {
  readonly id: number;
  readonly uuid: string;
  readonly title: string;
  /** `token_secret`, still encrypted. */
  readonly secret: string;
  readonly user: UserRow;
}

export interface NewUser {
  readonly username: string;
  readonly email: string;
  /** bcrypt hash; null for organisations and robots. */
  readonly passwordHash: string | null;
  readonly organization?: boolean;
  readonly robot?: boolean;
  readonly verified?: boolean;
}

export interface ServiceKeyRow {
  readonly kid: string;
  readonly service: string;
  readonly jwk: Record<string, unknown>;
  readonly expirationMs: number | null;
  readonly approved: boolean;
}

export type { Page } from './store.js';

/** Everything on the auth tables (areas.ts has the operations, by area). */
export interface AuthStore extends UserArea, TeamArea, PermissionArea, ServiceKeyArea {}
