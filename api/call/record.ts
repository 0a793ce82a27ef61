/** A route record of the /api/v1 surface: Quay's resource method, its handler, and when Quay registers it. */
import type { RouteRecordBase } from '../../owner-maps/index.js';
import type { ApiCall } from './context.js';
import type { ApiSettings } from '../wire/settings.js';

export type ApiHandler = (c: ApiCall) => Promise<unknown>;

export interface ApiRouteRecord extends RouteRecordBase {
  readonly handle: ApiHandler;
  /** @anon_allowed: served to anonymous callers even with FEATURE_ANONYMOUS_ACCESS off. */
  readonly anonAllowed?: boolean;
  /** show_if / hide_if: whether Quay registers the resource under the config (default always). */
  readonly registered?: (s: ApiSettings) => boolean;
}
