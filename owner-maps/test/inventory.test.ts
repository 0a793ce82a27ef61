// The project's inventory of Quay's routes, families and background programs
// (owner-maps/*.tsv) as loaded by owner-maps/inventory.ts. The TSV files are
// also read here independently, so a loader that drops, reorders or rewrites
// rows fails these tests.

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadInventory, parseRoutes } from '../index.js';
import { isSwitchboardError } from '../../switchboard/errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dataDir = path.resolve(here, '..');

/** Reads a TSV file as header-keyed records, without the loader's help. */
function readTsv(name: string): Record<string, string>[] {
  const lines = readFileSync(path.join(dataDir, name), 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const header = lines[0]!.split('\t');
  return lines.slice(1).map((l) => {
    const cells = l.split('\t');
    return Object.fromEntries(header.map((h, i) => [h, cells[i] ?? '']));
  });
}

const inv = loadInventory();
const rawRoutes = readTsv('routes.tsv');
const rawFamilies = readTsv('families.tsv');
const rawWorkers = readTsv('workers.tsv');

const FAMILIES = ['REGISTRY_V2', 'REGISTRY_V1', 'OAUTH2', 'OAUTH1', 'API_V1', 'WEBHOOKS', 'KEYS', 'SECSCAN', 'REALTIME', 'WELL_KNOWN', 'WEB', 'OTHER'];

t.test('435 route rows with contiguous, unique ids in file order', async (t) => {
  t.equal(rawRoutes.length, 435, 'routes.tsv has 435 data rows');
  t.equal(inv.routes.length, 435, 'loader keeps every row');
  const ids = inv.routes.map((r) => r.id);
  t.equal(new Set(ids).size, 435, 'ids are unique');
  const expected = Array.from({ length: 435 }, (_, i) => `ROUTE_${String(i + 1).padStart(4, '0')}`);
  t.same(ids, expected, 'ids run ROUTE_0001..ROUTE_0435 with no gap, in order');
  inv.routes.forEach((r, i) => {
    if (r.index !== i) t.fail(`${r.id}: index ${r.index} is not its position ${i}`);
    if (inv.byId.get(r.id) !== r) t.fail(`${r.id}: byId does not return the row`);
  });
  t.equal(inv.byId.size, 435, 'byId has every id');
  t.equal(inv.byId.get('ROUTE_0436'), undefined, 'no ROUTE_0436');
});

t.test('every row equals its TSV line', async (t) => {
  for (const [i, raw] of rawRoutes.entries()) {
    const r = inv.routes[i]!;
    const want = {
      id: raw.route_id,
      family: raw.family,
      method: raw.method,
      pattern: raw.pattern,
      capability: raw.capability,
      mutating: raw.mutating === 'yes',
      handler: raw.handler,
      source: raw.source,
      shadowedBy: raw.shadowed_by,
      notes: raw.notes,
    };
    const got = {
      id: r.id,
      family: r.family,
      method: r.method,
      pattern: r.pattern,
      capability: r.capability,
      mutating: r.mutating,
      handler: r.handler,
      source: r.source,
      shadowedBy: r.shadowedBy,
      notes: r.notes,
    };
    if (JSON.stringify(got) !== JSON.stringify(want)) t.same(got, want, `row ${i + 1}`);
    if (!['yes', 'no'].includes(raw.mutating ?? '')) t.fail(`${raw.route_id}: mutating is "${raw.mutating}"`);
  }
  t.pass('compared every row');
});

t.test('shadowed_by: exactly three rows Quay never reaches, each answered by its trailing-slash twin', async (t) => {
  const header = readFileSync(path.join(dataDir, 'routes.tsv'), 'utf8').split('\n')[0]!.split('\t');
  t.same(
    header,
    ['route_id', 'family', 'method', 'pattern', 'capability', 'mutating', 'handler', 'source', 'shadowed_by', 'notes'],
    'routes.tsv has a shadowed_by column before notes',
  );
  t.same(
    rawRoutes.filter((r) => r.shadowed_by !== '').map((r) => [r.route_id, r.shadowed_by]),
    [
      ['ROUTE_0403', 'ROUTE_0404'],
      ['ROUTE_0427', 'ROUTE_0428'],
      ['ROUTE_0431', 'ROUTE_0432'],
    ],
    'exactly three rows set shadowed_by in the TSV',
  );
  t.same(
    inv.routes.filter((r) => r.shadowedBy !== '').map((r) => [r.id, r.shadowedBy]),
    [
      ['ROUTE_0403', 'ROUTE_0404'],
      ['ROUTE_0427', 'ROUTE_0428'],
      ['ROUTE_0431', 'ROUTE_0432'],
    ],
    'and exactly those rows have shadowedBy when loaded',
  );
  t.equal(inv.routes.filter((r) => r.shadowedBy === '').length, 432, "the other 432 rows are reachable (shadowedBy '')");
  for (const r of inv.routes.filter((x) => x.shadowedBy !== '')) {
    const by = inv.byId.get(r.shadowedBy);
    t.ok(by, `${r.id}: ${r.shadowedBy} exists`);
    t.same(
      by && [by.method, by.pattern, by.family, by.capability, by.shadowedBy],
      [r.method, `${r.pattern}/`, r.family, r.capability, ''],
      `${r.id} ${r.method} ${r.pattern} is shadowed by the same rule with a trailing slash, itself reachable`,
    );
    t.ok(by!.index > r.index, `${r.shadowedBy} comes after ${r.id} in routes.tsv`);
  }
  t.same(
    inv.routes.filter((r) => r.shadowedBy !== '').map((r) => r.pattern),
    ['/organization/{path:path}', '/user/{path:path}', '/{repository:repopathredirect}'],
  );
});

t.test('(method, pattern) pairs are unique', async (t) => {
  const pairs = inv.routes.map((r) => `${r.method} ${r.pattern}`);
  t.equal(new Set(pairs).size, pairs.length);
});

t.test('12 families, all in families.tsv, in its order', async (t) => {
  t.same(inv.families, FAMILIES, 'the 12 families, in families.tsv order');
  const declared = new Set(rawFamilies.map((f) => f.family));
  t.equal(declared.size, 12, 'families.tsv declares 12 families');
  const used = new Set(inv.routes.map((r) => r.family));
  t.equal(used.size, 12, 'every family has at least one route');
  for (const f of used) t.ok(declared.has(f), `${f} is declared in families.tsv`);
});

t.test('family path prefixes', async (t) => {
  const byFamily = new Map<string, string[]>();
  for (const p of inv.familyPrefixes) byFamily.set(p.family, [...(byFamily.get(p.family) ?? []), p.prefix]);
  t.same(byFamily.get('REGISTRY_V2'), ['/v2']);
  t.same(byFamily.get('API_V1'), ['/api/v1']);
  t.same(byFamily.get('OTHER'), ['/userfiles', '/_storage_proxy_auth'], 'OTHER has two prefixes');
  t.equal(byFamily.get('WEB'), undefined, 'WEB has no prefix (empty prefixes are dropped)');
  t.notOk(
    inv.familyPrefixes.some((p) => p.prefix === ''),
    'no empty prefix',
  );

  const startsWith = (pattern: string, prefix: string): boolean => pattern.startsWith(prefix) && (pattern.length === prefix.length || pattern[prefix.length] === '/');
  for (const r of inv.routes) {
    const own = byFamily.get(r.family) ?? [];
    if (r.family !== 'WEB' && !own.some((p) => startsWith(r.pattern, p))) {
      t.fail(`${r.id} ${r.pattern} does not start with a ${r.family} prefix (${own.join(', ')})`);
    }
    const foreign = inv.familyPrefixes.filter((p) => p.family !== r.family && startsWith(r.pattern, p.prefix));
    if (foreign.length > 0) t.fail(`${r.id} ${r.pattern} (${r.family}) starts with ${foreign[0]!.family}'s prefix`);
  }
  t.pass("every non-WEB row starts with one of its family prefixes, and no row with another family's");
});

t.test('capabilities', async (t) => {
  const distinct = [...new Set(rawRoutes.map((r) => r.capability))].sort();
  // The brief for these tests said 79; routes.tsv (and DESIGN's quay-routes.tsv) have 78.
  t.equal(distinct.length, 78, '78 distinct capabilities in routes.tsv');
  t.same(inv.capabilities, distinct, 'inventory lists exactly the distinct capabilities, sorted');
  for (const c of ['V2_PULL', 'V2_PUSH', 'V2_UPLOAD', 'V2_DELETE', 'V2_AUTH', 'API_REPOSITORY_READ', 'API_REPO_MIRROR', 'WEB_UI']) {
    t.ok(inv.capabilities.includes(c), `${c} is a capability`);
  }
  for (const c of inv.capabilities) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(c)) t.fail(`capability ${c} is not UPPER_SNAKE`);
  }
});

t.test('worker programs and their switch keys', async (t) => {
  t.equal(inv.workers.length, rawWorkers.length, 'every workers.tsv row is loaded');
  t.equal(inv.workers.length, 29);
  t.equal(new Set(inv.workers.map((w) => w.program)).size, inv.workers.length, 'programs are unique');
  t.equal(new Set(inv.workers.map((w) => w.switchKey)).size, inv.workers.length, 'switch keys are unique');
  for (const w of inv.workers) {
    const want = 'WORKER_OWNER_' + w.program.toUpperCase().replace(/-/g, '_');
    if (w.switchKey !== want) t.fail(`${w.program}: ${w.switchKey} != ${want}`);
  }
  const gc = inv.workers.find((w) => w.program === 'gcworker');
  t.same(gc && { key: gc.switchKey, kind: gc.kind }, { key: 'WORKER_OWNER_GCWORKER', kind: 'gc' });
  const ip = inv.workers.find((w) => w.program === 'ip-resolver-update-worker');
  t.equal(ip?.switchKey, 'WORKER_OWNER_IP_RESOLVER_UPDATE_WORKER', 'dashes become underscores');
  t.equal(inv.workers.find((w) => w.program === 'builder')?.queue, 'dockerfilebuild');
});

t.test('spot checks against Quay facts', async (t) => {
  const row = (id: string) => {
    const r = inv.byId.get(id);
    return r && { family: r.family, method: r.method, pattern: r.pattern, capability: r.capability, mutating: r.mutating };
  };
  t.same(row('ROUTE_0001'), { family: 'REGISTRY_V2', method: 'GET', pattern: '/v2/', capability: 'V2_BASE', mutating: false });
  t.same(row('ROUTE_0003'), { family: 'REGISTRY_V2', method: 'GET', pattern: '/v2/auth', capability: 'V2_AUTH', mutating: false });
  t.same(row('ROUTE_0004'), {
    family: 'REGISTRY_V2',
    method: 'POST',
    pattern: '/v2/{repository:repopath}/blobs/uploads/',
    capability: 'V2_UPLOAD',
    mutating: true,
  });
  t.same(
    row('ROUTE_0011'),
    {
      family: 'REGISTRY_V2',
      method: 'HEAD',
      pattern: '/v2/{repository:repopath}/blobs/{digest:digest}',
      capability: 'V2_PULL',
      mutating: false,
    },
    'explicit HEAD row for blobs',
  );
  t.same(
    row('ROUTE_0016'),
    {
      family: 'REGISTRY_V2',
      method: 'GET',
      pattern: '/v2/{repository:repopath}/manifests/{manifest_ref:tag}',
      capability: 'V2_PULL',
      mutating: false,
    },
    'GET manifest by tag',
  );
  t.same(row('ROUTE_0017'), {
    family: 'REGISTRY_V2',
    method: 'PUT',
    pattern: '/v2/{repository:repopath}/manifests/{manifest_ref:tag}',
    capability: 'V2_PUSH',
    mutating: true,
  });
  t.same(row('ROUTE_0171'), {
    family: 'API_V1',
    method: 'GET',
    pattern: '/api/v1/repository/mirror/health',
    capability: 'API_REPO_MIRROR',
    mutating: false,
  });
  t.same(row('ROUTE_0294'), { family: 'API_V1', method: 'GET', pattern: '/api/v1/user/', capability: 'API_USER_READ', mutating: false });
  t.same(row('ROUTE_0435'), { family: 'OTHER', method: 'PUT', pattern: '/userfiles/{file_id:fileid}', capability: 'USERFILES', mutating: true });
  t.equal(inv.byId.get('ROUTE_0016')?.handler, 'fetch_manifest_by_tagname');
  t.match(inv.byId.get('ROUTE_0016')?.source, /^endpoints\/v2\/manifest\.py:\d+$/);
  const manifestHeads = inv.routes.filter((r) => r.method === 'HEAD' && r.pattern.includes('/manifests/'));
  t.same(manifestHeads, [], 'Quay registers no explicit HEAD row for manifests');
  t.same(
    inv.routes.filter((r) => r.method === 'HEAD').map((r) => r.id),
    ['ROUTE_0011', 'ROUTE_0029'],
    'the only HEAD rows',
  );
});

t.test('the inventory is frozen and loaded once', async (t) => {
  t.equal(loadInventory(), inv, 'second call returns the same object');
  t.ok(Object.isFrozen(inv), 'inventory frozen');
  t.ok(Object.isFrozen(inv.routes), 'routes frozen');
  t.ok(Object.isFrozen(inv.routes[0]), 'rows frozen');
  t.ok(Object.isFrozen(inv.workers[0]), 'worker rows frozen');
  t.throws(() => {
    (inv.routes as unknown as unknown[]).push({});
  }, TypeError);
});

t.test('parseRoutes rejects malformed files with SWB_INVENTORY_UNREADABLE naming the line', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'swb-inventory-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const header = 'route_id\tfamily\tmethod\tpattern\tcapability\tmutating\thandler\tsource\tnotes';
  const good = 'ROUTE_0001\tREGISTRY_V2\tGET\t/v2/\tV2_BASE\tno\th\ts\t';
  const cases: [string, string, RegExp][] = [
    ['bad id', 'ROUTE_1\tREGISTRY_V2\tGET\t/v2/x\tV2_BASE\tno\th\ts\t', /:3:/],
    ['duplicate id', 'ROUTE_0001\tREGISTRY_V2\tGET\t/v2/x\tV2_BASE\tno\th\ts\t', /:3:/],
    ['bad method', 'ROUTE_0002\tREGISTRY_V2\tFETCH\t/v2/x\tV2_BASE\tno\th\ts\t', /:3:/],
    ['bad family', 'ROUTE_0002\tregistry-v2\tGET\t/v2/x\tV2_BASE\tno\th\ts\t', /:3:/],
    ['bad capability', 'ROUTE_0002\tREGISTRY_V2\tGET\t/v2/x\tv2 pull\tno\th\ts\t', /:3:/],
  ];
  for (const [name, line, where] of cases) {
    const file = path.join(dir, `${name.replace(/ /g, '-')}.tsv`);
    writeFileSync(file, `${header}\n${good}\n${line}\n`);
    try {
      parseRoutes(file);
      t.fail(`${name}: accepted`);
    } catch (err) {
      t.ok(isSwitchboardError(err), `${name}: a SwitchboardError`);
      t.equal((err as { code?: string }).code, 'SWB_INVENTORY_UNREADABLE', `${name}: code`);
      t.match((err as Error).message, where, `${name}: names line 3`);
    }
  }
  const ok = path.join(dir, 'ok.tsv');
  writeFileSync(ok, `${header}\n${good}\n\n`);
  const rows = parseRoutes(ok);
  t.equal(rows.length, 1, 'blank lines are ignored');
  t.same(
    { id: rows[0]!.id, index: rows[0]!.index, mutating: rows[0]!.mutating, shadowedBy: rows[0]!.shadowedBy },
    { id: 'ROUTE_0001', index: 0, mutating: false, shadowedBy: '' },
    'a file without a shadowed_by column: every row is reachable',
  );
  const withColumn = path.join(dir, 'shadowed.tsv');
  writeFileSync(
    withColumn,
    'route_id\tfamily\tmethod\tpattern\tcapability\tmutating\thandler\tsource\tshadowed_by\tnotes\n' +
      'ROUTE_0001\tWEB\tGET\t/x/{p:path}\tWEB_UI\tno\th\ts\tROUTE_0002\tn\n' +
      'ROUTE_0002\tWEB\tGET\t/x/{p:path}/\tWEB_UI\tno\th\ts\t\t\n',
  );
  t.same(
    parseRoutes(withColumn).map((r) => [r.id, r.shadowedBy, r.notes]),
    [
      ['ROUTE_0001', 'ROUTE_0002', 'n'],
      ['ROUTE_0002', '', ''],
    ],
  );
});
