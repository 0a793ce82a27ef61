/**
 * The /v2 surface's route records cover exactly the inventory's REGISTRY_V2
 * rows, one record per row, matched by Quay's endpoint function name; the
 * go side's router (quay/router.ts) refuses a missing, extra or doubled record
 * when it compiles, and serves every mounted surface from one route table.
 */
import t from 'tap';
import http from 'node:http';
import { loadInventory, type RouteRow } from '../../../owner-maps/index.js';
import { FAMILY, V2_ROUTES, servedRouteIds, type RouteRecord } from '../../http/routes.js';
import { compileRouter, createRouter, type Surface } from '../../../quay/router.js';
import { request } from '../../../test/lib/proc.js';

const rows = loadInventory().routes;
const family = rows.filter((r) => r.family === FAMILY);
const v2 = (records: readonly RouteRecord[] = V2_ROUTES): Surface<RouteRecord> => ({ family: FAMILY, prefix: '/v2', records, serve: () => undefined, unmatched: () => undefined });

t.test('one record per registry-v2 row, by Quay handler', async (t) => {
  const c = compileRouter([v2()], { librarySupport: true });
  t.same([...c.byRouteId.keys()].sort(), family.map((r) => r.id).sort(), 'every row of the family is served');
  t.same(servedRouteIds(), family.map((r) => r.id).sort());
  t.equal(V2_ROUTES.length, family.length, 'and no record is left over');
  for (const r of family) t.equal(c.byRouteId.get(r.id)?.record?.quayHandler, r.handler, `${r.id} ${r.method} ${r.pattern}`);
});

t.test('every write route needs write, every read of a repository needs read', async (t) => {
  const byHandler = new Map(V2_ROUTES.map((r) => [r.quayHandler, r]));
  for (const r of family) {
    const rec = byHandler.get(r.handler)!;
    if (!r.pattern.includes('{repository')) {
      t.equal(rec.need, undefined, `${r.id}: no repository, no permission`);
      continue;
    }
    t.equal(rec.need, r.mutating || r.capability === 'V2_UPLOAD' ? 'write' : 'read', `${r.id} ${r.method} ${r.pattern}`);
  }
});

t.test('a record without a row, a row without a record, or a doubled record is refused', async (t) => {
  t.throws(
    () => compileRouter([v2([...V2_ROUTES, { quayHandler: 'no_such_endpoint', handle: async () => undefined }])], { librarySupport: true }),
    /no_such_endpoint names no REGISTRY_V2 row/,
  );
  t.throws(() => compileRouter([v2(V2_ROUTES.filter((r) => r.quayHandler !== 'download_blob'))], { librarySupport: true }), /download_blob\): no route record serves it/);
  t.throws(() => compileRouter([v2([...V2_ROUTES, V2_ROUTES[0]!])], { librarySupport: true }), /same Quay handler/);
  const twin: RouteRow = { ...family.find((r) => r.handler === 'list_all_tags')!, id: 'ROUTE_9999', method: 'HEAD' };
  t.throws(() => compileRouter([v2()], { librarySupport: true, rows: [...rows, twin] }), /list_all_tags matches more inventory rows than its 1 rule/);
});

t.test('one route table for every surface: each row goes to its own surface, unmatched paths by prefix', async (t) => {
  const seen: string[] = [];
  const answer = (res: http.ServerResponse, text: string): void => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(text);
  };
  const registry: Surface<RouteRecord> = {
    family: FAMILY,
    prefix: '/v2',
    records: V2_ROUTES,
    serve: (_req, res, m, rec) => {
      seen.push(`v2 ${rec.quayHandler}`);
      answer(res, m.route.id);
    },
    unmatched: (_req, res, allowed) => {
      seen.push(`v2 unmatched ${allowed.join(',')}`);
      answer(res, 'v2 404');
    },
  };
  // A made-up second surface over the API family's discovery row, as /api/v1 will mount.
  const discovery = rows.find((r) => r.family === 'API_V1' && r.method === 'GET' && r.pattern === '/api/v1/discovery');
  if (!discovery) throw new Error('no GET /api/v1/discovery row in the inventory');
  const onlyDiscovery = rows.filter((r) => r.family !== 'API_V1' || r.id === discovery.id);
  const api: Surface = {
    family: 'API_V1',
    prefix: '/api/',
    records: [{ quayHandler: discovery.handler }],
    serve: (_req, res, _m, rec) => {
      seen.push(`api ${rec.quayHandler}`);
      answer(res, 'api');
    },
    unmatched: (_req, res) => {
      seen.push('api unmatched');
      answer(res, 'api 404');
    },
  };
  t.ok(compileRouter([registry, api], { librarySupport: true, rows: onlyDiscovery }).table, 'both families in one table');
  const server = http.createServer(createRouter({ surfaces: [registry, api], librarySupport: true, readiness: '{"ok":true}', rows: onlyDiscovery }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  t.equal((await request(port, { path: '/v2/acme/app/tags/list' })).status, 200);
  t.equal((await request(port, { path: '/.well-known/switchboard' })).body.toString(), '{"ok":true}', 'the readiness document, outside every family');
  const slash = await request(port, { path: '/v2' });
  t.equal(slash.status, 308, "Werkzeug's slash redirect, in the router");
  t.equal(slash.headers.location, '/v2/');
  await request(port, { method: 'DELETE', path: '/v2/acme/app/tags/list' });
  t.equal((await request(port, { path: '/api/v1/discovery' })).body.toString(), 'api');
  await request(port, { path: '/api/v1/nothing-here' });
  await request(port, { path: '/elsewhere' });
  t.same(
    seen,
    ['v2 list_all_tags', 'v2 unmatched GET,HEAD', `api ${discovery.handler}`, 'api unmatched', 'v2 unmatched '],
    'rows to their surface; a 405 with the allowed methods; unmatched paths to the surface of their prefix, the rest to the first',
  );
});

t.test('rows a surface leaves absent fall through as without them; rows without a record go to unbuilt', async (t) => {
  const api = rows.filter((r) => r.family === 'API_V1');
  const getRepo = api.find((r) => r.handler === 'Repository.get')!;
  const mirror = api.find((r) => r.handler === 'RepoMirrorResource.get')!;
  const seen: string[] = [];
  const surface: Surface = {
    family: 'API_V1',
    prefix: '/api/',
    records: [{ quayHandler: getRepo.handler }, { quayHandler: mirror.handler }],
    absent: (row) => row.handler.startsWith('RepoMirrorResource.'),
    serve: (_req, res, m, rec) => {
      seen.push(`serve ${rec.quayHandler} ${JSON.stringify(m.params)}`);
      res.end();
    },
    unbuilt: (_req, res, m) => {
      seen.push(`unbuilt ${m.route.handler}`);
      res.end();
    },
    unmatched: (_req, res) => res.end(),
  };
  const c = compileRouter([surface], { librarySupport: true, rows: api });
  t.equal(c.byRouteId.get(getRepo.id)?.record?.quayHandler, 'Repository.get');
  t.notOk(c.byRouteId.has(mirror.id), 'an absent row is not in the table');
  t.equal(c.byRouteId.get(api.find((r) => r.handler === 'Repository.put')!.id)?.record, null, 'a row without a record is unbuilt');
  t.throws(
    () => compileRouter([{ ...surface, unbuilt: undefined }], { librarySupport: true, rows: api }),
    /no route record serves it/,
    'without unbuilt, every row needs a record',
  );
  const server = http.createServer(createRouter({ surfaces: [surface], librarySupport: true, rows: api }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  await request(port, { path: '/api/v1/repository/devtable/simple/mirror' });
  await request(port, { method: 'PUT', path: '/api/v1/repository/devtable/simple', body: '{}' });
  t.same(seen, ['serve Repository.get {"repository":"devtable/simple/mirror"}', 'unbuilt Repository.put'], "the absent row's path is Repository.get's, as in Quay without it");
});
