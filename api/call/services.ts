/** What every /api/v1 handler works with: settings, the data tier, storage, the page-token codec and the clock. */
import type { Dal } from '../../dal/index.js';
import type { PortableSql } from '../../dal/model/portable-sql.js';
import type { Accounts } from '../../dal/portable/accounts.js';
import type { Grants } from '../../dal/portable/grants.js';
import type { Logger } from '../../lib/log.js';
import type { StorageDriver } from '../../storage/driver.js';
import type { PageTokens } from '../wire/page-tokens.js';
import type { ApiSettings } from '../wire/settings.js';
import type { RouteRow } from '../../owner-maps/index.js';

export interface ApiServices {
  readonly settings: ApiSettings;
  readonly dal: Dal;
  /** Portable SQL on the same database (dal.sql). */
  readonly sql: PortableSql;
  readonly accounts: Accounts;
  readonly grants: Grants;
  readonly storage: StorageDriver;
  readonly pages: PageTokens;
  readonly log: Logger;
  readonly now: () => number;
  /** The config file the settings came from (null: none). */
  readonly configFile: string | null;
  /** Whether Quay registers the row's resource under this config (its show_if/hide_if): rows it does not are absent. */
  readonly registered: (row: RouteRow) => boolean;
}

/** Quay's show_if/hide_if hide a whole resource class (every method): a record's predicate holds for its class. */
export function registration(
  records: readonly { readonly quayHandler: string; readonly registered?: (s: ApiSettings) => boolean }[],
  settings: ApiSettings,
): (row: RouteRow) => boolean {
  const byClass = new Map(records.filter((r) => r.registered).map((r) => [r.quayHandler.split('.')[0]!, r.registered!]));
  return (row) => byClass.get(row.handler.split('.')[0]!)?.(settings) ?? true;
}
