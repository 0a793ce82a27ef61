/**
 * The go side's claims (quay/capabilities.ts) against what registryd
 * really serves: every route of every claimed capability is sent to a real
 * registryd and must reach its own handler (counted under its route id, never
 * the generic unknown-route 404 or method 405) with the status Quay answers;
 * every /v2 capability has a verdict and only the listed ones are claimed;
 * GET /.well-known/switchboard answers the document on the registry listener
 * (no auth) and on the quay runtime's admin listener; config keys registryd
 * does not honour withdraw the claims they change.
 */
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadInventory } from '../../owner-maps/index.js';
import { RouteTable } from '../../owner-maps/index.js';
import { createLogger } from '../../lib/log.js';
import { API_ROUTES, apiClaims, apiSettings } from '../../api/index.js';
import { CLAIMED_CAPABILITIES, V2_VERDICTS, WELL_KNOWN_PATH, WITHDRAWALS, readinessDocument, serviceVersion, withdrawnClaims, type ReadinessDocument } from '../capabilities.js';
import { servedRouteIds } from '../../registryd/http/routes.js';
import { blacklistedDockerClient, pageSize } from '../../registryd/http/listing.js';
import { RegistryMetrics } from '../../registryd/metrics/metrics.js';
import { loadQuayConfig, quayKeysSchema } from '../config.js';
import { startRuntime } from '../runtime.js';
import { request, tempDir, waitFor, ROOT, type Reply } from '../../test/lib/proc.js';
import { imageManifest, pushBlob, startTestRegistry, type TestRegistry } from '../../registryd/test/lib/server.js';

const inv = loadInventory();
const v2Rows = inv.routes.filter((r) => r.family === 'REGISTRY_V2');
const v2Caps = [...new Set(v2Rows.map((r) => r.capability))].sort();
const routesOf = (cap: string): string[] => inv.routes.filter((r) => r.capability === cap).map((r) => r.id);
const sha = (b: string): string => 'sha256:' + createHash('sha256').update(b).digest('hex');

t.test('every /v2 capability has a verdict; only the claimed ones are claimed', async (t) => {
  t.same(V2_VERDICTS.map((v) => v.capability).sort(), v2Caps, 'one verdict per REGISTRY_V2 capability of the inventory, no other');
  for (const v of V2_VERDICTS) t.ok(v.why.length > 20, `${v.capability}: the verdict says why`);
  t.same(CLAIMED_CAPABILITIES, ['V2_BASE', 'V2_TAGS', 'V2_UPLOAD'], 'the claim');
  t.same([...CLAIMED_CAPABILITIES].sort(), CLAIMED_CAPABILITIES, 'sorted');
  const others = inv.capabilities.filter((c) => !v2Caps.includes(c));
  t.ok(others.length > 60, 'the other families have many capabilities');
  t.notOk(
    others.some((c) => CLAIMED_CAPABILITIES.includes(c)),
    'none of them is claimed',
  );
  const served = new Set(servedRouteIds());
  for (const cap of CLAIMED_CAPABILITIES) {
    t.same(
      routesOf(cap).filter((id) => !served.has(id)),
      [],
      `${cap}: every route has a handler`,
    );
  }
});

t.test("every WITHDRAWALS key is typed in the quay config and accepts Quay's default", async (t) => {
  const shape = quayKeysSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;
  for (const w of WITHDRAWALS) {
    t.ok(shape[w.key], `${w.key} is in quayKeysSchema`);
    t.ok(shape[w.key]?.safeParse(w.quayDefault).success, `${w.key}: ${JSON.stringify(w.quayDefault)} is valid`);
    for (const v of w.values ?? []) t.ok(shape[w.key]?.safeParse(v).success, `${w.key}: ${v} is valid`);
    t.ok(
      w.capabilities.every((c) => v2Caps.includes(c)),
      `${w.key} names /v2 capabilities only`,
    );
  }
  t.equal(new Set(WITHDRAWALS.map((w) => w.key)).size, WITHDRAWALS.length, 'each key once');
  const quayKeys = new Set(
    readFileSync(join(ROOT, 'switchboard/test/fixtures/quay-config-keys.txt'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#')),
  );
  t.same(
    WITHDRAWALS.map((w) => w.key).filter((k) => !quayKeys.has(k)),
    [],
    "every key is one of Quay's own (no typo)",
  );
});

t.test('GET /.well-known/switchboard collides with no endpoint of Quay', async (t) => {
  const all = RouteTable.compile(inv.routes, { librarySupport: true });
  t.same(
    inv.routes
      .filter((r) => r.family === 'WELL_KNOWN')
      .map((r) => r.pattern)
      .sort(),
    ['/.well-known/app-capabilities', '/.well-known/change-password'],
    "Quay's own /.well-known endpoints",
  );
  const m = all.match('GET', WELL_KNOWN_PATH);
  const any = all.match('GET', '/.well-known/no-such-thing');
  t.equal(m?.route.handler, 'redirect_to_repository', "it falls to the web UI's catch-all repository redirect");
  t.equal(m?.route.id, any?.route.id, 'as any unknown /.well-known path does');
  t.equal(all.match('GET', '/.well-known/app-capabilities')?.route.family, 'WELL_KNOWN');
});

// ------------------------------------------------------------------ every route of every claimed capability, for real

interface Step {
  readonly route: string;
  readonly what: string;
  readonly status: number;
  send(r: TestRegistry, s: Record<string, string>): Promise<Reply>;
  /** Remember something for later steps. */
  keep?(res: Reply, s: Record<string, string>): void;
}

/**
 * One request per route of the claimed capabilities, in an order that makes
 * each succeed (anonymous mode: the upload's POST creates the repository).
 */
const STEPS: readonly Step[] = [
  { route: 'ROUTE_0001', what: 'GET /v2/', status: 200, send: (r) => r.req({ path: '/v2/' }) },
  {
    route: 'ROUTE_0004',
    what: 'POST …/blobs/uploads/',
    status: 202,
    send: (r) => r.req({ method: 'POST', path: '/v2/acme/app/blobs/uploads/' }),
    keep: (res, s) => {
      s.upload = res.header('location');
    },
  },
  { route: 'ROUTE_0006', what: 'GET …/blobs/uploads/<uuid>', status: 204, send: (r, s) => r.req({ path: s.upload! }) },
  { route: 'ROUTE_0007', what: 'PATCH …/blobs/uploads/<uuid>', status: 202, send: (r, s) => r.req({ method: 'PATCH', path: s.upload!, body: 'abc' }) },
  { route: 'ROUTE_0008', what: 'PUT …/blobs/uploads/<uuid>?digest=', status: 201, send: (r, s) => r.req({ method: 'PUT', path: `${s.upload!}?digest=${sha('abc')}` }) },
  {
    route: 'ROUTE_0004',
    what: 'POST …/blobs/uploads/ (another)',
    status: 202,
    send: (r) => r.req({ method: 'POST', path: '/v2/acme/app/blobs/uploads/' }),
    keep: (res, s) => {
      s.upload2 = res.header('location');
    },
  },
  { route: 'ROUTE_0005', what: 'DELETE …/blobs/uploads/<uuid>', status: 204, send: (r, s) => r.req({ method: 'DELETE', path: s.upload2! }) },
  { route: 'ROUTE_0019', what: 'GET …/tags/list', status: 200, send: (r) => r.req({ path: '/v2/acme/app/tags/list' }) },
];

async function counted(m: RegistryMetrics): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of (await m.registry.getSingleMetric('registryd_http_requests_total')!.get()).values) {
    const id = String(v.labels.route_id);
    out.set(id, (out.get(id) ?? 0) + v.value);
  }
  return out;
}

t.test('a real registryd serves every route of every claimed capability through its own handler', async (t) => {
  const metrics = new RegistryMetrics();
  const r = await startTestRegistry(t, { metrics });
  const claimedRoutes = CLAIMED_CAPABILITIES.flatMap(routesOf).sort();
  t.same([...new Set(STEPS.map((s) => s.route))].sort(), claimedRoutes, 'a step for every route of the claimed capabilities (claiming a new one needs its steps here)');
  const state: Record<string, string> = {};
  const sent = new Map<string, number>();
  for (const step of STEPS) {
    const res = await step.send(r, state);
    t.equal(res.status, step.status, `${step.route} ${step.what}: ${res.status} ${res.text().slice(0, 200)}`);
    step.keep?.(res, state);
    sent.set(step.route, (sent.get(step.route) ?? 0) + 1);
  }
  // The route-id counter is bumped when the response closes, just after the client has it.
  t.ok(
    await waitFor(async () => {
      const c = await counted(metrics);
      return [...sent].every(([id, n]) => (c.get(id) ?? 0) >= n);
    }),
    'every request was counted',
  );
  const c = await counted(metrics);
  for (const id of claimedRoutes) t.equal(c.get(id), sent.get(id), `${id} answered by its own handler`);
  // The counter tells a handler's answer from the generic ones: an unknown path (404) and a method no row has (405) are counted under no route.
  const total = [...c.values()].reduce((a, b) => a + b, 0);
  t.equal((await r.req({ path: '/v2/acme/app/no-such-endpoint' })).status, 404);
  const wrong = await r.req({ method: 'PUT', path: '/v2/' });
  t.equal(wrong.status, 405);
  t.equal(wrong.header('allow'), 'GET, HEAD');
  await r.req({ path: '/v2/' });
  t.ok(await waitFor(async () => (await counted(metrics)).get('ROUTE_0001') === (sent.get('ROUTE_0001') ?? 0) + 1), 'a later handled request is counted');
  t.equal(
    [...(await counted(metrics)).values()].reduce((a, b) => a + b, 0),
    total + 1,
    'the generic answers were not',
  );
});

t.test('V2_TAGS: n as Quay reads it (Python int(), clamped to 0–100)', async (t) => {
  const cases: [string | null, number][] = [
    [null, 100],
    ['2', 2],
    [' 2 ', 2],
    ['+2', 2],
    ['1_0', 10],
    ['-1', 0],
    ['-0', 0],
    ['0', 0],
    ['abc', 100],
    ['2.5', 100],
    ['', 100],
    ['1__0', 100],
    ['99999999999999999999', 100],
    ['250', 100],
  ];
  for (const [raw, n] of cases) t.equal(pageSize(raw), n, `n=${JSON.stringify(raw)} → ${n}`);
  const r = await startTestRegistry(t);
  const cfg = await pushBlob(r, 'acme/paged', '{}');
  for (const tag of ['a', 'b', 'c']) {
    const res = await r.req({
      method: 'PUT',
      path: `/v2/acme/paged/manifests/${tag}`,
      body: imageManifest(cfg, 2, []),
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    t.equal(res.status, 201);
  }
  t.same((await r.req({ path: '/v2/acme/paged/tags/list?n=-1' })).json().tags, [], 'a negative n is an empty page, as in Quay');
  const p = await r.req({ path: '/v2/acme/paged/tags/list?n=%2B2' });
  t.same(p.json().tags, ['a', 'b']);
  t.equal(p.header('link'), '</v2/acme/paged/tags/list?n=2&last=b>; rel="next"');
});

t.test("V2_BASE: Docker clients older than 1.6.0 get 404 (Quay's default BLACKLIST_V2_SPEC)", async (t) => {
  const cases: [string | undefined, boolean][] = [
    [undefined, false],
    ['docker/1.5.0 go/go1.4.1 git-commit/a8a31ef kernel/3.16 os/linux arch/amd64', true],
    ['Go 1.1 package http', true],
    ['docker/1.6.0 go/go1.4.2', false],
    ['docker/1.6', false],
    ['docker/0.9', true],
    ['docker/17.03.1-ce go/go1.7.5', false],
    ['docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.1', false],
    ['skopeo/1.13 containers/image', false],
    ['Go-http-client/1.1', false],
  ];
  for (const [ua, out] of cases) t.equal(blacklistedDockerClient(ua), out, `${ua ?? '(none)'}`);
  const r = await startTestRegistry(t);
  t.equal((await r.req({ path: '/v2/', headers: { 'user-agent': 'docker/1.5.0 go/go1.4.1' } })).status, 404, 'docker 1.5: 404, it falls back to v1');
  const ok = await r.req({ path: '/v2/', headers: { 'user-agent': 'docker/24.0.7 go/go1.20.10' } });
  t.equal(ok.status, 200);
  t.equal(ok.text(), 'true');
});

// ------------------------------------------------------------------ the endpoint

/** The v2 claims with the API capabilities claimed under the config's Quay keys (api/claims.ts). */
function withApi(v2: readonly string[], keys: Record<string, unknown>): string[] {
  const api = apiClaims(API_ROUTES, apiSettings(keys)).filter((c) => c.claimed);
  return [...v2, ...api.map((c) => c.capability)].sort();
}

function checkDocument(t: Test, doc: ReadinessDocument, mode: string, caps: readonly string[]): void {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  t.equal(doc.service, 'quay-ts');
  t.equal(doc.version, pkg.version, 'the package.json version');
  t.equal(doc.contract, 1);
  t.equal(doc.mode, mode);
  t.same(doc.capabilities, caps);
  t.same(doc.routes, caps.flatMap(routesOf).sort(), 'the route ids of those capabilities');
  t.equal(doc.features.FEATURE_LIBRARY_SUPPORT, true, 'registryd serves one-segment names as library repositories');
}

t.test('GET /.well-known/switchboard on the registry listener', async (t) => {
  const r = await startTestRegistry(t);
  const res = await r.req({ path: WELL_KNOWN_PATH });
  t.equal(res.status, 200);
  t.match(res.header('content-type'), /^application\/json/);
  t.equal(res.header('cache-control'), 'no-store');
  t.equal(res.header('docker-distribution-api-version'), '', 'not a /v2 answer');
  const doc = res.json() as ReadinessDocument;
  checkDocument(t, doc, 'mirror', withApi(CLAIMED_CAPABILITIES, {}));
  t.same(doc.withdrawn, []);
  t.equal(doc.features.AUTHENTICATION_TYPE, 'Anonymous');
  t.same(doc, r.reg.readiness, 'what Registry.readiness holds');
  t.same((await r.req({ path: `${WELL_KNOWN_PATH}?x=1` })).json(), doc, 'a query string is ignored');
  const head = await r.req({ method: 'HEAD', path: WELL_KNOWN_PATH });
  t.equal(head.status, 200);
  t.equal(head.body.length, 0);
  const post = await r.req({ method: 'POST', path: WELL_KNOWN_PATH, body: 'x' });
  t.equal(post.status, 405);
  t.equal(post.header('allow'), 'GET, HEAD');
  const other = await r.req({ path: `${WELL_KNOWN_PATH}x` });
  t.equal(other.status, 404, 'only the exact path');
  t.equal(other.json().errors[0].code, 'NAME_UNKNOWN');
  t.equal(serviceVersion(), doc.version);
});

t.test('with database auth the document needs no token (it holds no secret)', async (t) => {
  const r = await startTestRegistry(t, { auth: { mode: 'database', serverHostname: 'registry.test', databaseSecretKey: 'k' } });
  t.equal((await r.req({ path: '/v2/' })).status, 401, 'the registry itself wants a token');
  const res = await r.req({ path: WELL_KNOWN_PATH });
  t.equal(res.status, 200);
  const doc = res.json() as ReadinessDocument;
  t.equal(doc.features.AUTHENTICATION_TYPE, 'Database');
  t.notMatch(res.text(), /"k"|registry\.test/, 'no secret, no host name');
});

t.test('keys registryd does not honour withdraw the claims they change', async (t) => {
  const settings = {
    authenticationType: 'Database' as const,
    anonymousAccess: true,
    appSpecificTokens: true,
    publicCatalog: false,
    superUsersFullAccess: false,
    createNamespaceOnPush: false,
    createPrivateRepoOnPush: true,
    libraryNamespace: 'library',
  };
  const doc = (quayKeys: Record<string, unknown>): ReadinessDocument => readinessDocument({ mode: 'standalone', settings, quayKeys });
  t.same(doc({}).capabilities, CLAIMED_CAPABILITIES);
  const defaults = Object.fromEntries(WITHDRAWALS.map((w) => [w.key, w.quayDefault]));
  t.same(doc(defaults).withdrawn, [], "Quay's defaults, written out, withdraw nothing");
  t.same(doc({ V2_PAGINATION_SIZE: 100 }).withdrawn, [], "a page size up to 100 keeps Quay's cap of 100");
  const quota = doc({ FEATURE_QUOTA_MANAGEMENT: true });
  t.same(quota.capabilities, ['V2_BASE', 'V2_TAGS']);
  t.same(
    quota.withdrawn.map((w) => [w.capability, w.key, w.value]),
    [['V2_UPLOAD', 'FEATURE_QUOTA_MANAGEMENT', true]],
  );
  t.notOk(quota.routes.includes('ROUTE_0004'), 'its routes go too');
  t.same(doc({ V2_PAGINATION_SIZE: 500 }).capabilities, ['V2_BASE', 'V2_UPLOAD']);
  t.same(doc({ REGISTRY_STATE: 'readonly', FEATURE_ADVERTISE_V2: false }).capabilities, ['V2_TAGS']);
  t.same(doc({ ACCOUNT_RECOVERY_MODE: true }).capabilities, ['V2_BASE'], 'Quay still answers /v2/ in account recovery');
  t.same(doc({ FEATURE_LIBRARY_SUPPORT: false }).withdrawn, [], 'FEATURE_LIBRARY_SUPPORT is honoured (one-segment paths match no route when off), so it withdraws nothing');
  t.same(withdrawnClaims({ FEATURE_IMMUTABLE_TAGS: true }), [], 'a key that changes only unclaimed capabilities withdraws nothing');
  t.equal(doc({ FEATURE_QUOTA_MANAGEMENT: true }).features.FEATURE_QUOTA_MANAGEMENT, false, 'features say how registryd behaves, not what the file says');
});

t.test('the quay runtime answers on its registry and admin listeners, withdrawals from its config', async (t) => {
  const dataDir = tempDir(t, 'registryd-readiness-');
  const cfg = loadQuayConfig('FEATURE_QUOTA_MANAGEMENT: true\nREGISTRY_STATE: normal\n', { mode: 'mirror', dataDir });
  if (!cfg.ok) throw new Error(JSON.stringify(cfg.problems));
  const logs: string[] = [];
  const rt = await startRuntime({
    config: cfg.config,
    log: createLogger({}, { write: (l) => logs.push(l) }),
    listen: { host: '127.0.0.1', port: 0 },
    tls: null,
    adminListen: { host: '127.0.0.1', port: 0 },
    metrics: false,
  });
  t.teardown(() => rt.stop());
  const onRegistry = await request(rt.address.port, { path: WELL_KNOWN_PATH });
  const onAdmin = await request(rt.adminPort!, { path: WELL_KNOWN_PATH });
  t.equal(onRegistry.status, 200);
  t.equal(onAdmin.status, 200);
  t.same(onAdmin.json(), onRegistry.json(), 'the same document on both listeners');
  checkDocument(t, onRegistry.json() as ReadinessDocument, 'mirror', withApi(['V2_BASE', 'V2_TAGS'], cfg.config.quayConfig));
  t.same(
    (onRegistry.json() as ReadinessDocument).withdrawn.map((w) => w.key),
    ['FEATURE_QUOTA_MANAGEMENT'],
  );
  const bad = loadQuayConfig('REGISTRY_STATE: maintenance\nFEATURE_QUOTA_MANAGEMENT: maybe\n', { mode: 'mirror', dataDir });
  t.notOk(bad.ok, 'the keys are validated like the others');
  if (!bad.ok)
    t.same(
      bad.problems.map((p) => p.key),
      ['REGISTRY_STATE', 'FEATURE_QUOTA_MANAGEMENT'],
    );
});
