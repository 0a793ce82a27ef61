/**
 * SQL written once for both dialects: `@name` parameters, Quay's
 * lower-case table names (`"user"` quoted), portable SQL only. The API's
 * queries (dal/portable/) go through it, so each is written, reviewed
 * and tested once instead of once per dialect.
 *
 * What differs between the dialects is evened out here or by the caller:
 * a boolean parameter is bound as 1/0 on SQLite; a boolean column comes back
 * as 0/1 from SQLite and true/false from PostgreSQL (read it with `bool`);
 * timestamps come back as Quay's naive-UTC text from both (PG_TYPES keeps
 * PostgreSQL's as text); int8 as a number from both.
 */
export type SqlParams = Readonly<Record<string, unknown>>;

export interface PortableSql {
  readonly dialect: 'sqlite' | 'postgresql';
  /** Every row of a SELECT. */
  all<R>(sql: string, params?: SqlParams): Promise<R[]>;
  /** The first row, or null. */
  one<R>(sql: string, params?: SqlParams): Promise<R | null>;
  /** An INSERT, UPDATE or DELETE: the number of rows it changed. */
  run(sql: string, params?: SqlParams): Promise<number>;
}

/** A boolean column as either dialect returns it. */
export function bool(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 't';
}

/** `LIKE` pattern text with `\`, `%` and `_` escaped (use with `ESCAPE '\'`). */
export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
