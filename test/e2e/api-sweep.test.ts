/**
 * Every GET row of /api/v1 (the inventory's 129 API_V1 GET rows), one
 * concrete request each (test/lib/api-sweep.ts), as every identity of the
 * contract harness: real Quay and the go side on one database must give the
 * same status, content type and normalized JSON in the same key order.
 * Known differences are listed with their reason and must still occur. The
 * deeper cases of each area are in the api-contract-*.test.ts files. On
 * SQLite here; api-sweep-postgres.test.ts runs the same on PostgreSQL.
 */
import t from 'tap';
import { checkParity, startApiPair, type KnownDifference, EVERYONE } from '../lib/api-contract.js';
import { sweepRows } from '../lib/api-sweep.js';

t.setTimeout(900_000);

const database = process.env.API_CONTRACT_DB === 'postgres' ? 'postgres' : 'sqlite';
const pair = await startApiPair(t, { database });
const rows = await sweepRows(pair.quay.database);

const IDENTITIES = EVERYONE;

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

t.test('every GET row, every identity', async (t) => {
  for (const row of rows) {
    if (row.outside) {
      t.comment(`${row.route} ${row.handler} not compared: ${row.outside}`);
      continue;
    }
    await t.test(`${row.route} ${row.capability} ${row.handler}`, async (t) => {
      await checkParity(t, pair, [row.path], IDENTITIES, {
        known: WEB_404_ROUTES.has(row.route)
          ? [WEB_404]
          : row.route === 'ROUTE_0256'
            ? [CHANGELOG]
            : row.route === 'ROUTE_0060'
              ? [DISCOVERY]
              : ['ROUTE_0302', 'ROUTE_0304', 'ROUTE_0306'].includes(row.route)
                ? [SCOPE_SET]
                : [],
      });
    });
  }
});
