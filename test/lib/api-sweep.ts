/**
 * One concrete request for every GET row of the inventory's API_V1 family,
 * on Quay's initdb test data (random ids and uuids read from the database the
 * pair shares), for the sweep contract test (test/e2e/api-sweep.test.ts) and
 * `npm run fidelity`'s API section. Rows whose answer depends on the outside
 * world are marked: 0246 makes real Quay call GitHub (no network here: it
 * drops the connection), 0302 deletes notifications (a GET that writes: run last).
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { loadInventory } from '../../owner-maps/index.js';
import type { KnownDifference } from './api-contract.js';

export interface SweepRow {
  readonly route: string;
  readonly capability: string;
  readonly handler: string;
  readonly path: string;
  /** Real Quay reaches an outside service for it: not compared, said so. */
  readonly outside?: string;
}

/** One value from the pair's database (SQLite file or postgres:// URL); `?` placeholders. */
export async function sqlValue(database: string, text: string, params: unknown[] = []): Promise<string> {
  let row: Record<string, unknown> | undefined;
  if (database.startsWith('postgres')) {
    const c = new pg.Client({ connectionString: database });
    await c.connect();
    try {
      let i = 0;
      row = (
        await c.query(
          text.replace(/\?/g, () => `$${++i}`),
          params,
        )
      ).rows[0];
    } finally {
      await c.end();
    }
  } else {
    const db = new Database(database, { readonly: true });
    try {
      row = db.prepare(text).get(...params) as Record<string, unknown> | undefined;
    } finally {
      db.close();
    }
  }
  const v = row ? Object.values(row)[0] : undefined;
  return v === undefined || v === null ? 'none' : String(v);
}

export async function sweepRows(database: string): Promise<SweepRow[]> {
  const q = (text: string, params: unknown[] = []): Promise<string> => sqlValue(database, text, params);
  const R = '/api/v1/repository/devtable/simple';
  const B = '/api/v1/repository/devtable/building';
  const repoOf = `SELECT r.id FROM repository r JOIN "user" n ON n.id = r.namespace_user_id WHERE n.username = ? AND r.name = ?`;
  const digest = await q(`SELECT m.digest FROM manifest m WHERE m.repository_id = (${repoOf}) ORDER BY m.id`, ['devtable', 'simple']);
  const label = await q(`SELECT l.uuid FROM label l JOIN manifestlabel ml ON ml.label_id = l.id JOIN manifest m ON m.id = ml.manifest_id WHERE m.digest = ? ORDER BY l.id`, [
    digest,
  ]);
  const trigger = await q(`SELECT t.uuid FROM repositorybuildtrigger t WHERE t.repository_id = (${repoOf}) ORDER BY t.id`, ['devtable', 'building']);
  const build = await q(`SELECT b.uuid FROM repositorybuild b WHERE b.repository_id = (${repoOf}) ORDER BY b.id`, ['devtable', 'building']);
  const notification = await q(`SELECT n.uuid FROM repositorynotification n WHERE n.repository_id = (${repoOf}) ORDER BY n.id`, ['devtable', 'simple']);
  const userOf = `SELECT id FROM "user" WHERE username = ?`;
  const appToken = await q(`SELECT uuid FROM appspecificauthtoken WHERE user_id = (${userOf}) ORDER BY id`, ['devtable']);
  const authorization = await q(`SELECT uuid FROM oauthaccesstoken WHERE authorized_user_id = (${userOf}) ORDER BY id`, ['devtable']);
  const userNote = await q(`SELECT uuid FROM notification WHERE target_id = (${userOf}) ORDER BY id`, ['devtable']);
  const orgQuota = await q(`SELECT id FROM userorganizationquota WHERE namespace_id = (${userOf}) ORDER BY id`, ['buynlarge']);
  const orgLimit = await q(`SELECT id FROM quotalimits WHERE quota_id = ? ORDER BY id`, [orgQuota]);
  const kid = await q('SELECT kid FROM servicekey ORDER BY id');
  const paths: Record<string, string> = {
    ROUTE_0057: '/api/v1/app/deadbeef',
    ROUTE_0060: '/api/v1/discovery',
    ROUTE_0062: '/api/v1/entities/dev',
    ROUTE_0063: '/api/v1/error/invalid_token',
    ROUTE_0066: '/api/v1/find/all?query=simple',
    ROUTE_0067: '/api/v1/find/repositories?query=simple',
    ROUTE_0069: '/api/v1/messages',
    ROUTE_0073: '/api/v1/organization/buynlarge',
    ROUTE_0075: '/api/v1/organization/buynlarge/aggregatelogs',
    ROUTE_0076: '/api/v1/organization/buynlarge/applications',
    ROUTE_0079: '/api/v1/organization/buynlarge/applications/deadbeef',
    ROUTE_0082: '/api/v1/organization/buynlarge/applications/deadbeef/tokens',
    ROUTE_0085: '/api/v1/organization/buynlarge/autoprunepolicy/',
    ROUTE_0088: '/api/v1/organization/buynlarge/autoprunepolicy/someuuid',
    ROUTE_0090: '/api/v1/organization/buynlarge/card',
    ROUTE_0092: '/api/v1/organization/buynlarge/collaborators',
    ROUTE_0094: '/api/v1/organization/buynlarge/immutabilitypolicy/',
    ROUTE_0097: '/api/v1/organization/buynlarge/immutabilitypolicy/someuuid',
    ROUTE_0100: '/api/v1/organization/buynlarge/invoice/fields',
    ROUTE_0102: '/api/v1/organization/buynlarge/invoices',
    ROUTE_0103: '/api/v1/organization/buynlarge/logs',
    ROUTE_0104: '/api/v1/organization/buynlarge/marketplace',
    ROUTE_0108: '/api/v1/organization/buynlarge/members',
    ROUTE_0110: '/api/v1/organization/buynlarge/members/devtable',
    ROUTE_0112: '/api/v1/organization/buynlarge/mirror',
    ROUTE_0115: '/api/v1/organization/buynlarge/mirror/repositories',
    ROUTE_0119: '/api/v1/organization/buynlarge/notifications',
    ROUTE_0122: '/api/v1/organization/buynlarge/notifications/someuuid',
    ROUTE_0125: '/api/v1/organization/buynlarge/plan',
    ROUTE_0128: '/api/v1/organization/buynlarge/private',
    ROUTE_0129: '/api/v1/organization/buynlarge/prototypes',
    ROUTE_0134: '/api/v1/organization/buynlarge/proxycache',
    ROUTE_0136: '/api/v1/organization/buynlarge/quota',
    ROUTE_0139: `/api/v1/organization/buynlarge/quota/${orgQuota}`,
    ROUTE_0141: `/api/v1/organization/buynlarge/quota/${orgQuota}/limit`,
    ROUTE_0144: `/api/v1/organization/buynlarge/quota/${orgQuota}/limit/${orgLimit}`,
    ROUTE_0146: '/api/v1/organization/buynlarge/robots',
    ROUTE_0148: '/api/v1/organization/buynlarge/robots/coolrobot',
    ROUTE_0151: '/api/v1/organization/buynlarge/robots/coolrobot/federation',
    ROUTE_0153: '/api/v1/organization/buynlarge/robots/coolrobot/permissions',
    ROUTE_0159: '/api/v1/organization/buynlarge/team/owners/members',
    ROUTE_0162: '/api/v1/organization/buynlarge/team/readers/permissions',
    ROUTE_0166: '/api/v1/plans/',
    ROUTE_0168: '/api/v1/registry/capabilities',
    ROUTE_0169: '/api/v1/repository?namespace=devtable',
    ROUTE_0171: '/api/v1/repository/mirror/health',
    ROUTE_0173: R,
    ROUTE_0175: `${R}/aggregatelogs`,
    ROUTE_0176: `${R}/authorizedemail/jschorr@devtable.com`,
    ROUTE_0178: `${R}/autoprunepolicy/`,
    ROUTE_0181: `${R}/autoprunepolicy/someuuid`,
    ROUTE_0183: `${B}/build/`,
    ROUTE_0186: `${B}/build/${build}`,
    ROUTE_0187: `${B}/build/${build}/logs`,
    ROUTE_0188: `${B}/build/${build}/status`,
    ROUTE_0193: `${R}/immutabilitypolicy/`,
    ROUTE_0196: `${R}/immutabilitypolicy/someuuid`,
    ROUTE_0198: `${R}/logs`,
    ROUTE_0199: `${R}/manifest/${digest}`,
    ROUTE_0200: `${R}/manifest/${digest}/labels`,
    ROUTE_0203: `${R}/manifest/${digest}/labels/${label}`,
    ROUTE_0204: `${R}/manifest/${digest}/pull_statistics`,
    ROUTE_0205: `${R}/manifest/${digest}/security`,
    ROUTE_0206: `${R}/mirror`,
    ROUTE_0211: `${R}/notification/`,
    ROUTE_0214: `${R}/notification/${notification}`,
    ROUTE_0217: `${R}/permissions/team/`,
    ROUTE_0219: '/api/v1/repository/buynlarge/orgrepo/permissions/team/readers',
    ROUTE_0221: `${R}/permissions/user/`,
    ROUTE_0223: `${R}/permissions/user/devtable`,
    ROUTE_0225: `${R}/permissions/user/devtable/transitive`,
    ROUTE_0226: `${R}/signatures`,
    ROUTE_0227: `${R}/tag/`,
    ROUTE_0231: `${R}/tag/latest/pull_statistics`,
    ROUTE_0233: `${R}/tokens/`,
    ROUTE_0236: `${R}/tokens/somecode`,
    ROUTE_0238: `${B}/trigger/`,
    ROUTE_0240: `${B}/trigger/${trigger}`,
    ROUTE_0244: `${B}/trigger/${trigger}/builds`,
    ROUTE_0246: `${B}/trigger/${trigger}/namespaces`,
    ROUTE_0253: '/api/v1/superuser/aggregatelogs',
    ROUTE_0255: '/api/v1/superuser/apptokens',
    ROUTE_0256: '/api/v1/superuser/changelog/',
    ROUTE_0257: '/api/v1/superuser/config',
    ROUTE_0258: '/api/v1/superuser/keys',
    ROUTE_0261: `/api/v1/superuser/keys/${kid}`,
    ROUTE_0263: '/api/v1/superuser/logs',
    ROUTE_0264: '/api/v1/superuser/mirror/health',
    ROUTE_0265: '/api/v1/superuser/organization/buynlarge/quota',
    ROUTE_0269: '/api/v1/superuser/organizations/',
    ROUTE_0272: '/api/v1/superuser/registrysize/',
    ROUTE_0274: '/api/v1/superuser/registrystatus',
    ROUTE_0277: '/api/v1/superuser/users/',
    ROUTE_0279: '/api/v1/superuser/users/randomuser/quota',
    ROUTE_0284: '/api/v1/superuser/users/freshuser',
    ROUTE_0286: `/api/v1/superuser/${build}/build`,
    ROUTE_0287: `/api/v1/superuser/${build}/logs`,
    ROUTE_0288: `/api/v1/superuser/${build}/logs/archive`,
    ROUTE_0289: `/api/v1/superuser/${build}/status`,
    ROUTE_0294: '/api/v1/user/',
    ROUTE_0297: '/api/v1/user/aggregatelogs',
    ROUTE_0298: '/api/v1/user/apptoken',
    ROUTE_0301: `/api/v1/user/apptoken/${appToken}`,
    ROUTE_0302: '/api/v1/user/assignedauthorization',
    ROUTE_0304: '/api/v1/user/authorizations',
    ROUTE_0306: `/api/v1/user/authorizations/${authorization}`,
    ROUTE_0307: '/api/v1/user/autoprunepolicy/',
    ROUTE_0310: '/api/v1/user/autoprunepolicy/someuuid',
    ROUTE_0312: '/api/v1/user/card',
    ROUTE_0319: '/api/v1/user/invoice/fields',
    ROUTE_0321: '/api/v1/user/invoices',
    ROUTE_0322: '/api/v1/user/logs',
    ROUTE_0323: '/api/v1/user/marketplace',
    ROUTE_0324: '/api/v1/user/namespacenotifications',
    ROUTE_0327: '/api/v1/user/namespacenotifications/someuuid',
    ROUTE_0330: '/api/v1/user/notifications',
    ROUTE_0331: `/api/v1/user/notifications/${userNote}`,
    ROUTE_0333: '/api/v1/user/plan',
    ROUTE_0336: '/api/v1/user/private',
    ROUTE_0337: '/api/v1/user/quota',
    ROUTE_0338: `/api/v1/user/quota/${orgQuota}`,
    ROUTE_0339: `/api/v1/user/quota/${orgQuota}/limit`,
    ROUTE_0340: `/api/v1/user/quota/${orgQuota}/limit/${orgLimit}`,
    ROUTE_0341: '/api/v1/user/robots',
    ROUTE_0343: '/api/v1/user/robots/dtrobot',
    ROUTE_0346: '/api/v1/user/robots/dtrobot/federation',
    ROUTE_0348: '/api/v1/user/robots/dtrobot/permissions',
    ROUTE_0350: '/api/v1/user/starred',
    ROUTE_0353: '/api/v1/users/devtable',
  };
  const rows = loadInventory().routes.filter((r) => r.family === 'API_V1' && r.method === 'GET');
  const missing = rows.filter((r) => !paths[r.id]).map((r) => r.id);
  if (missing.length > 0) throw new Error(`api-sweep: no request for ${missing.join(', ')}`);
  const out = rows.map((r) => ({
    route: r.id,
    capability: r.capability,
    handler: r.handler,
    path: paths[r.id]!,
    ...(r.id === 'ROUTE_0246' ? { outside: 'real Quay asks the trigger’s git service (GitHub) for its namespaces; with no network it drops the connection' } : {}),
  }));
  // 0302 deletes the caller's assigned_authorization notifications: last, so the rows before it see them.
  return [...out.filter((r) => r.route !== 'ROUTE_0302'), ...out.filter((r) => r.route === 'ROUTE_0302')];
}

/** Rows Quay does not register in this config (a FEATURE_ off) whose path ends in `/`: Quay's web UI answers them. */
const WEB_404_ROUTES = new Set(['ROUTE_0085', 'ROUTE_0094', 'ROUTE_0166', 'ROUTE_0178', 'ROUTE_0193', 'ROUTE_0307']);

/** The known difference of those rows, with why, and the check that it still occurs. */
const WEB_404: KnownDifference = {
  path: /./,
  reason: "a feature-off row ending in `/`: Quay renders its web UI's index page with 404, the go side (no web UI) a short page of its own",
  occurs: (py, go) =>
    py.status === 404 && go.status === 404 && py.contentType === go.contentType && String(py.body).includes('ng-app="quay"') && !String(go.body).includes('ng-app'),
};

/** GET /api/v1/discovery: Quay's document is its docstrings and JSON schemas (its own text); the go side's lists the paths in its own words (api/resources/meta.ts). */
const DISCOVERY: KnownDifference = {
  path: /./,
  reason: "Quay's API description is built from its docstrings and schemas, which the go side does not copy",
  occurs: (py, go) =>
    py.status === 200 &&
    go.status === 200 &&
    (go.body as { swagger?: string }).swagger === '2.0' &&
    JSON.stringify((py.body as { info?: unknown }).info) !== JSON.stringify((go.body as { info?: unknown }).info),
};

/**
 * GET /api/v1/user/authorizations: Quay lists each token's scopes from a Python set, whose
 * order follows the process's string hashing (it changes with every start of Quay); the
 * lists are compared as sets.
 */
const SCOPE_SET: KnownDifference = {
  path: /./,
  reason: "the order of a token's scopes follows Python's per-process string hashing",
  occurs: (py, go) => {
    const sorted = (b: unknown): string =>
      JSON.stringify(b, (k, v: unknown) => (k === 'scopes' && Array.isArray(v) ? [...v].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))) : v));
    return py.status === go.status && sorted(py.body) === sorted(go.body);
  },
};

/**
 * GET /api/v1/superuser/changelog/: Quay reads CHANGELOG.md from its code directory (here
 * ../shared/quay-python/src); the go side looks beside the installation its config file is
 * in (<config dir>/../../CHANGELOG.md, Quay's container layout), which in this fixture is the
 * pair's state directory, without the file: Quay's 500 for a missing file. A caller the
 * superuser checks refuse gets the same refusal from both (so either holds).
 */
const CHANGELOG: KnownDifference = {
  path: /./,
  reason: "CHANGELOG.md is read from Quay's code directory, which the go side does not have",
  occurs: (py, go) => (py.status === 200 && go.status === 500) || (py.status === go.status && JSON.stringify(py.body) === JSON.stringify(go.body)),
};

/** The known differences of a row of the sweep (api-sweep.test.ts and npm run fidelity), none for most. */
export function sweepKnown(route: string): KnownDifference[] {
  if (WEB_404_ROUTES.has(route)) return [WEB_404];
  if (route === 'ROUTE_0256') return [CHANGELOG];
  if (route === 'ROUTE_0060') return [DISCOVERY];
  if (['ROUTE_0302', 'ROUTE_0304', 'ROUTE_0306'].includes(route)) return [SCOPE_SET];
  return [];
}
