/**
 * Issue 14's proof, as assertions (timings are bench:soak's, never asserted
 * here): the real `switchboard serve` in front of two recording upstreams
 * (python, go), with the dashboard on its admin listener, takes normal
 * traffic while hostile clients run at the same time —
 *
 *   slow bodies     Content-Length 1 MiB, then one byte every 5 s, to both owners
 *   a login flood   wrong Basic credentials, dashboard form logins and admin-token
 *                   guesses against the admin listener, from three source addresses
 *   malformed       duplicate Host, OPTIONS *, h2c upgrades, unknown Expect,
 *                   absolute-form and dot-segment targets, smuggling shapes
 *                   (bench/lib/hostile-clients.ts, MALFORMED)
 *
 * and then checks: every normal request got its owner's answer; neither
 * owner's switchboard_upstream_errors_total moved; each malformed request was
 * answered by the edge and reached no owner; the slow bodies were cut by the
 * proxy with a 408 (REQUEST_BODY_TIMEOUT_SECONDS 2, at 1024 bytes/s); the
 * flood got 401/429 only, the login limiter held under concurrency, and a
 * right login from another address still works. A second, smaller run does
 * the /v2/auth flood against the embedded registry's bcrypt logins.
 */
import t from 'tap';
import bcrypt from 'bcryptjs';
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import {
  ROOT,
  buildOnce,
  configYaml,
  deadPort,
  request,
  sleep,
  startServe,
  startUpstreams,
  tempDir,
  waitFor,
  type Recorded,
  type ServeProcess,
  type Upstream,
} from '../../switchboard/test/proxy/lib/harness.js';
import { MALFORMED, PROBE_HEADER, SLOW_HEADER, floodAddresses, startLoginFlood, startMalformedLoop, startSlowBodies } from '../../bench/lib/hostile-clients.js';
import {
  defaultMix,
  delta,
  loginFailures,
  runNormalTraffic,
  scrapeMetrics,
  upstreamErrorsByKind,
  upstreamErrorsByOwner,
  type NormalRequest,
} from '../../bench/lib/soak-traffic.js';
import { MAX_FAILURES_PER_ADDRESS } from '../../switchboard/control/login-limiter.js';

t.setTimeout(120_000);
await buildOnce();

const IDLE_SECONDS = 2;
const ATTACK_SECONDS = 6;
const BODY_TIMEOUT_SECONDS = 2;
const SLOW_CONNECTIONS = 60;
const FLOOD_ADDRESSES = floodAddresses(3);
const TOKEN = randomBytes(24).toString('base64url');
const USER = { name: 'olga', password: 'olga-soak-password' };

const MIGRATION = { ROUTE_OWNER_DEFAULT: 'python', ROUTE_OWNER_CAP_V2_PULL: 'go', ROUTE_OWNER_CAP_V2_UPLOAD: 'go' };
const SLOW_TARGETS = [
  { method: 'PATCH', path: `/v2/acme/app/blobs/uploads/${randomUUID()}` }, // go (V2_UPLOAD)
  { method: 'PUT', path: '/api/v1/repository/acme/app' }, // python (default)
];

const basic = (name: string, password: string): string => `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
const fmt = (m: Map<string, number>): string => (m.size ? [...m].map(([k, v]) => `${k} ${v > 0 ? '+' : ''}${v}`).join(', ') : 'none');

/** Requests an upstream got since `since` in a shape the edge must never pass on: an upgrade, a non-origin-form target, a dot segment. */
function oddShapes(up: Upstream, since: number): Recorded[] {
  return up.requests
    .slice(since)
    .filter((r) => r.headers.upgrade !== undefined || r.headers['http2-settings'] !== undefined || !r.url.startsWith('/') || /\/(\.|%2e){1,2}(\/|\?|$)/i.test(r.url));
}

// ---------------------------------------------------------------- the run with recording upstreams

const ups = await startUpstreams(t);
const dir = tempDir(t, 'swb-soak-');
writeFileSync(join(dir, 'admin.token'), `${TOKEN}\n`, { mode: 0o600 });
writeFileSync(join(dir, 'users.yaml'), `- {name: ${USER.name}, role: operator, password_bcrypt: "${bcrypt.hashSync(USER.password, 10)}"}\n`);
const file = join(dir, 'config.yaml');
writeFileSync(
  file,
  configYaml({
    migration: MIGRATION,
    upstreams: { python: ups.python.url, go: ups.go.url },
    settings: {
      LISTEN: '127.0.0.1:0',
      ADMIN_LISTEN: '127.0.0.1:0',
      ACCESS_LOG: 'off',
      REQUEST_BODY_TIMEOUT_SECONDS: BODY_TIMEOUT_SECONDS,
      REQUEST_BODY_MIN_BYTES_PER_SECOND: 1024,
      DASHBOARD: { ADMIN_TOKEN_FILE: 'admin.token', USERS_FILE: 'users.yaml' },
    },
  }),
);
const sb = await startServe(t, file);
const mix = defaultMix();
// Made meanwhile, for the last subtest (a rejection is awaited there, not lost).
const embedded = startEmbedded();
embedded.catch(() => {
  /* reported by the subtest that awaits it */
});

const before = await scrapeMetrics(sb.adminPort);
const idle = await runNormalTraffic(sb.port, mix, { clients: 4, seconds: IDLE_SECONDS, rate: 200 });
const mark = { python: ups.python.requests.length, go: ups.go.requests.length };
const slow = startSlowBodies({ port: sb.port, count: SLOW_CONNECTIONS, targets: SLOW_TARGETS, reconnect: false });
const flood = startLoginFlood({ adminPort: sb.adminPort, addresses: FLOOD_ADDRESSES, concurrency: 8, kinds: ['api-basic', 'dashboard-form', 'api-bearer'] });
const malformed = startMalformedLoop(sb.port, 2);
const attack = await runNormalTraffic(sb.port, mix, { clients: 4, seconds: ATTACK_SECONDS, rate: 200 });
const malformedStats = await malformed.stop();
const floodStats = await flood.stop();
// Every slow body should be cut by now; a little longer for stragglers, then whatever is left is closed by us.
await waitFor(() => slow.stats.cutAfterMs.length >= SLOW_CONNECTIONS, 3000, 50);
const slowStats = await slow.stop();
await sleep(300); // the proxy's close handlers (client_abort accounting) run before the scrape
const after = await scrapeMetrics(sb.adminPort);

t.comment(`normal traffic: idle ${idle.ok} ok / ${idle.failed} failed; under attack ${attack.ok} ok / ${attack.failed} failed`);
t.comment(`slow bodies: ${JSON.stringify(slowStats)}`);
t.comment(`login flood: ${JSON.stringify(floodStats)}`);
t.comment(`malformed: ${JSON.stringify(malformedStats)}`);

t.test("every normal request during the attack gets its owner's answer", async (t) => {
  t.equal(idle.failed, 0, `idle: no failures (${idle.failures.join('; ')})`);
  t.ok(attack.ok > 0, `requests were made under attack (${attack.ok})`);
  t.equal(attack.failed, 0, `under attack: no failures (${attack.failures.join('; ')})`);
});

t.test('no owner is charged an error: switchboard_upstream_errors_total does not move', async (t) => {
  const d = delta(upstreamErrorsByOwner(before), upstreamErrorsByOwner(after));
  const byKind = delta(upstreamErrorsByKind(before), upstreamErrorsByKind(after));
  for (const owner of ['python', 'go']) t.equal(d.get(owner) ?? 0, 0, `${owner}: Δ ${d.get(owner) ?? 0} (by kind: ${fmt(byKind)})`);
});

t.test('malformed requests are answered by the edge and reach no owner', async (t) => {
  for (const c of MALFORMED) {
    const got = malformedStats.byCase[c.name] ?? {};
    const sent = Object.values(got).reduce((a, b) => a + b, 0);
    t.ok(sent > 0, `${c.name}: sent ${sent} times`);
    const wrong = Object.entries(got).filter(([s]) => !c.statuses.includes(Number(s)));
    t.same(wrong, [], `${c.name}: answered ${c.statuses.join('/')} (got ${JSON.stringify(got)})`);
    const seen = [...ups.python.requests.slice(mark.python), ...ups.go.requests.slice(mark.go)].filter((r) => r.headers[PROBE_HEADER] === c.name);
    if (c.kind === 'refused') {
      t.equal(seen.length, 0, `${c.name}: reached no owner${seen.length ? ` (reached ${seen[0]!.upstream} as ${seen[0]!.method} ${seen[0]!.url})` : ''}`);
      continue;
    }
    // Forwarded: only ever as the plain origin-form request it stands for.
    const f = c.forwardedAs!;
    const bad = seen.filter((r) => r.url !== f.url || r.headers.host !== f.host || (f.without ?? []).some((h) => r.headers[h] !== undefined));
    t.same(
      bad.map((r) => `${r.method} ${r.url} ${JSON.stringify(r.headers)}`),
      [],
      `${c.name}: an owner saw it ${seen.length} times, only as ${f.url} with Host ${f.host}${f.without ? `, without ${f.without.join(', ')}` : ''}`,
    );
  }
  const odd = [...oddShapes(ups.python, mark.python), ...oddShapes(ups.go, mark.go)];
  t.same(
    odd.map((r) => `${r.upstream}: ${r.method} ${r.url}`),
    [],
    'no owner saw an upgrade, a dot segment or a non-origin-form target',
  );
});

t.test('slow bodies are cut by the proxy with a 408', async (t) => {
  t.equal(slowStats.opened, SLOW_CONNECTIONS, 'no reconnects');
  t.equal(
    slowStats.answered['408'] ?? 0,
    SLOW_CONNECTIONS,
    `every slow connection got a 408 (answered ${JSON.stringify(slowStats.answered)}, closed without an answer ${slowStats.closedWithoutAnswer}, still open after ${ATTACK_SECONDS + 3} s ${slowStats.openAtStop})`,
  );
  const late = slowStats.cutAfterMs.filter((ms) => ms > (BODY_TIMEOUT_SECONDS * 2 + 2) * 1000);
  t.same(late.map(Math.round), [], `each cut within two windows of ${BODY_TIMEOUT_SECONDS} s (and 2 s of slack)`);
  const seenSlow = [...ups.python.requests, ...ups.go.requests].filter((r) => r.headers[SLOW_HEADER] !== undefined);
  t.notOk(
    seenSlow.some((r) => r.complete),
    'no owner got a slow body as if it were complete',
  );
});

t.test('the login flood gets 401/429 only; the limiter holds; a right login still works', async (t) => {
  for (const [kind, got] of Object.entries(floodStats.byKind)) {
    const allowed = kind === 'api-bearer' ? ['401'] : ['401', '429'];
    const wrong = Object.entries(got).filter(([s]) => !allowed.includes(s));
    t.ok(Object.keys(got).length > 0, `${kind}: sent`);
    t.same(wrong, [], `${kind}: only ${allowed.join('/')} (got ${JSON.stringify(got)})`);
  }
  // 20 failures per address in the window, then 429 before any password is checked: at most 20 bcrypt checks per address.
  const lf = delta(loginFailures(before), loginFailures(after));
  const checked = (lf.get('wrong_password') ?? 0) + (lf.get('unknown_name') ?? 0);
  t.ok(
    checked <= MAX_FAILURES_PER_ADDRESS * FLOOD_ADDRESSES.length,
    `passwords checked ${checked} ≤ ${MAX_FAILURES_PER_ADDRESS} × ${FLOOD_ADDRESSES.length} addresses (login failures: ${fmt(lf)})`,
  );

  // From 127.0.0.1, which did not flood: the user's Basic credentials, the admin token, the login form.
  const state = await request(sb.adminPort, { path: '/control/v1/state', headers: { authorization: basic(USER.name, USER.password) } });
  t.equal(state.status, 200, `Basic ${USER.name}: 200 (${state.text().slice(0, 120)})`);
  const tok = await request(sb.adminPort, { path: '/control/v1/state', headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(tok.status, 200, 'the admin token: 200');
  const form = new URLSearchParams({ name: USER.name, password: USER.password }).toString();
  const login = await request(sb.adminPort, {
    method: 'POST',
    path: '/dashboard/login',
    body: form,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) },
  });
  t.equal(login.status, 303, 'the login form: 303 to the dashboard');
  t.match(String(login.headers['set-cookie'] ?? ''), /sb_session=/, 'with a session');
});

// ---------------------------------------------------------------- /v2/auth against the embedded registry

t.test('a /v2/auth flood on the embedded registry: 401/429, the owners unharmed, another user still logs in', async (t) => {
  const { serve: esb, host } = await embedded;
  const token = async (user: string, password: string): Promise<{ status: number; token?: string }> => {
    const r = await request(esb.port, {
      path: `/v2/auth?account=${user}&service=${encodeURIComponent(host)}&scope=${encodeURIComponent(`repository:${user}/app:pull`)}`,
      headers: { authorization: basic(user, password) },
    });
    return { status: r.status, ...(r.status === 200 ? { token: (r.json() as { token: string }).token } : {}) };
  };
  const bobToken = await token('bob', 'bob-password');
  t.equal(bobToken.status, 200, 'bob logs in before the flood');
  const emix: NormalRequest[] = [
    { what: 'GET /v2/ (embedded, bearer)', method: 'GET', path: '/v2/', owner: 'go', headers: { authorization: `Bearer ${bobToken.token}` }, checkUpstreamHeader: false },
    ...mix.filter((r) => r.owner === 'python'),
  ];
  const ebefore = await scrapeMetrics(esb.adminPort);
  const eflood = startLoginFlood({
    proxyPort: esb.port,
    registry: { service: host, user: 'alice' },
    addresses: floodAddresses(2),
    concurrency: 4,
    kinds: ['v2-auth-user', 'v2-auth-unknown'],
  });
  const traffic = await runNormalTraffic(esb.port, emix, { clients: 2, seconds: 3, rate: 100 });
  const estats = await eflood.stop();
  await sleep(200);
  const eafter = await scrapeMetrics(esb.adminPort);
  t.comment(`/v2/auth flood: ${JSON.stringify(estats)}; normal traffic ${traffic.ok} ok / ${traffic.failed} failed`);
  t.equal(traffic.failed, 0, `normal traffic unharmed (${traffic.failures.join('; ')})`);
  // 401: Quay's "Invalid Username or Password" / "Too many login attempts."; 429: the registry's login limiter.
  for (const [kind, got] of Object.entries(estats.byKind)) {
    t.same(
      Object.keys(got).filter((s) => s !== '401' && s !== '429'),
      [],
      `${kind}: only 401/429 (got ${JSON.stringify(got)})`,
    );
  }
  const d = delta(upstreamErrorsByOwner(ebefore), upstreamErrorsByOwner(eafter));
  t.same(Object.fromEntries(d), {}, `switchboard_upstream_errors_total did not move (by kind: ${fmt(delta(upstreamErrorsByKind(ebefore), upstreamErrorsByKind(eafter)))})`);
  t.equal((await token('bob', 'bob-password')).status, 200, 'bob still logs in after the flood');
});

/**
 * `serve` with the embedded registry as go (Quay's database auth; users alice
 * and bob from `quay user create`) and a recording python, made while the
 * first run goes on: user creation (bcrypt at cost 12) and the registry's start take seconds.
 */
async function startEmbedded(): Promise<{ serve: ServeProcess; host: string }> {
  const python = (await startUpstreams(t)).python;
  const dir = tempDir(t, 'swb-soak-embedded-');
  const host = `127.0.0.1:${await deadPort()}`;
  const dataDir = join(dir, 'quay');
  const file = join(dir, 'config.yaml');
  // The registry's own keys beside MIGRATION and SWITCHBOARD: Quay's database auth, tokens for this listener.
  writeFileSync(
    file,
    YAML.stringify({
      SERVER_HOSTNAME: host,
      PREFERRED_URL_SCHEME: 'http',
      AUTHENTICATION_TYPE: 'Database',
      DATABASE_SECRET_KEY: randomUUID(),
      MIGRATION: { ROUTE_OWNER_DEFAULT: 'python', ROUTE_OWNER_FAMILY_REGISTRY_V2: 'go', ROUTE_OWNER_CAP_V2_UPLOAD: 'python' },
      SWITCHBOARD: { LISTEN: host, ADMIN_LISTEN: '127.0.0.1:0', ACCESS_LOG: 'off', UPSTREAMS: { python: python.url }, EMBEDDED_REGISTRY: { DATA_DIR: dataDir } },
    }),
  );
  for (const u of ['alice', 'bob']) {
    // one after the other: the first one lays down the database
    const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
      const c = spawn(
        process.execPath,
        [join(ROOT, 'bin/quay.js'), 'user', 'create', u, '--email', `${u}@example.com`, '--password-stdin', '--config', file, '--data-dir', dataDir],
        { stdio: ['pipe', 'ignore', 'pipe'] },
      );
      let err = '';
      c.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
      });
      c.on('close', (code) => resolve({ code, err }));
      c.stdin!.end(`${u}-password\n`);
    });
    if (r.code !== 0) throw new Error(`quay user create ${u}: ${r.err}`);
  }
  return { serve: await startServe(t, file), host };
}
