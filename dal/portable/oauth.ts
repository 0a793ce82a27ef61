/**
 * OAuth access tokens (`oauthaccesstoken`) as Quay stores them: the first 20
 * characters of a token in `token_name`, the bcrypt hash of the rest in
 * `token_code` (data/model/oauth.py validate_access_token).
 */
import type { PortableSql } from '../model/portable-sql.js';
import { sqlTime } from '../model/time.js';

export interface OAuthTokenRow {
  readonly id: number;
  readonly uuid: string;
  readonly scope: string;
  /** bcrypt hash of the secret part; null for a token without one. */
  readonly tokenCode: string | null;
  /** Naive-UTC text. */
  readonly expiresAt: string;
  readonly lastAccessed: string | null;
  readonly authorizedUserId: number;
  readonly applicationId: number;
}

/** Quay's OAUTH_TOKEN_LAST_ACCESSED_UPDATE_THRESHOLD_S default. */
export const TOKEN_TOUCH_THRESHOLD_MS = 60_000;

export class OAuthTokens {
  constructor(private readonly sql: PortableSql) {}

  byName(tokenName: string): Promise<OAuthTokenRow | null> {
    return this.sql.one<OAuthTokenRow>(
      `SELECT t.id, t.uuid, t.scope, t.token_code AS "tokenCode", t.expires_at AS "expiresAt", t.last_accessed AS "lastAccessed",
        t.authorized_user_id AS "authorizedUserId", t.application_id AS "applicationId"
       FROM oauthaccesstoken t WHERE t.token_name = @name`,
      { name: tokenName },
    );
  }

  /** `last_accessed` = now, unless it is under the threshold old (Quay debounces the write). */
  touch(id: number, nowMs: number): Promise<number> {
    return this.sql.run('UPDATE oauthaccesstoken SET last_accessed = @now WHERE id = @id AND (last_accessed IS NULL OR last_accessed < @before)', {
      id,
      now: sqlTime(nowMs),
      before: sqlTime(nowMs - TOKEN_TOUCH_THRESHOLD_MS),
    });
  }
}
