/**
 * Users, organisations and robots (`"user"`) with every column the API
 * shows, their team memberships and roles, written once for both dialects.
 */
import { bool, type PortableSql } from '../model/portable-sql.js';

export interface Account {
  readonly id: number;
  readonly uuid: string | null;
  readonly username: string;
  readonly email: string;
  readonly passwordHash: string | null;
  readonly verified: boolean;
  readonly stripeId: string | null;
  readonly organization: boolean;
  readonly robot: boolean;
  readonly invoiceEmail: boolean;
  readonly invoiceEmailAddress: string | null;
  readonly removedTagExpirationS: number;
  readonly enabled: boolean;
  readonly company: string | null;
  readonly familyName: string | null;
  readonly givenName: string | null;
  readonly location: string | null;
  readonly maximumQueuedBuildsCount: number | null;
  /** Quay's naive-UTC text, or null. */
  readonly creationDate: string | null;
  readonly lastAccessed: string | null;
}

export const ACCOUNT_COLUMNS = `u.id, u.uuid, u.username, u.email, u.password_hash, u.verified, u.stripe_id, u.organization, u.robot,
  u.invoice_email, u.invoice_email_address, u.removed_tag_expiration_s, u.enabled, u.company, u.family_name, u.given_name,
  u.location, u.maximum_queued_builds_count, u.creation_date, u.last_accessed`;

export interface AccountDbRow {
  id: number;
  uuid: string | null;
  username: string;
  email: string;
  password_hash: string | null;
  verified: unknown;
  stripe_id: string | null;
  organization: unknown;
  robot: unknown;
  invoice_email: unknown;
  invoice_email_address: string | null;
  removed_tag_expiration_s: number;
  enabled: unknown;
  company: string | null;
  family_name: string | null;
  given_name: string | null;
  location: string | null;
  maximum_queued_builds_count: number | null;
  creation_date: string | null;
  last_accessed: string | null;
}

export function account(r: AccountDbRow): Account {
  return {
    id: r.id,
    uuid: r.uuid,
    username: r.username,
    email: r.email,
    passwordHash: r.password_hash,
    verified: bool(r.verified),
    stripeId: r.stripe_id,
    organization: bool(r.organization),
    robot: bool(r.robot),
    invoiceEmail: bool(r.invoice_email),
    invoiceEmailAddress: r.invoice_email_address,
    removedTagExpirationS: r.removed_tag_expiration_s,
    enabled: bool(r.enabled),
    company: r.company,
    familyName: r.family_name,
    givenName: r.given_name,
    location: r.location,
    maximumQueuedBuildsCount: r.maximum_queued_builds_count,
    creationDate: r.creation_date,
    lastAccessed: r.last_accessed,
  };
}

/** A team the user is a member of: its organisation, name and role (`teamrole.name`). */
export interface Membership {
  readonly orgId: number;
  readonly orgName: string;
  readonly teamId: number;
  readonly teamName: string;
  readonly role: 'admin' | 'creator' | 'member';
}

export class Accounts {
  constructor(private readonly sql: PortableSql) {}

  private async where(cond: string, params: Record<string, unknown>): Promise<Account | null> {
    const r = await this.sql.one<AccountDbRow>(`SELECT ${ACCOUNT_COLUMNS} FROM "user" u WHERE ${cond}`, params);
    return r ? account(r) : null;
  }

  byName(username: string): Promise<Account | null> {
    return this.where('u.username = @v', { v: username });
  }

  byUuid(uuid: string): Promise<Account | null> {
    return this.where('u.uuid = @v', { v: uuid });
  }

  byId(id: number): Promise<Account | null> {
    return this.where('u.id = @v', { v: id });
  }

  /** Quay's get_user_or_org: a user or organisation (not a robot) by name. */
  namespace(name: string): Promise<Account | null> {
    return this.where('u.username = @v AND u.robot = @no', { v: name, no: false });
  }

  /** The teams the user belongs to, optionally in one organisation only (Quay's get_org_wide_permissions). */
  memberships(userId: number, orgName?: string): Promise<Membership[]> {
    const byOrg = orgName === undefined ? '' : ' AND o.username = @org';
    return this.sql.all<Membership>(
      `SELECT o.id AS "orgId", o.username AS "orgName", t.id AS "teamId", t.name AS "teamName", tr.name AS role
       FROM teammember tm JOIN team t ON t.id = tm.team_id JOIN teamrole tr ON tr.id = t.role_id JOIN "user" o ON o.id = t.organization_id
       WHERE tm.user_id = @user${byOrg} ORDER BY t.id`,
      { user: userId, org: orgName ?? null },
    );
  }
}
