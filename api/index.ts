/**
 * Quay's /api/v1 on the go side: `createApi()` builds the surface the go
 * side's router mounts beside /v2 (quay/runtime.ts), on the shared data tier.
 * Layers, bottom up: wire/ (Quay's error shapes, dates, page tokens,
 * avatars, settings) → auth/ (session cookies, OAuth tokens, the caller and
 * its permissions) → resources/ (one file per area: the handlers and their
 * Quay views) → http/ (the surface: Quay's request pipeline, params, JSON).
 */
import type { Dal } from '../dal/index.js';
import { Accounts } from '../dal/portable/accounts.js';
import { Grants } from '../dal/portable/grants.js';
import { OAuthTokens } from '../dal/portable/oauth.js';
import type { Logger } from '../lib/log.js';
import type { Surface } from '../owner-maps/index.js';
import type { StorageDriver } from '../storage/driver.js';
import { ApiAuthenticator } from './auth/authenticate.js';
import { createApiSurface, type ApiRouteRecord } from './http/surface.js';
import { registration, type ApiServices } from './call/services.js';
import { API_ROUTES } from './routes.js';
import { PageTokens } from './wire/page-tokens.js';
import { apiSettings } from './wire/settings.js';
import { apiClaims, type ApiClaim } from './claims.js';

export { API_ROUTES } from './routes.js';
export { FAMILY as API_FAMILY, type ApiRouteRecord } from './http/surface.js';
export { apiSettings, type ApiSettings } from './wire/settings.js';
export { apiClaims, NOT_AT_PARITY, type ApiClaim } from './claims.js';

export interface ApiOptions {
  readonly dal: Dal;
  readonly storage: StorageDriver;
  /** Quay's config keys as config.yaml has them (Quay's defaults fill the rest). */
  readonly quayConfig: Readonly<Record<string, unknown>>;
  /** The config file the keys came from, if any. */
  readonly configFile?: string | null;
  readonly log: Logger;
  readonly now?: () => number;
  /** The records to serve (default every one). */
  readonly records?: readonly ApiRouteRecord[];
}

export interface Api {
  readonly surface: Surface<ApiRouteRecord>;
  readonly services: ApiServices;
  /** Every API capability, claimed or not under this config, with the reason (claims.ts). */
  readonly claims: readonly ApiClaim[];
}

export function createApi(o: ApiOptions): Api {
  const settings = apiSettings(o.quayConfig);
  const now = o.now ?? Date.now;
  const accounts = new Accounts(o.dal.sql);
  const grants = new Grants(o.dal.sql);
  const records = o.records ?? API_ROUTES;
  const services: ApiServices = {
    registered: registration(records, settings),
    configFile: o.configFile ?? null,
    settings,
    dal: o.dal,
    sql: o.dal.sql,
    accounts,
    grants,
    storage: o.storage,
    pages: new PageTokens(settings.pageTokenKey),
    log: o.log,
    now,
  };
  const auth = new ApiAuthenticator({ settings, accounts, grants }, new OAuthTokens(o.dal.sql), now);
  return { surface: createApiSurface({ svc: services, auth, records }), services, claims: apiClaims(records, settings) };
}
