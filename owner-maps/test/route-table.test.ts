// The compiled route table (switchboard/core/route-table.ts) against Quay's
// 435 routes, with request paths generated here from each row's pattern —
// independently of the table's own samplePath().
//
// Quay facts the expectations rest on (Werkzeug 3 router, Quay's converters in
// path_converters.py): literal segments are tried before parameters; a
// `repopath` may contain slashes and, with FEATURE_LIBRARY_SUPPORT, be one
// segment; `apirepopath` always needs two or more; HEAD uses the GET row
// unless an explicit HEAD row exists; a path ending where a row continues
// with "/" matches that row with a redirect (slashRedirect).

import t from 'tap';
import type { Test } from 'tap';

import { loadInventory } from '../index.js';
import type { RouteRow } from '../index.js';
import { MAX_CACHED_PATH, RouteTable, samplePath } from '../route-table.js';
import type { RouteMatch } from '../route-table.js';
import { parsePattern, testOneSegment } from '../route-pattern.js';
import { isSwitchboardError } from '../../switchboard/errors.js';

const inv = loadInventory();
const table = RouteTable.compile(inv.routes, { librarySupport: true });
const noLibrary = RouteTable.compile(inv.routes, { librarySupport: false });

// ---------------------------------------------------------------------------
// Request generator (our own reading of the pattern syntax)
// ---------------------------------------------------------------------------

type GenPart = { static: string } | { name: string; kind: string };

function parse(pattern: string): GenPart[] {
  return pattern
    .slice(1)
    .split('/')
    .map((seg) => {
      const m = /^\{(\w+)(?::(\w+))?\}$/.exec(seg);
      return m ? { name: m[1]!, kind: m[2] ?? 'segment' } : { static: seg };
    });
}

const UUID = 'f47ac10b-58cc-4372-a567-0e02b2c3d479';
const SHA256 = 'sha256:' + '0123456789abcdef'.repeat(4);
const SHA512 = 'sha512:' + 'fedcba9876543210'.repeat(8);

/**
 * Values per parameter kind, chosen so that no value equals a literal that
 * some other row has at the same place (those collisions are asserted
 * separately below). Variant i uses value i modulo the list length.
 */
const VALUES: Record<string, readonly string[]> = {
  segment: ['acme', UUID, 'x_1.y-2', 'Zed~42'],
  digest: [SHA256, SHA512, 'sha256:' + 'ABCDEF0123456789'.repeat(4), 'tarsum.v1+sha256:abc123'],
  tag: ['latest', 'v1.2.3-rc_1', '_private', 't'.repeat(128)],
  fileid: ['abc-DEF-123', UUID],
  repopath: ['acme/app', 'acme/team/app', 'ubuntu', 'a/b/c/d/e/f'],
  apirepopath: ['acme/app', 'acme/team/app', 'a/b/c/d/e/f'],
  v1createrepopath: ['acme/app', 'acme/team/app', 'ubuntu'],
  // One segment would be `/{namespace}` (asserted separately).
  repopathredirect: ['acme/app', 'acme/team/app'],
  path: ['acme', 'acme/app', 'acme/app/settings'],
};
const REPO_KINDS = new Set(['repopath', 'apirepopath', 'v1createrepopath', 'repopathredirect']);

interface Generated {
  readonly row: RouteRow;
  readonly method: string;
  readonly path: string;
  readonly params: Record<string, string>;
}

function variantsFor(row: RouteRow): Generated[] {
  const parts = parse(row.pattern);
  const kinds = parts.flatMap((p) => ('kind' in p ? [p.kind] : []));
  const n = kinds.length === 0 ? 1 : Math.max(...kinds.map((k) => VALUES[k]!.length));
  const out: Generated[] = [];
  for (let v = 0; v < n; v++) {
    const params: Record<string, string> = {};
    const segs = parts.map((p) => {
      if ('static' in p) return p.static;
      const list = VALUES[p.kind]!;
      const value = list[v % list.length]!;
      params[p.name] = value;
      return value;
    });
    const path = '/' + segs.join('/');
    out.push({ row, method: row.method, path, params });
    // A query string never matters.
    out.push({ row, method: row.method, path: `${path}?n=10&last=a%2Fb&x=/v2/`, params });
    // Percent-encoded slashes inside a repository are decoded before routing.
    if (parts.some((p) => 'kind' in p && REPO_KINDS.has(p.kind) && params[p.name]!.includes('/'))) {
      const encoded = '/' + parts.map((p) => ('static' in p ? p.static : params[p.name]!.replace(/\//g, '%2F'))).join('/');
      out.push({ row, method: row.method, path: encoded, params });
    }
  }
  return out;
}

const generated = inv.routes.flatMap(variantsFor);

function headTarget(row: RouteRow): RouteRow {
  return inv.routes.find((r) => r.method === 'HEAD' && r.pattern === row.pattern) ?? row;
}

function describe(m: RouteMatch | null): string {
  return m ? `${m.route.id} ${JSON.stringify(m.params)}${m.slashRedirect ? ' (slash redirect)' : ''}` : 'null';
}

function expectMatch(t: Test, tbl: RouteTable, method: string, path: string, want: { id: string; params?: Record<string, string>; slash?: boolean } | null, msg?: string): void {
  const m = tbl.match(method, path);
  const label = msg ?? `${method} ${path.length > 120 ? path.slice(0, 120) + '…' : path}`;
  if (want === null) {
    t.equal(m, null, `${label} → no row (got ${describe(m)})`);
    return;
  }
  t.same(m && { id: m.route.id, params: { ...m.params }, slash: m.slashRedirect }, { id: want.id, params: want.params ?? {}, slash: want.slash ?? false }, `${label} → ${want.id}`);
}

// ---------------------------------------------------------------------------
// Every row, every variant
// ---------------------------------------------------------------------------

t.test('generator covers every row with several variants', async (t) => {
  const covered = new Set(generated.map((g) => g.row.id));
  t.equal(covered.size, 435, 'every row has generated requests');
  const withParams = inv.routes.filter((r) => r.pattern.includes('{'));
  for (const r of withParams) {
    const count = generated.filter((g) => g.row === r).length;
    if (count < 4) t.fail(`${r.id} has only ${count} generated requests`);
  }
  t.ok(generated.length > 1500, `${generated.length} generated requests`);
});

/**
 * The row a request for `row` resolves to: itself, or — for the three rows Quay's
 * router never reaches (owner-maps/routes.tsv `shadowed_by`) — the trailing-slash
 * row that answers them with a redirect.
 */
function expectedRow(row: RouteRow): { row: RouteRow; slash: boolean } {
  if (!row.shadowedBy) return { row, slash: false };
  return { row: inv.byId.get(row.shadowedBy)!, slash: true };
}

t.test('exactly three rows are recorded as never reached by Quay, each shadowed by its slashed twin', async (t) => {
  const shadowed = inv.routes.filter((r) => r.shadowedBy).map((r) => [r.id, r.shadowedBy]);
  t.same(shadowed, [
    ['ROUTE_0403', 'ROUTE_0404'],
    ['ROUTE_0427', 'ROUTE_0428'],
    ['ROUTE_0431', 'ROUTE_0432'],
  ]);
  for (const [id, by] of shadowed) t.equal(inv.byId.get(by!)!.pattern, `${inv.byId.get(id!)!.pattern}/`);
});

t.test('KEY: every generated request matches its own row with the expected params', async (t) => {
  let failures = 0;
  const own = new Set<string>();
  const shadowedTo = new Set<string>();
  for (const g of generated) {
    const m = table.match(g.method, g.path);
    const want = expectedRow(g.row);
    const ok = m !== null && m.route === want.row && m.slashRedirect === want.slash && JSON.stringify(sortKeys(m.params)) === JSON.stringify(sortKeys(g.params));
    if (!ok) {
      failures++;
      t.fail(`${g.row.id} ${g.method} ${g.path}: expected ${want.row.id} ${JSON.stringify(g.params)}${want.slash ? ' (slash redirect)' : ''}, got ${describe(m)}`);
    } else if (m.route === g.row) own.add(g.row.id);
    else shadowedTo.add(`${g.row.id}→${m.route.id}`);
  }
  t.equal(own.size, 432, 'the 432 reachable rows each resolve to themselves');
  t.same(
    [...shadowedTo].sort(),
    ['ROUTE_0403→ROUTE_0404', 'ROUTE_0427→ROUTE_0428', 'ROUTE_0431→ROUTE_0432'],
    'the 3 shadowed rows resolve to their shadowing row, with slashRedirect',
  );
  t.equal(failures, 0, `${generated.length} requests, all on their own row (or, for the 3 shadowed rows, the row Quay answers them with)`);
});

t.test('HEAD on every GET row resolves to the GET row, or to the explicit HEAD row', async (t) => {
  let failures = 0;
  let checked = 0;
  for (const g of generated) {
    if (g.method !== 'GET') continue;
    checked++;
    const exp = expectedRow(g.row);
    const want = headTarget(exp.row);
    const m = table.match('HEAD', g.path);
    if (!m || m.route !== want || m.slashRedirect !== exp.slash) {
      failures++;
      t.fail(`HEAD ${g.path}: expected ${want.id}, got ${describe(m)}`);
    }
  }
  t.equal(failures, 0, `${checked} HEAD requests`);
});

t.test('a trailing-slash row is matched without its slash, flagged slashRedirect', async (t) => {
  // Only rows whose slash-less form is not itself a row (for the same method) and
  // whose last parameter is a single segment (see the Werkzeug notes below).
  let checked = 0;
  for (const r of inv.routes) {
    if (!r.pattern.endsWith('/') || r.pattern === '/') continue;
    const bare = r.pattern.slice(0, -1);
    if (inv.routes.some((o) => o.pattern === bare && (o.method === r.method || (r.method === 'GET' && o.method === 'HEAD')))) continue;
    if (parse(bare).some((p) => 'kind' in p && p.kind !== 'segment')) continue;
    for (const g of variantsFor(r).filter((x) => !x.path.includes('?') && !x.path.includes('%'))) {
      checked++;
      expectMatch(t, table, r.method, g.path.slice(0, -1), { id: r.id, params: g.params, slash: true });
    }
  }
  t.ok(checked >= 40, `${checked} slash-redirect requests`);
});

function sortKeys(o: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

// ---------------------------------------------------------------------------
// Precedence and semantics
// ---------------------------------------------------------------------------

t.test('a literal segment beats a parameter', async (t) => {
  expectMatch(t, table, 'GET', '/api/v1/repository/mirror/health', { id: 'ROUTE_0171' });
  expectMatch(t, table, 'GET', '/api/v1/repository/mirror/healthz', { id: 'ROUTE_0173', params: { repository: 'mirror/healthz' } });
  expectMatch(t, table, 'GET', '/api/v1/repository/mirror/health/logs', { id: 'ROUTE_0198', params: { repository: 'mirror/health' } });
  expectMatch(
    t,
    table,
    'DELETE',
    '/api/v1/repository/mirror/health',
    { id: 'ROUTE_0172', params: { repository: 'mirror/health' } },
    'DELETE on the literal path falls back to the repository row (no DELETE on 0171)',
  );
  expectMatch(t, table, 'GET', '/v2/auth', { id: 'ROUTE_0003' });
  expectMatch(t, table, 'GET', '/v2/_catalog', { id: 'ROUTE_0002' });
  expectMatch(t, table, 'GET', '/v2/auth/manifests/latest', { id: 'ROUTE_0016', params: { repository: 'auth', manifest_ref: 'latest' } }, 'a library repository named auth');
  expectMatch(t, table, 'GET', '/v2/_catalog/tags/list', { id: 'ROUTE_0019', params: { repository: '_catalog' } });
  expectMatch(t, table, 'GET', '/api/v1/user/robots', { id: 'ROUTE_0341' });
  expectMatch(t, table, 'GET', '/api/v1/entities/link', { id: 'ROUTE_0062', params: { prefix: 'link' } });
  expectMatch(t, table, 'POST', '/api/v1/entities/link/alice', { id: 'ROUTE_0061', params: { username: 'alice' } });
  expectMatch(t, table, 'GET', '/oauth2/github/callback', { id: 'ROUTE_0049', params: { service_id: 'github' } }, 'the github literal dead-ends, backtracks to {service_id}');
  expectMatch(t, table, 'GET', '/oauth2/github/callback/trigger/acme/app', { id: 'ROUTE_0047', params: { repository: 'acme/app' } });
});

t.test('one-segment repository under /{repository:repopathredirect} is /{namespace}', async (t) => {
  expectMatch(t, table, 'GET', '/acme', { id: 'ROUTE_0429', params: { namespace: 'acme' } });
  expectMatch(t, table, 'GET', '/acme/', { id: 'ROUTE_0430', params: { namespace: 'acme' } });
  expectMatch(t, table, 'GET', '/acme/app/', { id: 'ROUTE_0432', params: { repository: 'acme/app' } });
  expectMatch(t, table, 'HEAD', '/acme', { id: 'ROUTE_0429', params: { namespace: 'acme' } });
  expectMatch(t, table, 'POST', '/acme', null);
});

t.test("repopathredirect refuses Quay's reserved prefixes", async (t) => {
  for (const p of ['/v2/acme', '/v1/acme', '/cnr/acme', '/push/acme', '/repository/acme', '/github/callback/trigger/acme']) {
    const m = table.match('GET', p);
    t.notOk(m?.route.id === 'ROUTE_0431' || m?.route.id === 'ROUTE_0432', `${p} is not a web repository redirect`);
  }
  expectMatch(t, table, 'GET', '/v2/acme', null);
  expectMatch(t, table, 'GET', '/v1/acme', null);
  expectMatch(t, table, 'GET', '/push/acme', null);
  expectMatch(t, table, 'GET', '/github/callback/trigger/acme', null);
  expectMatch(t, table, 'GET', '/v3/acme', { id: 'ROUTE_0432', params: { repository: 'v3/acme' }, slash: true });
  expectMatch(t, table, 'GET', '/github/callback', { id: 'ROUTE_0432', params: { repository: 'github/callback' }, slash: true }, 'reserved only with more path after the prefix');
  expectMatch(
    t,
    table,
    'GET',
    '/api/v1/repository/single',
    { id: 'ROUTE_0432', params: { repository: 'api/v1/repository/single' }, slash: true },
    'apirepopath needs two segments; Werkzeug falls back to the web redirect',
  );
  expectMatch(t, table, 'GET', '/userfiles/abc_DEF', { id: 'ROUTE_0432', params: { repository: 'userfiles/abc_DEF' }, slash: true }, 'underscore is not a file id character');
});

t.test('HEAD uses the GET row unless an explicit HEAD row exists', async (t) => {
  expectMatch(t, table, 'HEAD', `/v2/acme/app/manifests/${SHA256}`, { id: 'ROUTE_0013', params: { repository: 'acme/app', manifest_ref: SHA256 } });
  expectMatch(t, table, 'HEAD', '/v2/acme/app/manifests/latest', { id: 'ROUTE_0016', params: { repository: 'acme/app', manifest_ref: 'latest' } });
  expectMatch(t, table, 'HEAD', `/v2/acme/app/blobs/${SHA256}`, { id: 'ROUTE_0011', params: { repository: 'acme/app', digest: SHA256 } });
  expectMatch(t, table, 'GET', `/v2/acme/app/blobs/${SHA256}`, { id: 'ROUTE_0010', params: { repository: 'acme/app', digest: SHA256 } });
  expectMatch(t, table, 'HEAD', '/v1/images/abc/layer', { id: 'ROUTE_0029', params: { image_id: 'abc' } });
  expectMatch(t, table, 'HEAD', '/v1/images/abc/json', { id: 'ROUTE_0026', params: { image_id: 'abc' } });
  expectMatch(t, table, 'HEAD', '/v2/', { id: 'ROUTE_0001' });
  expectMatch(t, table, 'HEAD', '/v2/acme/app/blobs/uploads/', null, 'HEAD does not fall back to POST');
});

t.test("the digest converter accepts exactly what Quay's digest pattern fully matches", async (t) => {
  // Quay's DIGEST_PATTERN, matched against the whole segment (Werkzeug's converters full-match).
  const quay = /^[A-Za-z0-9_+.-]+:[A-Fa-f0-9]+$/;
  const alphabet = ['a', 'F', 'g', '0', '9', ':', '_', '+', '.', '-', '~', ' ', 'é', '\u0100', '\u3a3a', '\u0161', 'Z', '/'];
  let seed = 7;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const cases = ['sha256:' + 'ab'.repeat(32), 'sha256:', ':ab', 'a:b', 'a::b', 'sha256:abc:', 'sha256:AbC9', 'tarsum.v1+sha256:0f', ''];
  for (let i = 0; i < 5000; i++) {
    let s = '';
    const len = rand(12);
    for (let j = 0; j < len; j++) s += alphabet[rand(alphabet.length)];
    cases.push(s);
  }
  let disagreements = 0;
  for (const seg of cases) {
    // Embedded between other text, as in a path: the check must stop at the segment's bounds.
    const path = `x:${seg}:9`;
    const got = testOneSegment('digest', path, 2, 2 + seg.length);
    if (got !== quay.test(seg) && disagreements++ < 5) t.fail(`digest ${JSON.stringify(seg)}: ours ${got}, Quay's ${!got}`);
  }
  t.equal(disagreements, 0, `${cases.length} segments judged as Quay's pattern judges them`);
});

t.test('digest vs tag vs plain segment', async (t) => {
  expectMatch(t, table, 'GET', `/v2/acme/app/manifests/${SHA512}`, { id: 'ROUTE_0013', params: { repository: 'acme/app', manifest_ref: SHA512 } });
  expectMatch(t, table, 'PUT', `/v2/acme/app/manifests/${SHA256}`, { id: 'ROUTE_0014', params: { repository: 'acme/app', manifest_ref: SHA256 } });
  expectMatch(t, table, 'PUT', '/v2/acme/app/manifests/v1', { id: 'ROUTE_0017', params: { repository: 'acme/app', manifest_ref: 'v1' } });
  expectMatch(t, table, 'DELETE', `/v2/acme/app/manifests/${SHA256}`, { id: 'ROUTE_0012', params: { repository: 'acme/app', manifest_ref: SHA256 } });
  expectMatch(t, table, 'DELETE', '/v2/acme/app/manifests/v1', { id: 'ROUTE_0015', params: { repository: 'acme/app', manifest_ref: 'v1' } });
  expectMatch(t, table, 'GET', '/v2/acme/app/manifests/' + 't'.repeat(128), { id: 'ROUTE_0016', params: { repository: 'acme/app', manifest_ref: 't'.repeat(128) } });
  expectMatch(t, table, 'GET', '/v2/acme/app/manifests/' + 't'.repeat(129), null, 'a 129-character tag matches nothing');
  expectMatch(t, table, 'GET', '/v2/acme/app/manifests/-leading-dash', null, 'a tag starts with a word character');
  expectMatch(t, table, 'GET', '/v2/acme/app/manifests/sha256:xyz', null, 'not hex, not a tag (colon)');
  expectMatch(
    t,
    table,
    'GET',
    '/v2/acme/app/manifests/caf%C3%A9',
    { id: 'ROUTE_0016', params: { repository: 'acme/app', manifest_ref: 'café' } },
    'tags are Unicode \\w like Python',
  );
  expectMatch(t, table, 'GET', '/v2/acme/app/blobs/not-a-digest', null, 'GET blob needs a digest');
  expectMatch(
    t,
    table,
    'DELETE',
    '/v2/acme/app/blobs/not-a-digest',
    { id: 'ROUTE_0009', params: { repository: 'acme/app', digest: 'not-a-digest' } },
    "DELETE blob takes any segment (Quay's rule has no converter)",
  );
  expectMatch(t, table, 'GET', `/v2/acme/app/referrers/${SHA256}`, { id: 'ROUTE_0018', params: { repository: 'acme/app', manifest_ref: SHA256 } });
  expectMatch(t, table, 'GET', '/v2/acme/app/referrers/latest', null, 'referrers need a digest');
  expectMatch(t, table, 'GET', '/userfiles/abc-DEF', { id: 'ROUTE_0434', params: { file_id: 'abc-DEF' } });
});

t.test('query strings are ignored; percent-encoding is decoded', async (t) => {
  expectMatch(t, table, 'GET', '/v2/acme/app/tags/list?n=5&last=zzz', { id: 'ROUTE_0019', params: { repository: 'acme/app' } });
  expectMatch(t, table, 'GET', '/v2/acme/app/manifests/latest?x=/../../v2/_catalog', { id: 'ROUTE_0016', params: { repository: 'acme/app', manifest_ref: 'latest' } });
  expectMatch(t, table, 'GET', '/v2/?', { id: 'ROUTE_0001' });
  expectMatch(t, table, 'GET', '/v2/org%2Frepo/manifests/latest', { id: 'ROUTE_0016', params: { repository: 'org/repo', manifest_ref: 'latest' } });
  expectMatch(t, table, 'GET', '/v2/org%2frepo/manifests/latest', { id: 'ROUTE_0016', params: { repository: 'org/repo', manifest_ref: 'latest' } }, 'lower-case escapes too');
  expectMatch(t, table, 'GET', '/v2/acme/app/manifests%2Flatest', { id: 'ROUTE_0016', params: { repository: 'acme/app', manifest_ref: 'latest' } });
  expectMatch(t, table, 'GET', '/api/v1/repository/mirror%2Fhealth', { id: 'ROUTE_0171' }, 'decoding happens before the literal match');
  expectMatch(t, table, 'GET', '/v2/acme/app/manifests/v1%3Fx', null, 'an encoded ? stays in the segment (not a query)');
  expectMatch(
    t,
    table,
    'GET',
    '/v2/%ZZ/manifests/latest',
    { id: 'ROUTE_0016', params: { repository: '%ZZ', manifest_ref: 'latest' } },
    'a malformed escape does not crash; it stays as it is',
  );
});

t.test('a path that is not valid percent-encoding: valid escapes decoded, bad UTF-8 → U+FFFD, bad escapes kept', async (t) => {
  expectMatch(t, table, 'GET', '/v2/acme%2Fapp%ZZ/tags/list', { id: 'ROUTE_0019', params: { repository: 'acme/app%ZZ' } }, '%2F is still a slash next to an invalid %ZZ');
  expectMatch(t, table, 'GET', '/v2/acme/caf%C3%A9%ZZ/tags/list', { id: 'ROUTE_0019', params: { repository: 'acme/café%ZZ' } }, 'a multi-byte UTF-8 escape is decoded');
  expectMatch(t, table, 'GET', '/v2/acme/a%FFb/tags/list', { id: 'ROUTE_0019', params: { repository: 'acme/a\uFFFDb' } }, 'invalid UTF-8 becomes U+FFFD');
  expectMatch(t, table, 'GET', '/v2/acme/a%FF%ZZ/tags/list', { id: 'ROUTE_0019', params: { repository: 'acme/a\uFFFD%ZZ' } });
  expectMatch(t, table, 'GET', '/v2/acme/app%2/tags/list', { id: 'ROUTE_0019', params: { repository: 'acme/app%2' } }, 'a truncated escape stays');
  expectMatch(t, table, 'GET', '/v2/acme/app/manifests/caf%C3%A9%ZZ', null, '"café%ZZ" is not a tag');
  expectMatch(
    t,
    table,
    'GET',
    '/v2/acme%2F%2Fapp/tags/list',
    { id: 'ROUTE_0019', params: { repository: 'acme/app' }, slash: true },
    'encoded slashes that make an empty segment are merged like //',
  );
});

t.test('nested repositories with segments that look like route literals', async (t) => {
  expectMatch(t, table, 'GET', '/v2/org/manifests/repo/manifests/latest', { id: 'ROUTE_0016', params: { repository: 'org/manifests/repo', manifest_ref: 'latest' } });
  expectMatch(t, table, 'GET', '/v2/a/tags/list/tags/list', { id: 'ROUTE_0019', params: { repository: 'a/tags/list' } });
  expectMatch(t, table, 'POST', '/v2/org/blobs/repo/blobs/uploads/', { id: 'ROUTE_0004', params: { repository: 'org/blobs/repo' } });
  expectMatch(t, table, 'PATCH', `/v2/org/blobs/uploads/x/blobs/uploads/${UUID}`, { id: 'ROUTE_0007', params: { repository: 'org/blobs/uploads/x', upload_uuid: UUID } });
  expectMatch(
    t,
    table,
    'GET',
    `/v2/org/blobs/uploads/${SHA256}`,
    { id: 'ROUTE_0006', params: { repository: 'org', upload_uuid: SHA256 } },
    'uploads/<uuid> (two literals) wins over blobs/<digest> with repository org/blobs',
  );
  expectMatch(t, table, 'GET', `/api/v1/repository/org/tag/x/tag/`, { id: 'ROUTE_0227', params: { repository: 'org/tag/x' } });
  expectMatch(t, table, 'GET', '/repository/acme/app/status', { id: 'ROUTE_0414', params: { repository: 'acme/app' } });
  expectMatch(t, table, 'GET', '/repository/ubuntu/status', { id: 'ROUTE_0414', params: { repository: 'ubuntu' } });
  expectMatch(t, table, 'GET', '/repository/acme/app', { id: 'ROUTE_0412', params: { path: 'acme/app' } });
  expectMatch(t, table, 'GET', '/repository/acme/app/trigger/t1', { id: 'ROUTE_0413', params: { path: 'acme/app', trigger: 't1' } });
});

t.test('uploads: the trailing slash matters', async (t) => {
  expectMatch(t, table, 'POST', '/v2/a/b/blobs/uploads/', { id: 'ROUTE_0004', params: { repository: 'a/b' } });
  expectMatch(t, table, 'POST', '/v2/ubuntu/blobs/uploads/', { id: 'ROUTE_0004', params: { repository: 'ubuntu' } });
  expectMatch(t, table, 'POST', '/v2/a/b/blobs/uploads/?mount=sha256:x&from=c/d', { id: 'ROUTE_0004', params: { repository: 'a/b' } });
  expectMatch(t, table, 'GET', '/v2/a/b/blobs/uploads/', null, 'no GET on the upload collection');
  t.same(table.allowedMethods('/v2/a/b/blobs/uploads/'), ['POST']);
  for (const [method, id] of [
    ['GET', 'ROUTE_0006'],
    ['PATCH', 'ROUTE_0007'],
    ['PUT', 'ROUTE_0008'],
    ['DELETE', 'ROUTE_0005'],
  ] as const) {
    expectMatch(t, table, method, `/v2/a/b/blobs/uploads/${UUID}?digest=${SHA256}`, { id, params: { repository: 'a/b', upload_uuid: UUID } });
  }
});

t.test('slash redirects for literal rows', async (t) => {
  expectMatch(t, table, 'GET', '/api/v1/user', { id: 'ROUTE_0294', slash: true });
  expectMatch(t, table, 'HEAD', '/api/v1/user', { id: 'ROUTE_0294', slash: true });
  expectMatch(t, table, 'DELETE', '/api/v1/user', { id: 'ROUTE_0293', slash: true });
  expectMatch(t, table, 'POST', '/api/v1/user', { id: 'ROUTE_0295', slash: true });
  expectMatch(t, table, 'GET', '/api/v1/user/', { id: 'ROUTE_0294' });
  expectMatch(t, table, 'GET', '/v2', { id: 'ROUTE_0001', slash: true });
  expectMatch(t, table, 'GET', '/v1', { id: 'ROUTE_0020' }, '/v1 is its own row');
  expectMatch(t, table, 'GET', '/v1/', { id: 'ROUTE_0021' });
  expectMatch(t, table, 'GET', '/api/v1/organization/acme/autoprunepolicy', { id: 'ROUTE_0085', params: { orgname: 'acme' }, slash: true });
  expectMatch(t, table, 'GET', '/v2/acme/app/tags/list/', null, 'no redirect in the other direction');
  expectMatch(
    t,
    table,
    'GET',
    '/api/v1/discovery/',
    { id: 'ROUTE_0432', params: { repository: 'api/v1/discovery' } },
    'a slash after a leaf row is not a redirect; the web repository row takes it (as in Quay)',
  );
  expectMatch(
    t,
    table,
    'GET',
    '/customtrigger/setup',
    { id: 'ROUTE_0432', params: { repository: 'customtrigger/setup' }, slash: true },
    'the reserved prefix includes its trailing slash',
  );
  expectMatch(t, table, 'GET', '/tour', { id: 'ROUTE_0423', slash: true });
});

t.test('wrong method: no match, and allowedMethods names the right ones', async (t) => {
  expectMatch(t, table, 'PATCH', '/v2/acme/app/manifests/latest', null);
  t.same(table.allowedMethods('/v2/acme/app/manifests/latest'), ['DELETE', 'GET', 'HEAD', 'PUT']);
  t.same(table.allowedMethods(`/v2/acme/app/blobs/${SHA256}`), ['DELETE', 'GET', 'HEAD']);
  t.same(table.allowedMethods('/api/v1/repository/acme/app'), ['DELETE', 'GET', 'HEAD', 'PUT']);
  t.same(table.allowedMethods('/api/v1/user'), ['DELETE', 'GET', 'HEAD', 'POST', 'PUT'], 'through the slash redirect');
  t.same(table.allowedMethods('/config'), ['GET', 'HEAD', 'OPTIONS']);
  t.same(table.allowedMethods('/v2/acme'), [], 'nothing matches at all');
  t.same(table.allowedMethods('not a path'), []);
  expectMatch(t, table, 'OPTIONS', '/config', { id: 'ROUTE_0378' });
  expectMatch(t, table, 'get', '/v2/', null, 'methods are case-sensitive (node:http upper-cases them)');
  expectMatch(t, table, 'BREW', '/v2/', null);
  // allowedMethods leaves the table usable.
  expectMatch(t, table, 'GET', '/v2/acme/app/manifests/latest', { id: 'ROUTE_0016', params: { repository: 'acme/app', manifest_ref: 'latest' } });
});

t.test('OPTIONS: the explicit OPTIONS row, else the GET row, else the first row at the path (Flask answers OPTIONS for every rule)', async (t) => {
  expectMatch(t, table, 'OPTIONS', '/config', { id: 'ROUTE_0378' }, 'explicit OPTIONS row wins over GET ROUTE_0377');
  expectMatch(t, table, 'OPTIONS', '/csrf_token', { id: 'ROUTE_0383' });
  expectMatch(
    t,
    table,
    'OPTIONS',
    '/v2/acme/app/manifests/latest',
    { id: 'ROUTE_0016', params: { repository: 'acme/app', manifest_ref: 'latest' } },
    'no OPTIONS row: the GET row (not PUT ROUTE_0017 or DELETE ROUTE_0015)',
  );
  expectMatch(t, table, 'OPTIONS', '/api/v1/user/', { id: 'ROUTE_0294' }, 'GET beats DELETE ROUTE_0293, registered earlier');
  expectMatch(t, table, 'OPTIONS', '/api/v1/user', { id: 'ROUTE_0294', slash: true }, 'through the slash redirect');
  expectMatch(
    t,
    table,
    'OPTIONS',
    '/api/v1/superuser/organizations/acme',
    { id: 'ROUTE_0270', params: { name: 'acme' } },
    'no GET row: the first row (DELETE ROUTE_0270 before PUT ROUTE_0271)',
  );
  expectMatch(
    t,
    table,
    'OPTIONS',
    '/api/v1/repository/acme/app/tag/v1',
    { id: 'ROUTE_0228', params: { repository: 'acme/app', tag: 'v1' } },
    'DELETE ROUTE_0228 before PUT ROUTE_0229, after a repository',
  );
  expectMatch(t, table, 'OPTIONS', '/v2/acme/app/blobs/uploads/', { id: 'ROUTE_0004', params: { repository: 'acme/app' } }, 'the only row there is POST');
  expectMatch(t, table, 'OPTIONS', '/v2/acme/app/blobs/uploads', { id: 'ROUTE_0004', params: { repository: 'acme/app' }, slash: true });
  expectMatch(t, table, 'OPTIONS', '/acme/app', { id: 'ROUTE_0432', params: { repository: 'acme/app' }, slash: true });
  expectMatch(t, table, 'OPTIONS', '/v2/acme', null, 'no rule at the path: nothing to answer');
  // Every row's path answers OPTIONS with a row of that same rule. Skipped: paths
  // where two rules differ only in a single-segment converter (blobs/{digest} for
  // DELETE next to blobs/{digest:digest} for GET/HEAD): which of those rules answers
  // depends on their order, not on this precedence.
  const erased = (pattern: string): string => pattern.replace(/\{(\w+)(?::(?:tag|digest|fileid))?\}/g, '{}');
  const siblings = (row: RouteRow): boolean => inv.routes.some((r) => r.pattern !== row.pattern && erased(r.pattern) === erased(row.pattern));
  let failures = 0;
  let checked = 0;
  for (const g of generated) {
    if (g.path.includes('?') || siblings(g.row)) continue;
    checked++;
    const m = table.match('OPTIONS', g.path);
    const want = expectedRow(g.row);
    const samePattern = inv.routes.filter((r) => r.pattern === want.row.pattern);
    const expected = samePattern.find((r) => r.method === 'OPTIONS') ?? samePattern.find((r) => r.method === 'GET') ?? samePattern[0]!;
    if (m?.route !== expected || m.slashRedirect !== want.slash) {
      failures++;
      t.fail(`OPTIONS ${g.path}: expected ${expected.id}, got ${describe(m)}`);
    }
  }
  t.equal(failures, 0, `OPTIONS on ${checked} generated paths picks the OPTIONS row, else the GET row, else the first row of that rule`);
  t.ok(checked > 1500, `${checked} OPTIONS requests checked`);
});

t.test('garbage request targets: null or a sane match, never a throw', async (t) => {
  const garbage = [
    '',
    '*',
    'http://x/y',
    'v2/acme/app/manifests/latest',
    '?',
    '#',
    '//',
    '///',
    '/v2//x/manifests/latest',
    '/v2/acme//manifests/latest',
    '/v2/acme/app/manifests/',
    '/%',
    '/%00',
    '/\u0000',
    '/\ud800',
    '/v2/\ud800/manifests/latest',
    '/..',
    '/v2/../v2/_catalog',
    '/' + '/'.repeat(1000),
    '/a b',
    '/v2/acme/app/manifests/latest\r\nX: y',
  ];
  for (const p of garbage) {
    for (const method of ['GET', 'HEAD', 'POST', '']) {
      let m: RouteMatch | null = null;
      t.doesNotThrow(
        () => {
          m = table.match(method, p);
        },
        `${method} ${JSON.stringify(p)}`,
      );
      t.doesNotThrow(() => table.allowedMethods(p));
      const got = m as RouteMatch | null;
      if (got !== null) t.ok(inv.routes.includes(got.route), `${JSON.stringify(p)} → a real row (${got.route.id})`);
    }
  }
  expectMatch(t, table, 'GET', '', null);
  expectMatch(t, table, 'GET', '*', null);
  // An absolute-form target (RFC 9112 §3.2.2) is matched by its path, as gunicorn and nginx do.
  expectMatch(t, table, 'GET', 'http://x/y', { id: 'ROUTE_0429', params: { namespace: 'y' } });
  expectMatch(t, table, 'GET', 'HTTPS://registry.example.com:443/v2/acme/app/manifests/v1?x', { id: 'ROUTE_0016', params: { repository: 'acme/app', manifest_ref: 'v1' } });
  expectMatch(t, table, 'GET', 'http://x', { id: 'ROUTE_0368' }, 'an absolute-form target without a path is /');
  // Werkzeug merges repeated slashes and redirects to the merged path's rule.
  expectMatch(
    t,
    table,
    'GET',
    '/v2//x/manifests/latest',
    { id: 'ROUTE_0016', params: { repository: 'x', manifest_ref: 'latest' }, slash: true },
    'an empty segment is merged away: redirect to /v2/x/manifests/latest',
  );
  expectMatch(t, table, 'GET', '/v2/acme//manifests/latest', { id: 'ROUTE_0016', params: { repository: 'acme', manifest_ref: 'latest' }, slash: true });
  expectMatch(t, table, 'GET', '/v2/a//b/tags/list', { id: 'ROUTE_0019', params: { repository: 'a/b' }, slash: true });
  expectMatch(t, table, 'GET', '/v2/acme/app/manifests//latest', { id: 'ROUTE_0016', params: { repository: 'acme/app', manifest_ref: 'latest' }, slash: true });
  expectMatch(
    t,
    table,
    'POST',
    '/v2/acme//app/blobs/uploads',
    { id: 'ROUTE_0004', params: { repository: 'acme/app' }, slash: true },
    'merged, and the trailing slash added: one redirect',
  );
  expectMatch(t, table, 'GET', '//v2/', { id: 'ROUTE_0001', slash: true });
  expectMatch(t, table, 'GET', '/api/v1//user/', { id: 'ROUTE_0294', slash: true });
  expectMatch(
    t,
    table,
    'GET',
    '/organization/acme//x/',
    { id: 'ROUTE_0404', params: { path: 'acme//x' } },
    'a path that matches as it is (a path converter takes //) is not merged',
  );
  expectMatch(t, table, 'GET', '/repository/acme//app', { id: 'ROUTE_0412', params: { path: 'acme//app' } });
  expectMatch(t, table, 'GET', '/v2/acme/app/manifests/', null, 'empty reference');
  expectMatch(t, table, 'GET', '/', { id: 'ROUTE_0368' });
});

t.test('FEATURE_LIBRARY_SUPPORT false: one-segment repositories do not match', async (t) => {
  expectMatch(t, noLibrary, 'GET', '/v2/ubuntu/manifests/latest', null);
  expectMatch(t, noLibrary, 'GET', '/v2/library/ubuntu/manifests/latest', { id: 'ROUTE_0016', params: { repository: 'library/ubuntu', manifest_ref: 'latest' } });
  expectMatch(t, noLibrary, 'POST', '/v2/ubuntu/blobs/uploads/', null);
  expectMatch(t, noLibrary, 'PUT', '/v1/repositories/ubuntu/', null);
  expectMatch(t, noLibrary, 'PUT', '/v1/repositories/library/ubuntu/', { id: 'ROUTE_0031', params: { repository: 'library/ubuntu' } });
  expectMatch(
    t,
    noLibrary,
    'GET',
    '/repository/ubuntu/status',
    { id: 'ROUTE_0412', params: { path: 'ubuntu/status' } },
    'without library support the badge row needs two segments, the path row takes it',
  );
  expectMatch(t, noLibrary, 'GET', '/acme', { id: 'ROUTE_0429', params: { namespace: 'acme' } });
  expectMatch(t, table, 'PUT', '/v1/repositories/ubuntu/', { id: 'ROUTE_0031', params: { repository: 'ubuntu' } }, 'with library support it matches');
  t.equal(noLibrary.librarySupport, false);
  t.equal(table.librarySupport, true);
  // Generated requests whose repositories have two or more segments match the same rows.
  let checked = 0;
  for (const g of generated) {
    if (Object.values(g.params).includes('ubuntu')) continue;
    checked++;
    const a = noLibrary.match(g.method, g.path);
    if (a?.route !== expectedRow(g.row).row) t.fail(`no-library ${g.method} ${g.path}: got ${describe(a)}`);
  }
  t.ok(checked > 1000, `${checked} multi-segment requests agree without library support`);
});

t.test('v1 create-repository refuses names ending in auth, tags, images', async (t) => {
  expectMatch(t, table, 'PUT', '/v1/repositories/acme/app/', { id: 'ROUTE_0031', params: { repository: 'acme/app' } });
  expectMatch(t, table, 'PUT', '/v1/repositories/acme/auth/', null);
  expectMatch(t, table, 'PUT', '/v1/repositories/acme/myimages/', null, "a suffix, as in Quay's regex lookbehind");
  expectMatch(t, table, 'PUT', '/v1/repositories/acme/tags/', null);
  expectMatch(t, table, 'PUT', '/v1/repositories/auth/app/', { id: 'ROUTE_0031', params: { repository: 'auth/app' } }, 'only the end is checked');
  expectMatch(t, table, 'PUT', '/v1/repositories/acme/app/auth', { id: 'ROUTE_0032', params: { repository: 'acme/app' } });
});

t.test('very long paths return (no crash, no runaway backtracking)', async (t) => {
  const deep = '/v2/' + 'a/'.repeat(10_000) + 'manifests/latest';
  const m = table.match('GET', deep);
  t.equal(m?.route.id, 'ROUTE_0016', '10,000-segment repository');
  t.equal(m?.params.repository?.split('/').length, 10_000);
  t.equal(table.matchUncached('GET', '/' + 'x/'.repeat(10_000))?.route.id, 'ROUTE_0432', '10,000 segments at the root');
  const wide = '/v2/' + 'x'.repeat(1 << 20) + '/manifests/latest';
  t.equal(table.match('GET', wide)?.params.repository?.length, 1 << 20, '1 MiB segment');
  const manySlashes = '/api/v1/repository/' + 'a/'.repeat(1 << 19);
  t.doesNotThrow(() => table.match('GET', manySlashes), '1 MiB of short segments');
  t.doesNotThrow(() => table.allowedMethods(manySlashes));
  const empties = '/v2' + '/'.repeat(1 << 20) + 'manifests/latest';
  t.equal(table.match('GET', empties), null, '1 MiB of empty segments');
  const encoded = '/v2/' + '%2F'.repeat(100_000) + 'a/manifests/latest';
  const enc = table.match('GET', encoded);
  t.same(
    enc && [enc.route.id, enc.slashRedirect, enc.params.repository],
    ['ROUTE_0016', true, 'a'],
    '100,000 encoded slashes decode to empty segments, merged: a redirect to /v2/a/manifests/latest',
  );
  const tags = '/v2/acme/' + 'manifests/'.repeat(50_000) + 'latest';
  t.equal(table.match('GET', tags)?.route.id, 'ROUTE_0016', '50,000 "manifests" segments');
});

// ---------------------------------------------------------------------------
// Werkzeug precedence after a repository parameter
//
// Werkzeug 3 (Quay pins 3.0.6) turns everything after a slash-matching
// converter into ONE regex per rule and tries those regexes ordered by rule
// weight: more literal segments first, then longer literals, then more
// parameters. Rules ending with "/" are tried with the slash optional and
// answer a missing slash with a redirect. The table reproduces this; these
// cases pin the facts that differ from a naive longest-literal-from-the-end match.
// ---------------------------------------------------------------------------

t.test('Werkzeug rule weighting after a repository parameter', async (t) => {
  const cases: [string, string, { id: string; params: Record<string, string>; slash?: boolean }, string][] = [
    [
      'GET',
      '/api/v1/repository/acme/app/permissions/user/logs',
      { id: 'ROUTE_0223', params: { repository: 'acme/app', username: 'logs' } },
      'a user named "logs": permissions/user/<u> has two literals, <repo>/logs one',
    ],
    ['GET', '/api/v1/repository/acme/app/permissions/team/mirror', { id: 'ROUTE_0219', params: { repository: 'acme/app', teamname: 'mirror' } }, 'a team named "mirror"'],
    [
      'GET',
      '/api/v1/repository/acme/app/build/logs',
      { id: 'ROUTE_0186', params: { repository: 'acme/app', build_uuid: 'logs' } },
      'build/<uuid>: "build" is a longer literal than "logs"',
    ],
    [
      'PUT',
      '/v1/repositories/acme/app/tags/auth',
      { id: 'ROUTE_0039', params: { repository: 'acme/app', tag: 'auth' } },
      'a v1 tag named "auth": tags/<tag> has more parameters than <repo>/auth',
    ],
    ['GET', '/repository/acme/app/trigger/status', { id: 'ROUTE_0413', params: { path: 'acme/app', trigger: 'status' } }, 'trigger/<t> is a longer literal than status'],
    [
      'GET',
      '/api/v1/repository/acme/app/build',
      { id: 'ROUTE_0183', params: { repository: 'acme/app' }, slash: true },
      'redirect to .../build/ (Werkzeug ≥ 2.2.3 suffixed final parts)',
    ],
    ['POST', '/v2/acme/app/blobs/uploads', { id: 'ROUTE_0004', params: { repository: 'acme/app' }, slash: true }, 'redirect to .../blobs/uploads/'],
    [
      'GET',
      '/acme/app',
      { id: 'ROUTE_0432', params: { repository: 'acme/app' }, slash: true },
      'Quay registers /<repopathredirect>/ before /<repopathredirect>; the first answers a missing slash with a redirect',
    ],
    ['GET', '/organization/acme', { id: 'ROUTE_0404', params: { path: 'acme' }, slash: true }, 'same for /organization/<path:path>/ registered first'],
  ];
  for (const [method, path, want, why] of cases) {
    const m = table.match(method, path);
    t.same(
      m && { id: m.route.id, params: { ...m.params }, slash: m.slashRedirect },
      { id: want.id, params: want.params, slash: want.slash ?? false },
      `${method} ${path} → ${want.id} (${why})`,
    );
  }
});

// ---------------------------------------------------------------------------
// Compile errors
// ---------------------------------------------------------------------------

function rows(specs: readonly (readonly [string, string])[]): RouteRow[] {
  return specs.map(([method, pattern], index) => ({
    index,
    id: `ROUTE_${String(index + 1).padStart(4, '0')}`,
    family: 'TEST',
    method,
    pattern,
    capability: 'TEST_CAP',
    mutating: method !== 'GET',
    handler: 'h',
    source: 's',
    shadowedBy: '',
    notes: '',
  }));
}

function compileError(specs: readonly (readonly [string, string])[], librarySupport = true): string | null {
  try {
    RouteTable.compile(rows(specs), { librarySupport });
    return null;
  } catch (err) {
    return isSwitchboardError(err) ? err.code : `not a SwitchboardError: ${String(err)}`;
  }
}

t.test('compile: SWB_ROUTE_AMBIGUOUS for the same method and shape', async (t) => {
  t.equal(
    compileError([
      ['GET', '/a/{x}'],
      ['GET', '/a/{y}'],
    ]),
    'SWB_ROUTE_AMBIGUOUS',
    'same shape, different names',
  );
  t.equal(
    compileError([
      ['GET', '/v2/{repository:repopath}/x'],
      ['GET', '/v2/{repo:repopath}/x'],
    ]),
    'SWB_ROUTE_AMBIGUOUS',
  );
  t.equal(
    compileError([
      ['GET', '/a/{x:tag}/b'],
      ['GET', '/a/{y:tag}/b'],
    ]),
    'SWB_ROUTE_AMBIGUOUS',
  );
  t.equal(
    compileError([
      ['GET', '/a/b'],
      ['GET', '/a/b'],
    ]),
    'SWB_ROUTE_AMBIGUOUS',
    'duplicate literal row',
  );
  t.equal(
    compileError([
      ['GET', '/a/{x}'],
      ['PUT', '/a/{y}'],
    ]),
    null,
    'different methods are fine',
  );
  t.equal(
    compileError([
      ['GET', '/a/{x:tag}'],
      ['GET', '/a/{y:digest}'],
    ]),
    null,
    'different kinds are different shapes',
  );
  t.equal(
    compileError([
      ['HEAD', '/a/{x}'],
      ['GET', '/a/{x}'],
    ]),
    null,
    'explicit HEAD next to GET',
  );
});

t.test('compile: SWB_ROUTE_SHADOWED for a row that can never win', async (t) => {
  // apirepopath is tried before repopath at the same place; without library
  // support both need two or more non-empty segments, so the repopath row can
  // never be reached by any path.
  t.equal(
    compileError(
      [
        ['GET', '/x/{a:apirepopath}'],
        ['GET', '/x/{b:repopath}'],
      ],
      false,
    ),
    'SWB_ROUTE_SHADOWED',
  );
  t.equal(
    compileError(
      [
        ['GET', '/x/{a:apirepopath}/y'],
        ['GET', '/x/{b:repopath}/y'],
      ],
      false,
    ),
    'SWB_ROUTE_SHADOWED',
  );
  t.equal(
    compileError(
      [
        ['GET', '/x/{a:apirepopath}'],
        ['PUT', '/x/{b:repopath}'],
      ],
      false,
    ),
    null,
    'other method: no shadowing',
  );
});

t.test('compile: a constrained sibling does not flag a plain segment row (samplePath)', async (t) => {
  // The shadow check matches each row's samplePath(); a plain segment samples as
  // zq~sN, which is not a valid tag, digest or file id, so it reaches its own row.
  t.equal(
    compileError([
      ['GET', '/a/{t:tag}'],
      ['GET', '/a/{s}'],
    ]),
    null,
    'GET /a/{t:tag} + GET /a/{s} compiles',
  );
  t.equal(
    compileError([
      ['GET', '/a/{d:digest}'],
      ['GET', '/a/{s}'],
    ]),
    null,
    'digest + segment compiles',
  );
  t.equal(
    compileError([
      ['GET', '/a/{f:fileid}'],
      ['GET', '/a/{s}'],
    ]),
    null,
    'fileid + segment compiles',
  );
  t.equal(
    compileError(
      [
        ['GET', '/a/{t:tag}'],
        ['GET', '/a/{s}'],
      ],
      false,
    ),
    null,
    'also without library support',
  );
  const plain = samplePath(parsePattern('/a/{s}', 'ROUTE_0002'));
  t.match(plain, /^\/a\/zq~s\d+$/, `plain segment sample ${plain}`);
  t.equal(samplePath(parsePattern('/a/{s}', 'ROUTE_0002'), true), plain, 'librarySupport is an optional second argument');
  t.equal(samplePath(parsePattern('/a/{s}', 'ROUTE_0002'), false), plain);
  const sample = (pattern: string, librarySupport?: boolean): string => samplePath(parsePattern(pattern, 'ROUTE_0001'), librarySupport);
  const tbl = RouteTable.compile(
    rows([
      ['GET', '/a/{t:tag}'],
      ['GET', '/a/{s}'],
    ]),
    { librarySupport: true },
  );
  t.equal(tbl.match('GET', plain)?.route.id, 'ROUTE_0002', 'the sample of /a/{s} resolves to its own row');
  t.equal(tbl.match('GET', sample('/a/{t:tag}'))?.route.id, 'ROUTE_0001', 'the sample of /a/{t:tag} resolves to the tag row');
  t.equal(tbl.match('GET', '/a/latest')?.route.id, 'ROUTE_0001', 'a tag-shaped segment goes to the tag row');
  t.equal(tbl.match('GET', '/a/-x')?.route.id, 'ROUTE_0002', 'anything else to the plain row');
  // Every real row's own sample resolves to that row (or, for the three shadowed rows, to the row Quay answers with).
  for (const [lib, tb] of [
    [true, table],
    [false, noLibrary],
  ] as const) {
    let bad = 0;
    for (const r of inv.routes) {
      const m = tb.matchUncached(r.method, samplePath(parsePattern(r.pattern, r.id), lib));
      const want = expectedRow(r);
      if (m?.route !== want.row || m.slashRedirect !== want.slash) {
        bad++;
        t.fail(`${r.id} sample ${samplePath(parsePattern(r.pattern, r.id), lib)} → ${describe(m)}`);
      }
    }
    t.equal(bad, 0, `librarySupport ${lib}: every row's samplePath reaches its row`);
  }
});

t.test('compile: SWB_ROUTE_SHADOWED names the row, its sample and where the sample went', async (t) => {
  try {
    RouteTable.compile(
      rows([
        ['GET', '/x/{a:apirepopath}'],
        ['GET', '/x/{b:repopath}'],
      ]),
      { librarySupport: false },
    );
    t.fail('compiled');
  } catch (err) {
    t.equal(isSwitchboardError(err) && err.code, 'SWB_ROUTE_SHADOWED');
    t.match((err as Error).message, /ROUTE_0002 \(GET \/x\/\{b:repopath\}\) is never matched: its sample path \S+ resolves to ROUTE_0001/);
  }
  // A row recorded as shadowed_by compiles only when the sample really goes to that row.
  const shadowRows = (shadowedBy: string): RouteRow[] =>
    rows([
      ['GET', '/o/{p:path}'],
      ['GET', '/o/{p:path}/'],
    ]).map((r, i) => (i === 0 ? { ...r, shadowedBy } : r));
  t.doesNotThrow(() => RouteTable.compile(shadowRows('ROUTE_0002'), { librarySupport: true }), 'the recorded shadowing row answers it');
  t.equal(
    (() => {
      try {
        RouteTable.compile(shadowRows(''), { librarySupport: true });
        return null;
      } catch (e) {
        return isSwitchboardError(e) ? e.code : 'other';
      }
    })(),
    'SWB_ROUTE_SHADOWED',
    'without shadowed_by the same pair is an error',
  );
  t.equal(
    (() => {
      try {
        RouteTable.compile(shadowRows('ROUTE_0001'), { librarySupport: true });
        return null;
      } catch (e) {
        return isSwitchboardError(e) ? e.code : 'other';
      }
    })(),
    'SWB_ROUTE_SHADOWED',
    'a wrong shadowed_by is an error too',
  );
  const m = RouteTable.compile(shadowRows('ROUTE_0002'), { librarySupport: true }).match('GET', '/o/acme');
  t.same(m && [m.route.id, m.params, m.slashRedirect], ['ROUTE_0002', { p: 'acme' }, true], 'the suffixed rule (registered first) answers with a redirect');
});

t.test('compile: SWB_ROUTE_BAD_PATTERN', async (t) => {
  t.equal(compileError([['GET', '/a/{x:uuid}']]), 'SWB_ROUTE_BAD_PATTERN', 'unknown kind');
  t.equal(compileError([['GET', '/a/{x:Tag}']]), 'SWB_ROUTE_BAD_PATTERN', 'kinds are lower-case');
  t.equal(compileError([['GET', '/{a:repopath}/x/{b:path}']]), 'SWB_ROUTE_BAD_PATTERN', 'two multi-segment params');
  t.equal(compileError([['GET', '/{a:repopath}/{b:repopath}']]), 'SWB_ROUTE_BAD_PATTERN');
  t.equal(compileError([['GET', 'a/b']]), 'SWB_ROUTE_BAD_PATTERN', 'must start with /');
  t.equal(compileError([['GET', '/a/{x']]), 'SWB_ROUTE_BAD_PATTERN', 'unclosed brace');
  t.equal(compileError([['GET', '/a/pre{x}']]), 'SWB_ROUTE_BAD_PATTERN', 'a parameter is a whole segment');
  t.equal(compileError([['GET', '/a/{1x}']]), 'SWB_ROUTE_BAD_PATTERN', 'bad parameter name');
  t.equal(
    compileError([
      ['GET', '/ok/{x}'],
      ['GET', '/bad/{y:nope}'],
    ]),
    'SWB_ROUTE_BAD_PATTERN',
    'any bad row fails the table',
  );
  t.equal(compileError([['GET', '/{a:repopath}/x/{b}']]), null, 'one multi-segment param plus single ones is fine');
});

t.test('compile: the real inventory compiles both ways; a table is reusable', async (t) => {
  t.equal(table.size, 435);
  t.equal(noLibrary.size, 435);
  t.doesNotThrow(() => RouteTable.compile(inv.routes, { librarySupport: true }), 'with library support');
  t.doesNotThrow(() => RouteTable.compile(inv.routes, { librarySupport: false }), 'without library support');
  // Without the inventory's shadowed_by facts, the three rows Quay never reaches are compile errors.
  t.match(compileError(inv.routes.map((r) => [r.method, r.pattern] as const)) ?? '', /SWB_ROUTE_SHADOWED/);
});

// ---------------------------------------------------------------------------
// The match cache
// ---------------------------------------------------------------------------

t.test('match and matchUncached agree for every generated request', async (t) => {
  let failures = 0;
  for (const g of generated) {
    for (const method of [g.method, 'HEAD', 'GET']) {
      const a = table.match(method, g.path);
      const b = table.matchUncached(method, g.path);
      if (describe(a) !== describe(b)) {
        failures++;
        t.fail(`${method} ${g.path}: cached ${describe(a)} vs uncached ${describe(b)}`);
      }
    }
  }
  t.equal(failures, 0);
  const first = table.match('GET', '/v2/acme/app/manifests/latest');
  t.equal(table.match('GET', '/v2/acme/app/manifests/latest'), first, 'a hit returns the same result object');
});

t.test('the match cache holds 8192 entries per generation by default', async (t) => {
  // A cached hit returns the same result object; after enough other paths it is recomputed.
  const survives = (tb: RouteTable, others: number): boolean => {
    const first = tb.match('GET', '/v2/acme/app/manifests/latest');
    for (let i = 0; i < others; i++) tb.match('GET', `/v2/acme/app/manifests/t${i}`);
    const again = tb.match('GET', '/v2/acme/app/manifests/latest');
    t.equal(describe(again), describe(first), 'recomputed or not, the answer is the same');
    return again === first;
  };
  const fresh = (cacheEntries?: number): RouteTable =>
    RouteTable.compile(inv.routes, cacheEntries === undefined ? { librarySupport: true } : { librarySupport: true, cacheEntries });
  t.equal(survives(fresh(), 8191), true, 'default: still cached after 8,191 other paths');
  t.equal(survives(fresh(), 2 * 8192 - 1), true, 'default: still cached after 16,383 (two generations of 8,192)');
  t.equal(survives(fresh(), 2 * 8192), false, 'default: dropped after 16,384 other paths');
  t.equal(survives(fresh(8192), 2 * 8192 - 1), true, 'cacheEntries 8192 behaves the same');
  t.equal(survives(fresh(8192), 2 * 8192), false);
  t.equal(survives(fresh(4096), 2 * 4096), false, 'a smaller cache drops it sooner');
  t.equal(survives(fresh(0), 0), false, 'cacheEntries 0: no caching');
});

t.test('paths longer than MAX_CACHED_PATH are matched but never cached', async (t) => {
  const tb = RouteTable.compile(inv.routes, { librarySupport: true });
  const long = `/v2/acme/${'a'.repeat(MAX_CACHED_PATH)}/manifests/latest`;
  const first = tb.match('GET', long);
  t.ok(first, 'a long repository path still matches');
  t.not(tb.match('GET', long), first, 'walked again: not kept in the cache');
  t.equal(describe(tb.match('GET', long)), describe(first), 'and answered the same');
  const short = '/v2/acme/app/manifests/latest';
  t.equal(tb.match('GET', short), tb.match('GET', short), 'a short path is cached as before');
});

t.test('a tiny cache (2 entries) stays correct across many distinct paths', async (t) => {
  const tiny = RouteTable.compile(inv.routes, { librarySupport: true, cacheEntries: 2 });
  const off = RouteTable.compile(inv.routes, { librarySupport: true, cacheEntries: 0 });
  let failures = 0;
  // Interleave so paths fall out of the cache and come back.
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < generated.length; i++) {
      const g = generated[(i * 7 + round) % generated.length]!;
      const a = tiny.match(g.method, g.path);
      const b = off.match(g.method, g.path);
      if (a?.route !== expectedRow(g.row).row || describe(a) !== describe(b)) {
        failures++;
        t.fail(`${g.method} ${g.path}: tiny ${describe(a)}, uncached ${describe(b)}`);
      }
      const again = tiny.match(g.method, g.path);
      if (describe(again) !== describe(a)) failures++;
    }
  }
  t.equal(failures, 0, `${3 * generated.length} look-ups through a 2-entry cache`);
  for (const p of ['/v2/nope', '/v2/acme/app/blobs/uploads/', '/v2/acme/app/manifests/' + 't'.repeat(129)]) {
    t.equal(tiny.match('GET', p), null, `a cached miss stays a miss: ${p.slice(0, 40)}`);
    t.equal(tiny.match('GET', p), null);
  }
  // Many distinct methods: the cache refuses to grow, answers stay right.
  for (let i = 0; i < 40; i++) t.equal(tiny.match(`X${i}`, '/v2/'), null);
  expectMatch(t, tiny, 'GET', '/v2/', { id: 'ROUTE_0001' });
  expectMatch(t, tiny, 'HEAD', '/v2/', { id: 'ROUTE_0001' });
});

t.test('a tag is at most 128 code points, as Python counts them', async (t) => {
  const bold = '\u{1D400}'; // one code point, two UTF-16 units, a letter
  const at = (tag: string): string | null => table.match('GET', `/v2/acme/app/manifests/${encodeURIComponent(tag)}`)?.route.id ?? null;
  t.equal(at(bold.repeat(128)), 'ROUTE_0016', '128 astral letters are a tag');
  t.equal(at(bold.repeat(129)), null, '129 are not');
  t.equal(at('a'.repeat(128)), 'ROUTE_0016');
  t.equal(at('a'.repeat(129)), null);
  t.equal(at(`a${bold.repeat(127)}`), 'ROUTE_0016');
});
