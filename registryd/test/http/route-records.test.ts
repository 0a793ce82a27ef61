/**
 * The /v2 surface's route records cover exactly the inventory's REGISTRY_V2
 * rows, one record per row, matched by Quay's endpoint function name; a
 * missing, extra or doubled record is refused when the routes compile.
 */
import t from 'tap';
import { loadInventory, type RouteRow } from '../../../owner-maps/index.js';
import { compileRoutes, FAMILY, V2_ROUTES } from '../../http/routes.js';

const rows = loadInventory().routes;
const family = rows.filter((r) => r.family === FAMILY);

t.test('one record per registry-v2 row, by Quay handler', async (t) => {
  const c = compileRoutes(V2_ROUTES, { librarySupport: true });
  t.same([...c.byRouteId.keys()].sort(), family.map((r) => r.id).sort(), 'every row of the family is served');
  t.equal(V2_ROUTES.length, family.length, 'and no record is left over');
  for (const r of family) t.equal(c.byRouteId.get(r.id)?.quayHandler, r.handler, `${r.id} ${r.method} ${r.pattern}`);
});

t.test('every write route needs write, every read of a repository needs read', async (t) => {
  const c = compileRoutes(V2_ROUTES, { librarySupport: true });
  for (const r of family) {
    const rec = c.byRouteId.get(r.id)!;
    if (!r.pattern.includes('{repository')) {
      t.equal(rec.need, undefined, `${r.id}: no repository, no permission`);
      continue;
    }
    t.equal(rec.need, r.mutating || r.capability === 'V2_UPLOAD' ? 'write' : 'read', `${r.id} ${r.method} ${r.pattern}`);
  }
});

t.test('a record without a row, a row without a record, or a doubled record is refused', async (t) => {
  t.throws(
    () => compileRoutes([...V2_ROUTES, { quayHandler: 'no_such_endpoint', handle: async () => undefined }], { librarySupport: true }),
    /no_such_endpoint names no REGISTRY_V2 row/,
  );
  t.throws(
    () =>
      compileRoutes(
        V2_ROUTES.filter((r) => r.quayHandler !== 'download_blob'),
        { librarySupport: true },
      ),
    /download_blob\): no route record serves it/,
  );
  t.throws(() => compileRoutes([...V2_ROUTES, V2_ROUTES[0]!], { librarySupport: true }), /same Quay handler/);
  const twin: RouteRow = { ...family.find((r) => r.handler === 'list_all_tags')!, id: 'ROUTE_9999', method: 'HEAD' };
  t.throws(() => compileRoutes(V2_ROUTES, { librarySupport: true, rows: [...rows, twin] }), /list_all_tags matches two inventory rows/);
});
