/**
 * Every route record of the /api/v1 surface: one per Quay resource method
 * (the inventory's `handler`, e.g. `Repository.get`), gathered from the
 * resource files by area. The go side's router (quay/router.ts) joins them to
 * the API_V1 rows of owner-maps/routes.tsv.
 */
import type { ApiRouteRecord } from './http/surface.js';
import { USER_ROUTES } from './resources/users.js';
import { REPOSITORY_ROUTES } from './resources/repositories.js';
import { TAG_ROUTES } from './resources/tags.js';
import { MANIFEST_ROUTES } from './resources/manifests.js';
import { META_ROUTES } from './resources/meta.js';
import { ORG_ROUTES } from './resources/orgs.js';
import { ROBOT_ROUTES } from './resources/robots.js';
import { PERMISSION_ROUTES } from './resources/permissions.js';
import { LOGS_ROUTES } from './resources/logs.js';
import { SEARCH_ROUTES } from './resources/search.js';
import { NOTIFICATION_ROUTES } from './resources/notifications.js';
import { REPO_TOKEN_ROUTES } from './resources/repo-tokens.js';
import { APP_TOKEN_ROUTES } from './resources/app-tokens.js';
import { OAUTH_APP_ROUTES } from './resources/oauth-apps.js';
import { QUOTA_ROUTES } from './resources/quota.js';
import { SUPERUSER_ROUTES } from './resources/superuser.js';
import { BUILD_ROUTES } from './resources/builds.js';
import { FEATURE_OFF_ROUTES } from './resources/feature-off.js';
import { DELETE_ROUTES } from './resources/deletes.js';
import { LOG_EXPORT_ROUTES } from './resources/log-exports.js';

export const API_ROUTES: readonly ApiRouteRecord[] = [
  ...USER_ROUTES,
  ...REPOSITORY_ROUTES,
  ...TAG_ROUTES,
  ...MANIFEST_ROUTES,
  ...META_ROUTES,
  ...ORG_ROUTES,
  ...ROBOT_ROUTES,
  ...PERMISSION_ROUTES,
  ...LOGS_ROUTES,
  ...SEARCH_ROUTES,
  ...NOTIFICATION_ROUTES,
  ...REPO_TOKEN_ROUTES,
  ...APP_TOKEN_ROUTES,
  ...OAUTH_APP_ROUTES,
  ...QUOTA_ROUTES,
  ...SUPERUSER_ROUTES,
  ...BUILD_ROUTES,
  ...FEATURE_OFF_ROUTES,
  ...DELETE_ROUTES,
  ...LOG_EXPORT_ROUTES,
];
