// The dashboard as an operator uses it (issue 13), without a browser: a real
// ControlPlane on a node:http server on port 0, over a real snapshot provider,
// with a fake go readiness. The readiness gate (pure, and through the API and
// the dashboard, forced with a reason), values as operators write them,
// the compact owners page, the capability summary with live figures per owner
// for the capability alone, history rows, and rate-limited logins.

import t from 'tap';
import { createServer, type Server } from 'node:http';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { Counter, Histogram, Registry } from 'prom-client';
import { loadInventory } from '../../../owner-maps/index.js';
import { FileSnapshotProvider } from '../../snapshots/provider.js';
import { parseConfig } from '../../config/parse.js';
import { buildSnapshot, type Snapshot } from '../../core/snapshot.js';
import { decide } from '../../core/decide.js';
import { DashboardAuth } from '../../control/auth.js';
import { ControlPlane, type ControlDeps } from '../../control/dashboard.js';
import { readinessGate, reachesGoMore, routesNewlyToGo, type ReadinessVerdict } from '../../control/readiness-gate.js';
import { LoginLimiter } from '../../control/login-limiter.js';
import { LiveStats } from '../../control/stats.js';
import { auditPath } from '../../control/switches.js';
import { ProxyMetrics } from '../../proxy/metrics.js';
import { createLogger } from '../../../lib/log.js';

const inv = loadInventory();
const TOKEN = 'dashboard-ops-admin-token-0123456789';
const root = mkdtempSync(join(tmpdir(), 'swb-dashboard-ops-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const usersFile = join(root, 'users.yaml');
writeFileSync(
  usersFile,
  `- {name: olga, role: operator, password_bcrypt: "${bcrypt.hashSync('olga-pw', 4)}"}\n- {name: rita, role: read-only, password_bcrypt: "${bcrypt.hashSync('rita-pw', 4)}"}\n`,
);
writeFileSync(join(root, 'admin.token'), `${TOKEN}\n`);

function snap(yaml: string, env: Record<string, string> = {}): Snapshot {
  const r = parseConfig(yaml, 'c.yaml', inv, env);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return buildSnapshot(inv, r.config, 1, new Date());
}

/** A go readiness to steer: go implements `yes`; reachable or not. */
class FakeReadiness {
  reachable = true;
  constructor(private readonly yes: ReadonlySet<string>) {}
  implements(c: string): ReadinessVerdict {
    return !this.reachable ? 'unknown' : this.yes.has(c) ? 'yes' : 'no';
  }
  current(): { reachable: boolean; checked_at: string | null; error?: string | null } {
    return this.reachable
      ? { reachable: true, checked_at: '2024-05-01T10:00:00.000Z' }
      : { reachable: false, checked_at: '2024-05-01T10:00:05.000Z', error: 'connection refused (ECONNREFUSED) 10.1.2.3:8443' };
  }
}

interface Harness {
  base: string;
  file: string;
  logs: Record<string, unknown>[];
  registry: Registry;
  metrics: ProxyMetrics;
  stats: LiveStats;
  /** The live figures' clock (ms): tests move it, nothing sleeps. */
  clock: { now: number };
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  form(path: string, fields: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
}

const bearer = { authorization: `Bearer ${TOKEN}` };

async function start(t: { teardown(fn: () => unknown): void }, config: string, extra: Partial<ControlDeps> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(root, 'run-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, config);
  // The control plane's STATE_DIR is the provider's, as in serve: the kill file it writes is in force.
  const provider = await FileSnapshotProvider.start({ file, inventory: inv, watch: false, pollSeconds: 15, stateDir: join(dir, 'state') });
  t.teardown(() => provider.close());
  const logs: Record<string, unknown>[] = [];
  const metrics = new ProxyMetrics({
    snapshot: () => ({ version: 1, updated_at: new Date().toISOString(), hard_failure: false, kill_switch: false }),
    reloads: () => ({ reloads_total: 0, reload_failures_total: 0 }) as never,
    pins: async () => 0,
    inflight: () => 0,
  });
  const clock = { now: 1_000_000 };
  const stats = new LiveStats(metrics.registry, 300, 5000, () => clock.now);
  const control = new ControlPlane({
    provider,
    inventory: inv,
    file,
    env: {},
    stats,
    stateDir: join(dir, 'state'),
    log: createLogger(
      {},
      {
        write: (l) => {
          logs.push(JSON.parse(l) as Record<string, unknown>);
        },
      },
    ),
    auth: new DashboardAuth({ tokenFile: join(root, 'admin.token'), usersFile, sessionHours: 1 }),
    ...extra,
  });
  const server: Server = createServer((req, res) => {
    void control.handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    base,
    file,
    logs,
    registry: metrics.registry,
    metrics,
    stats,
    clock,
    get: (path, headers = bearer) => fetch(base + path, { headers, redirect: 'manual' }),
    post: (path, body, headers = bearer) =>
      fetch(base + path, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body), redirect: 'manual' }),
    form: (path, fields, headers = bearer) =>
      fetch(base + path, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
        redirect: 'manual',
      }),
  };
}

/** The HTML of one table row by id. */
function row(html: string, id: string): string {
  const m = new RegExp(`<tr id="${id}"[^>]*>([\\s\\S]*?)</tr>`).exec(html);
  return m ? m[1]! : '';
}

t.test('the readiness gate: which capabilities a change newly sends to go', async (t) => {
  const goImplements = { implements: (c: string): ReadinessVerdict => (c === 'V2_PULL' ? 'yes' : c === 'V2_TAGS' ? 'unknown' : 'no') };
  const s = snap('MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n  ROUTE_OWNER_CAP_V2_PUSH: canary\n  ROUTE_CANARY_CAP_V2_PUSH_PERCENT: 10\n');
  const g = readinessGate(s, [{ key: 'ROUTE_OWNER_CAP_V2_CATALOG', value: 'go' }], goImplements);
  t.same(
    g.blocked.map((b) => [b.capability, b.verdict]),
    [['V2_CATALOG', 'no']],
    'python → go of a capability go lacks: blocked',
  );
  t.ok(g.blocked[0]!.routes.length > 0 && g.blocked[0]!.routes.every((r) => inv.byId.get(r)?.capability === 'V2_CATALOG'), 'with its routes');
  t.same(readinessGate(s, [{ key: 'ROUTE_OWNER_CAP_V2_PULL', value: 'go' }], goImplements), { blocked: [], unverified: [] }, 'one go implements: nothing');
  t.same(
    readinessGate(
      s,
      [
        { key: 'ROUTE_OWNER_CAP_V2_TAGS', value: 'canary' },
        { key: 'ROUTE_CANARY_CAP_V2_TAGS_PERCENT', value: 5 },
      ],
      goImplements,
    ).unverified.map((b) => b.capability),
    ['V2_TAGS'],
    'unknown readiness: unverified, not blocked',
  );
  t.same(
    readinessGate(s, [{ key: 'ROUTE_OWNER_CAP_V2_TAGS', value: 'canary' }], goImplements),
    { blocked: [], unverified: [] },
    'a canary that selects nobody sends nothing to go',
  );
  t.same(
    readinessGate(s, [{ key: 'ROUTE_CANARY_CAP_V2_PUSH_PERCENT', value: 25 }], goImplements).blocked.map((b) => b.capability),
    ['V2_PUSH'],
    'raising a canary on a capability go lacks: blocked',
  );
  t.same(
    readinessGate(s, [{ key: 'ROUTE_CANARY_CAP_V2_PUSH_ORGS', value: ['acme'] }], goImplements).blocked.map((b) => b.capability),
    ['V2_PUSH'],
    'adding a name to its lists: blocked',
  );
  t.same(readinessGate(s, [{ key: 'ROUTE_CANARY_CAP_V2_PUSH_PERCENT', value: 5 }], goImplements).blocked, [], 'lowering it: allowed');
  t.same(
    readinessGate(
      s,
      [
        { key: 'ROUTE_OWNER_CAP_V2_PUSH', value: 'python' },
        { key: 'ROUTE_CANARY_CAP_V2_PUSH_PERCENT', value: null },
      ],
      goImplements,
    ).blocked,
    [],
    'rolling back: allowed',
  );
  const family = readinessGate(s, [{ key: 'ROUTE_OWNER_FAMILY_REGISTRY_V2', value: 'go' }], goImplements);
  t.ok(
    family.blocked.some((b) => b.capability === 'V2_CATALOG') && !family.blocked.some((b) => b.capability === 'V2_PULL'),
    'a family switch to go names every capability of it go lacks',
  );
  t.notOk(
    family.blocked.some((b) => b.capability === 'V2_PUSH'),
    'a capability switch below the family keeps its canary: not moved',
  );
  t.same(
    readinessGate(s, [{ key: 'ROUTE_OWNER_CAP_V2_PUSH', value: 'go' }], goImplements).blocked.map((b) => b.capability),
    ['V2_PUSH'],
    'a canary at 10 % becoming go reaches more',
  );
  const everything = readinessGate(s, [{ key: 'ROUTE_OWNER_DEFAULT', value: 'go' }], goImplements);
  t.ok(
    everything.blocked.some((b) => b.capability.startsWith('API_')),
    'the default level too',
  );
  const underGo = snap('MIGRATION:\n  ROUTE_OWNER_FAMILY_REGISTRY_V2: go\n  ROUTE_OWNER_CAP_V2_CATALOG: python\n');
  t.same(
    readinessGate(underGo, [{ key: 'ROUTE_OWNER_CAP_V2_CATALOG', value: null }], goImplements).blocked.map((b) => b.capability),
    ['V2_CATALOG'],
    'unsetting a capability under a go family sends it to go',
  );
  const killed = snap('MIGRATION:\n  MIGRATION_FORCE_PYTHON: true\n');
  t.same(
    readinessGate(killed, [{ key: 'ROUTE_OWNER_CAP_V2_CATALOG', value: 'go' }], goImplements).blocked.map((b) => b.capability),
    ['V2_CATALOG'],
    'counted under the kill switch too: it takes effect when the kill switch goes off',
  );
  const envSet = snap('MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n', { ROUTE_OWNER_CAP_V2_CATALOG: 'python' });
  t.same(readinessGate(envSet, [{ key: 'ROUTE_OWNER_CAP_V2_CATALOG', value: 'go' }], goImplements).blocked, [], 'a key the environment sets does not move with the file');
  t.equal(
    routesNewlyToGo(s, [{ key: 'ROUTE_OWNER_ROUTE_0016', value: 'go' }])
      .get('V2_PULL')
      ?.map((r) => r.id)
      .join(),
    'ROUTE_0016',
    'one route switch: that route',
  );
  const plans = snap('MIGRATION:\n  ROUTE_OWNER_CAP_V2_PULL: canary\n  ROUTE_CANARY_CAP_V2_PULL_PERCENT: 10\n').owner_map.routePlans;
  t.notOk(reachesGoMore(plans[inv.byId.get('ROUTE_0016')!.index]!, plans[inv.byId.get('ROUTE_0016')!.index]!), 'the same plan reaches no further');
});

t.test('API and dashboard: go and canary refused where go does not implement the capability, unless forced with a reason', async (t) => {
  const readiness = new FakeReadiness(new Set(['V2_PULL', 'V2_TAGS']));
  const h = await start(t, 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n  ROUTE_OWNER_CAP_V2_TAGS: go\n', { readiness });
  const before = readFileSync(h.file, 'utf8');

  const refused = await h.post('/control/v1/plan', { action: 'owner', scope: 'CAP_V2_CATALOG', value: 'go' });
  t.equal(refused.status, 409, 'plan: 409');
  const rj = (await refused.json()) as Record<string, any>;
  t.equal(rj.code, 'SWB_GO_NOT_IMPLEMENTED');
  t.match(
    rj.error,
    /^go does not implement V2_CATALOG \(\d+ routes?\): this change would send its requests to go, where they would fail; nothing written — to do it anyway, send "force": true with a "reason"$/,
  );
  t.same(
    rj.not_implemented_on_go.map((b: { capability: string }) => b.capability),
    ['V2_CATALOG'],
  );
  const ramp = await h.post('/control/v1/apply', { action: 'ramp', scope: 'CAP_V2_CATALOG', percent: 5, expected_version: 1, reason: 'try it' });
  t.equal(ramp.status, 409, 'apply of a ramp (canary): 409 without force');
  const noReason = await h.post('/control/v1/apply', { action: 'owner', scope: 'CAP_V2_CATALOG', value: 'go', expected_version: 1, force: true });
  t.equal(noReason.status, 400, 'force without a reason: refused');
  t.equal(readFileSync(h.file, 'utf8'), before, 'nothing written');
  const forcedPlan = await h.post('/control/v1/plan', { action: 'owner', scope: 'CAP_V2_CATALOG', value: 'go', force: true, reason: 'go has it behind a flag' });
  t.equal(forcedPlan.status, 200, 'plan with force and a reason: 200');
  t.match(await forcedPlan.json(), { readiness: { forced: true, not_implemented_on_go: [{ capability: 'V2_CATALOG', verdict: 'no' }] } });
  const fine = await h.post('/control/v1/plan', { action: 'owner', scope: 'CAP_V2_PULL', value: 'go' });
  t.equal(fine.status, 200, 'a capability go implements: planned');
  t.match(await fine.json(), { readiness: { forced: false, not_implemented_on_go: [], unknown_on_go: [] } });
  t.equal((await h.post('/control/v1/plan', { action: 'rollback', scope: 'CAP_V2_CATALOG' })).status, 200, 'rolling back is never gated');

  const forced = await h.post('/control/v1/apply', {
    action: 'owner',
    scope: 'CAP_V2_CATALOG',
    value: 'go',
    expected_version: 1,
    force: true,
    reason: 'incident 7: go has it behind a flag',
  });
  t.equal(forced.status, 200, 'apply forced with a reason: written');
  t.match(readFileSync(h.file, 'utf8'), /ROUTE_OWNER_CAP_V2_CATALOG: go/);
  const line = h.logs.find((l) => l.forced === true);
  t.match(
    line,
    {
      level: 'warn',
      msg: /FORCED past the readiness gate/,
      actor: 'admin-token',
      via: 'api',
      reason: 'incident 7: go has it behind a flag',
      not_implemented_on_go: ['V2_CATALOG'],
    },
    'the log line says forced',
  );
  const audit = readFileSync(auditPath(h.file, null), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(
    audit.at(-1),
    { key: 'ROUTE_OWNER_CAP_V2_CATALOG', new: 'go', reason: 'incident 7: go has it behind a flag', snapshot_version: 1 },
    'the audit line carries the reason and the snapshot version',
  );

  // The dashboard: not offered, and a family change that reaches it is shown blocked.
  const owners = await (await h.get('/dashboard')).text();
  const catalog = row(owners, 'cap-V2_CATALOG');
  t.match(catalog, /not implemented on go/, 'the owners row says go lacks it');
  t.notMatch(catalog, /Ramp to|<option>go<\/option>|<option>canary<\/option>|ramp-typed/, 'no ramp, go or canary offered for it');
  t.match(catalog, /Roll back to python/, 'rollback stays');
  t.match(catalog, /<option>python<\/option><option>unset<\/option>/, 'python and unset stay');
  t.match(row(owners, 'cap-V2_PULL'), /implemented on go[\s\S]*Ramp to 5%/, 'a capability go implements keeps its ramps');
  const capPage = await (await h.get('/dashboard/capability/V2_CATALOG')).text();
  t.match(
    capPage,
    /<dd id="cap-readiness"><span class="ready-no live" title="routes of it are sent to go now">not implemented on go<\/span>/,
    'the capability page says so, as an alarm: it is on go (forced above)',
  );
  t.match(row(owners, 'cap-V2_CATALOG'), /class="ready-no live"/, 'so does its row');
  t.match(row(owners, 'cap-V2_PUSH'), /<span class="ready-no">not implemented on go<\/span>/, 'on python it is no alarm');
  t.match(capPage, /id="gated"/);
  t.notMatch(capPage, /data-test="ramp-/, 'no ramp on its page either');
  const preview = await (await h.form('/dashboard/preview', { action: 'owner', scope: 'FAMILY_REGISTRY_V2', value: 'go' })).text();
  t.match(
    preview,
    /<div class="err" id="gate"><p><b>Not implemented on go:<\/b>[^<]*V2_UPLOAD \(5 routes\)/,
    'the preview names what go lacks (V2_CATALOG is on go already: forced above)',
  );
  t.match(preview, /name="force" value="true"/, 'and offers to force it');
  const changes = /name="changes" value="([^"]+)"/.exec(preview)![1]!.replace(/&quot;/g, '"');
  const blocked = await h.form('/dashboard/apply', { changes, expected_version: '2', reason: 'all of v2', back: 'family-REGISTRY_V2' });
  t.equal(blocked.status, 409, 'apply without the box ticked: refused');
  t.match(await blocked.text(), /go does not implement .*tick &quot;send them to go anyway&quot;/);

  // Not reachable: unknown, shown, never refused.
  readiness.reachable = false;
  const unknownPage = await (await h.get('/dashboard')).text();
  t.match(row(unknownPage, 'cap-V2_CATALOG'), /go upstream not reachable: unknown/);
  t.match(unknownPage, /go upstream not reachable: every capability unknown/);
  t.notMatch(unknownPage, /10\.1\.2\.3/, 'the upstream address in the error is not shown');
  const unknown = await h.post('/control/v1/plan', { action: 'owner', scope: 'CAP_V2_UPLOAD', value: 'go' });
  t.equal(unknown.status, 200, 'unknown readiness does not refuse');
  t.match(await unknown.json(), { readiness: { unknown_on_go: [{ capability: 'V2_UPLOAD', verdict: 'unknown' }] } });
  const unknownPreview = await (await h.form('/dashboard/preview', { action: 'owner', scope: 'CAP_V2_UPLOAD', value: 'go' })).text();
  t.match(unknownPreview, /id="gate-unknown">go upstream not reachable: nobody can tell whether go implements V2_UPLOAD/);
});

t.test('values as operators write them; compact owners page; back to the changed row', async (t) => {
  const h = await start(
    t,
    'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n  ROUTE_OWNER_CAP_V2_TAGS: go\n  ROUTE_OWNER_CAP_V2_PUSH: canary\n  ROUTE_CANARY_CAP_V2_PUSH_ORGS: [acme, beta]\n  ROUTE_CANARY_CAP_V2_PUSH_PERCENT: 25\n',
  );
  const owners = await (await h.get('/dashboard')).text();
  const table = /<table id="owners"[\s\S]*?<\/table>/.exec(owners)![0];
  t.notMatch(table, /null|&quot;|"acme"/, 'no null and no JSON quotes in the owners table');
  t.match(row(owners, 'cap-V2_PUSH'), /orgs \[acme, beta\] · percent 25/, 'lists and percent as written');
  t.match(
    row(owners, 'cap-V2_TAGS'),
    /<select name="value" aria-label="owner for CAP_V2_TAGS"><option>python<\/option><option selected>go<\/option>/,
    'the owner select shows the switch in force (go)',
  );
  t.match(row(owners, 'cap-V2_PULL'), /<option selected>unset<\/option>/, 'unset where no switch is set');
  t.match(row(owners, 'cap-V2_PUSH'), /<option selected>canary<\/option>/);
  t.match(
    owners,
    /<tr class="family" id="family-REGISTRY_V2"><th colspan="6">REGISTRY_V2 <span class="muted">family switch ROUTE_OWNER_FAMILY_REGISTRY_V2: \(unset\)/,
    'a family row says (unset), not null',
  );
  const capRows = [...owners.matchAll(/<tr id="cap-[^"]+"[^>]*>([\s\S]*?)<\/tr>/g)].map((m) => m[1]!);
  t.equal(capRows.length, inv.capabilities.length, 'one row per capability');
  t.ok(
    capRows.every((r) => (r.match(/<details/g) ?? []).length === 1 && (r.match(/<summary>/g) ?? []).length === 1),
    'each with exactly one menu',
  );
  t.ok(
    capRows.every((r) => !/<(button|select|input)[^>]*>/.test(r.replace(/<details[\s\S]*<\/details>/, ''))),
    'and no control outside it',
  );

  const preview = await (await h.form('/dashboard/preview', { action: 'ramp', scope: 'CAP_V2_PULL', percent: 'next', back: 'ignored' })).text();
  const changes = /<table id="changes"[\s\S]*?<\/table>/.exec(preview)![0];
  t.match(changes, /ROUTE_OWNER_CAP_V2_PULL<\/code><\/td><td>\(unset\)<\/td><td>canary<\/td>/, 'preview: (unset) → canary');
  t.match(changes, /ROUTE_CANARY_CAP_V2_PULL_PERCENT<\/code><\/td><td>\(unset\)<\/td><td>5<\/td>/, 'preview: (unset) → 5');
  t.match(preview, /name="back" value="cap-V2_PULL"/, 'the preview remembers the row (from the scope, not the form)');
  const lists = await (await h.form('/dashboard/preview', { action: 'lists', scope: 'CAP_V2_PUSH', selector: 'orgs', values: 'acme, gamma' })).text();
  t.match(lists, /<td>\[acme, beta\]<\/td><td>\[acme, gamma\]<\/td>/, 'lists as [a, b]');
  const changesField = /name="changes" value="([^"]+)"/.exec(preview)![1]!.replace(/&quot;/g, '"');
  const applied = await h.form('/dashboard/apply', { changes: changesField, expected_version: '1', reason: 'ramp pulls', back: 'cap-V2_PULL' });
  t.equal(applied.status, 303);
  t.equal(applied.headers.get('location'), '/dashboard?applied=2&changed=cap-V2_PULL#cap-V2_PULL', 'apply goes back to the row');
  const after = await (await h.get('/dashboard?applied=2&changed=cap-V2_PULL')).text();
  t.match(after, /<tr id="cap-V2_PULL" class="changed">/, 'the row is highlighted');
  t.match(after, /id="applied">Applied: snapshot <b>v2<\/b> is in force/);
  const evil = await h.form('/dashboard/apply', { changes: '[{"key":"ROUTE_OWNER_CAP_V2_PUSH","value":"python"}]', expected_version: '2', reason: 'x', back: '"><script>' });
  t.equal(evil.headers.get('location'), '/dashboard?applied=3', 'a forged row is dropped');

  const trace = await (await h.get(`/dashboard/capability/V2_PULL?method=GET&path=${encodeURIComponent('/v2/acme/app/manifests/latest')}`)).text();
  t.match(/<table id="trace"[\s\S]*?<\/table>/.exec(trace)![0], /ROUTE_OWNER_CAP_V2_PULL<\/td><td>canary<\/td>/, 'trace values as written');
  t.notMatch(/<table id="trace"[\s\S]*?<\/table>/.exec(trace)![0], /null|&quot;/);
  t.match(trace, /<select name="value" aria-label="owner for CAP_V2_PULL">[\s\S]*?<option selected>canary<\/option>/, 'the capability page preselects too');
});

t.test('the capability page: summary with live figures per owner for this capability', async (t) => {
  const h = await start(
    t,
    'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n  ROUTE_OWNER_CAP_V2_PULL: canary\n  ROUTE_CANARY_CAP_V2_PULL_PERCENT: 50\n  ROUTE_CANARY_ORGS: [acme]\n  ROUTE_OWNER_ROUTE_0011: go\n  ROUTE_OWNER_CAP_V2_TAGS: go\n',
    { readiness: new FakeReadiness(new Set(['V2_PULL'])) },
  );
  const s = snap(readFileSync(h.file, 'utf8'));
  const pull = (ns: string): ReturnType<typeof decide> => decide(s, { method: 'GET', path: `/v2/${ns}/app/manifests/latest` });
  const goPull = ['acme', ...Array.from({ length: 40 }, (_, i) => `n${i}`)].map(pull).find((d) => d.owner === 'go')!;
  const pyPull = Array.from({ length: 40 }, (_, i) => pull(`p${i}`)).find((d) => d.owner === 'python')!;
  const tags = decide(s, { method: 'GET', path: '/v2/acme/app/tags/list' });
  t.equal(goPull.capability, 'V2_PULL');
  await h.stats.sample();
  for (let i = 0; i < 30; i++) h.metrics.decision(goPull);
  for (let i = 0; i < 10; i++) h.metrics.decision(pyPull);
  for (let i = 0; i < 50; i++) h.metrics.decision(tags);
  for (let i = 0; i < 2; i++) h.metrics.upstreamError('go', 'REGISTRY_V2', 'refused');
  h.metrics.clientAbort('go', 'REGISTRY_V2', 'V2_PULL');
  h.clock.now += 10_000;
  const html = await (await h.get('/dashboard/capability/V2_PULL')).text();
  const summary = /<div class="box" id="summary">[\s\S]*?<\/div>/.exec(html)![0];
  t.match(
    summary,
    /<dd id="cap-owner">mixed<ul><li>\d routes?: <span class="canary">canary 50% \+ orgs \[acme\]<\/span><\/li><li>1 route: <span class="go">go<\/span><\/li><\/ul>/,
    'owner per group of routes (a route switch splits it)',
  );
  t.match(summary, /<code>ROUTE_OWNER_CAP_V2_PULL<\/code> at [^<]*config\.yaml:3/, 'who set it: key and file:line');
  t.match(summary, /<code>ROUTE_OWNER_ROUTE_0011<\/code> at [^<]*config\.yaml:6/);
  t.match(
    summary,
    /scope <code>CAP_V2_PULL<\/code><ul><li>orgs \[acme\] <span class="muted">\(ROUTE_CANARY_ORGS, inherited\)<\/span><\/li><li>repos \(unset\)<\/li><li>users \(unset\)<\/li><li>percent 50 <span class="muted">\(ROUTE_CANARY_CAP_V2_PULL_PERCENT\)<\/span><\/li><\/ul>/,
    'canary: percent and lists with where each comes from',
  );
  t.match(summary, /<dd id="cap-readiness"><span class="ready-yes">implemented on go<\/span>/);
  const live = /<table id="cap-live"[\s\S]*?<\/table>/.exec(summary)![0];
  t.match(live, /<tr data-owner="python">.*<td>10<\/td><\/tr>/, '10 python requests of V2_PULL');
  t.match(
    live,
    /<tr data-owner="go">.*<span class="hot"[^>]*>2\.50%<\/span>.*<td>30<\/td><\/tr>/,
    "go: 30 requests of V2_PULL (not V2_TAGS's 50); 2 errors of 80 go requests in the family: 2.50 %, above 1 %, in red",
  );
  t.match(summary, /error rate and latency of its whole family REGISTRY_V2 \(the proxy labels those by family only\)/, 'says what the error rate measures');
  const api = (await (await h.get('/control/v1/capabilities/V2_PULL')).json()) as Record<string, any>;
  t.match(api, {
    capability: 'V2_PULL',
    family: 'REGISTRY_V2',
    implemented_on_go: 'yes',
    live: {
      errors_and_latency_of: 'family',
      owners: [
        { owner: 'python', requests: 10 },
        { owner: 'go', requests: 30 },
      ],
    },
  });
});

t.test('live figures per capability: exact when errors and durations carry the capability label', async (t) => {
  const reg = new Registry();
  const decisions = new Counter({ name: 'switchboard_decisions_total', help: 'x', labelNames: ['owner', 'capability', 'family', 'reason'], registers: [reg] });
  const errors = new Counter({ name: 'switchboard_upstream_errors_total', help: 'x', labelNames: ['owner', 'capability', 'family', 'kind'], registers: [reg] });
  const duration = new Histogram({
    name: 'switchboard_upstream_request_duration_seconds',
    help: 'x',
    labelNames: ['owner', 'capability', 'family'],
    buckets: [0.01, 0.1, 1],
    registers: [reg],
  });
  let now = 1_000_000;
  const stats = new LiveStats(reg, 300, 5000, () => now);
  await stats.sample();
  decisions.inc({ owner: 'go', capability: 'V2_PULL', family: 'REGISTRY_V2', reason: 'canary_percent' }, 100);
  decisions.inc({ owner: 'go', capability: 'V2_PUSH', family: 'REGISTRY_V2', reason: 'capability_switch' }, 100);
  errors.inc({ owner: 'go', capability: 'V2_PUSH', family: 'REGISTRY_V2', kind: 'refused' }, 50);
  errors.inc({ owner: 'go', capability: 'V2_PULL', family: 'REGISTRY_V2', kind: 'timeout' }, 1);
  for (let i = 0; i < 100; i++) duration.observe({ owner: 'go', capability: 'V2_PULL', family: 'REGISTRY_V2' }, 0.005);
  for (let i = 0; i < 100; i++) duration.observe({ owner: 'go', capability: 'V2_PUSH', family: 'REGISTRY_V2' }, 0.5);
  now += 10_000;
  const f = await stats.capabilityFigures('V2_PULL', 'REGISTRY_V2');
  t.equal(f.errors_and_latency_of, 'capability');
  const go = f.owners.find((o) => o.owner === 'go')!;
  t.same([go.requests, go.requests_per_second, go.error_rate], [100, 10, 0.01], "V2_PULL alone: 1 error in 100 (not V2_PUSH's 50)");
  t.ok(go.p99_seconds! <= 0.01, `p99 of V2_PULL alone (${go.p99_seconds})`);
  const all = await stats.figures();
  t.equal(all.owners.find((o) => o.owner === 'go')!.requests, 200, 'the per-owner figures still add everything up');
});

t.test('history: snapshot version, via, and hand edits of config.yaml with their keys', async (t) => {
  const h = await start(t, 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n');
  t.equal(
    (await h.post('/control/v1/apply', { action: 'lists', scope: 'CAP_V2_PULL', selector: 'orgs', values: ['acme', 'beta'], expected_version: 1, reason: 'first orgs' })).status,
    200,
  );
  appendFileSync(
    auditPath(h.file, null),
    JSON.stringify({
      time: new Date(Date.now() + 1000).toISOString(),
      actor: '(file)',
      via: 'file edit',
      action: 'edit',
      key: 'ROUTE_OWNER_CAP_V2_TAGS, ROUTE_CANARY_PERCENT',
      keys: ['ROUTE_OWNER_CAP_V2_TAGS', 'ROUTE_CANARY_PERCENT'],
      old: null,
      new: null,
      reason: null,
      snapshot_version: 3,
      routes_changing_owner: 2,
    }) + '\n',
  );
  const html = await (await h.get('/dashboard/history')).text();
  const rows = [...html.matchAll(/<tr><td class="nowrap">[\s\S]*?<\/tr>/g)].map((m) => m[0]);
  t.equal(rows.length, 2);
  t.match(
    rows[0],
    /<td>\(file\)<\/td><td>file edit<\/td><td class="nowrap">became v3<\/td><td><code>ROUTE_OWNER_CAP_V2_TAGS<\/code>, <code>ROUTE_CANARY_PERCENT<\/code><\/td><td>—<\/td><td><\/td><td>2<\/td>/,
    'a hand edit: who, via, snapshot, the keys',
  );
  t.match(
    rows[1],
    /<td>admin-token<\/td><td>api<\/td><td class="nowrap">on v1<\/td><td><code>ROUTE_CANARY_CAP_V2_PULL_ORGS<\/code><\/td><td>\(unset\) → \[acme, beta\]<\/td><td>first orgs<\/td>/,
    'a change: via api, on snapshot v1, (unset) → [acme, beta]',
  );
  t.notMatch(html, /null|&quot;/, 'no null, no JSON quotes');
});

t.test('logins are rate-limited per name and per address, counted and logged', async (t) => {
  const h = await start(t, 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n');
  const login = (name: string, password: string): Promise<Response> => h.form('/dashboard/login', { name, password }, {});
  const form = await (await h.get('/dashboard/login', {})).text();
  t.match(form, /leave it empty to log in with the admin token/, 'the form says the name may be left empty');
  for (let i = 0; i < 5; i++) {
    const r = await login('olga', `wrong-${i}`);
    t.equal(r.status, 401, `failure ${i + 1}: 401`);
    if (i === 0) t.match(await r.text(), /<input name="name" autocomplete="username" value="olga">/, 'the form keeps the typed name');
  }
  const limited = await login('olga', 'olga-pw');
  t.equal(limited.status, 429, 'the sixth try, even with the right password: 429');
  const retry = Number(limited.headers.get('retry-after'));
  t.ok(retry > 0 && retry <= 300, `Retry-After in seconds (${retry})`);
  const text = await limited.text();
  t.match(text, /too many failed logins for this name; try again in \d+ s/, 'a clear message');
  t.match(text, /value="olga"/, 'the name kept');
  t.equal((await login('', TOKEN)).status, 303, 'another name from the same address still logs in (the token)');

  const basic = (name: string, pw: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${name}:${pw}`).toString('base64')}` });
  t.equal((await h.get('/control/v1/state', basic('rita', 'rita-pw'))).status, 200, 'Basic credentials work');
  for (let i = 0; i < 5; i++) t.equal((await h.get('/control/v1/state', basic('rita', 'nope'))).status, 401);
  const apiLimited = await h.get('/control/v1/state', basic('rita', 'rita-pw'));
  t.equal(apiLimited.status, 429, 'Basic credentials share the limiter');
  t.match(await apiLimited.json(), { error: /too many failed logins for this name; try again in \d+ s/ });
  t.equal((await h.get('/control/v1/state')).status, 200, 'a bearer token is not a login: not limited');

  // 10 failures so far from 127.0.0.1; 10 more under other names reach the address limit.
  for (let i = 0; i < 10; i++) t.equal((await login(`guess-${i}`, 'x')).status, 401);
  const byAddress = await login('someone-new', 'x');
  t.equal(byAddress.status, 429);
  t.match(await byAddress.text(), /too many failed logins for this address; try again in \d+ s/);

  const counted = await h.registry.getSingleMetric('switchboard_dashboard_login_failures_total')!.get();
  const by = Object.fromEntries(counted.values.map((v) => [v.labels.reason, v.value]));
  t.same(by, { wrong_password: 10, rate_limited: 3, unknown_name: 10 }, 'switchboard_dashboard_login_failures_total{reason}');
  const refusedLines = h.logs.filter((l) => l.msg === 'dashboard login refused');
  t.ok(
    refusedLines.length === 23 && refusedLines.every((l) => typeof l.client_address === 'string' && /127\.0\.0\.1/.test(l.client_address as string)),
    'every refusal logged with the client address',
  );
  t.match(refusedLines[0], { user: 'olga', reason: 'wrong_password' });
  t.match(
    refusedLines.find((l) => l.reason === 'unknown_name'),
    { user: '(unknown name)' },
    'an unknown name is not spelled out (it may be a password typed in the wrong field)',
  );
  t.notOk(
    h.logs.some((l) => JSON.stringify(l).includes('wrong-0')),
    'no password logged',
  );
});

t.test('the limiter: sliding window, per name and per address', async (t) => {
  let now = 0;
  const l = new LoginLimiter({ windowSeconds: 60, perName: 2, perAddress: 3 }, () => now);
  l.failed('a1', 'x');
  now += 10_000;
  l.failed('a1', 'x');
  t.match(l.check('a2', 'x'), { by: 'name', retryAfterSeconds: 50 }, 'a name over its limit, from any address; until the oldest failure leaves the window');
  t.equal(l.check('a1', 'y'), null, 'another name from the address: fine');
  now += 50_000;
  t.equal(l.check('a1', 'x'), null, 'the window slides');
  l.failed('a1', 'z');
  l.failed('a1', 'v');
  t.match(l.check('a1', 'w'), { by: 'address' }, 'three failures from an address in the window, whatever the names');
  l.failed('a9', 'q');
  l.failed('a9', 'q');
  t.match(l.check('a8', 'q'), { by: 'name' });
  l.succeeded('q');
  t.equal(l.check('a8', 'q'), null, 'a good login clears its name');
});

t.test('the limiter: the admin token cannot be locked out by name; IPv6 counted per /64 (review)', async (t) => {
  let now = 0;
  const l = new LoginLimiter({ windowSeconds: 60, perName: 2, perAddress: 3 }, () => now);
  // Bearer tokens are never limited, so a name limit on the token protects nothing and lets anyone lock the operator out.
  l.failed('a9', '');
  l.failed('a9', 'admin-token');
  t.equal(l.check('a8', ''), null, 'the admin token from another address: not locked by failures elsewhere');
  t.equal(l.check('a8', 'admin-token'), null, 'under its name either');
  l.failed('a9', '');
  t.match(l.check('a9', ''), { by: 'address' }, 'its guesses still count against their address');
  // One IPv6 client holds a /64: rotating the interface id is not a new address.
  for (const a of ['2001:db8:1:2::1', '2001:db8:1:2:aaaa::2', '2001:0db8:0001:0002:ffff:ffff:ffff:ffff']) l.failed(a, `n-${a}`);
  t.match(l.check('2001:db8:1:2:1234:5678:9abc:def0', 'new-name'), { by: 'address' }, 'the whole /64 is one address');
  t.equal(l.check('2001:db8:1:3::1', 'new-name'), null, 'the next /64 is another');
  for (let i = 0; i < 3; i++) l.failed('::ffff:192.0.2.7', `m-${i}`);
  t.match(l.check('192.0.2.7', 'new-name'), { by: 'address' }, 'an IPv4-mapped address is its IPv4 address');
});

t.test('nobody can lock the operator out of the admin token login (review)', async (t) => {
  const h = await start(t, 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n');
  const login = (name: string, password: string): Promise<Response> => h.form('/dashboard/login', { name, password }, {});
  for (let i = 0; i < 6; i++) t.equal((await login('', `guess-${i}`)).status, 401, `wrong token ${i + 1}: 401`);
  const r = await login('', TOKEN);
  t.equal(r.status, 303, 'the right token still logs in after many wrong ones');
  t.match(r.headers.get('set-cookie') ?? '', /^sb_session=/);
});

t.test('turning the kill switch off is a compare-and-swap: a stale page or script never undoes a newer kill (review)', async (t) => {
  const h = await start(t, 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n');
  const killOn = async (): Promise<boolean> => ((await (await h.get('/control/v1/state')).json()) as { snapshot: { kill_switch: boolean } }).snapshot.kill_switch;
  t.equal((await h.post('/control/v1/apply', { action: 'kill', on: true, reason: 'INC-1' })).status, 200);
  // An operator opens the preview to turn it off...
  const preview = await (await h.form('/dashboard/preview', { action: 'kill', on: 'false' })).text();
  const seen = /name="expected_version" value="(\d+)"/.exec(preview)?.[1];
  t.ok(seen, 'the preview carries the snapshot it was made against');
  // ...meanwhile it is turned off, and on again for another incident.
  t.equal((await h.post('/control/v1/apply', { action: 'kill', on: false, reason: 'INC-1 over' })).status, 200);
  t.equal((await h.post('/control/v1/apply', { action: 'kill', on: true, reason: 'INC-2: go is down again' })).status, 200);
  const stale = await h.form('/dashboard/apply', { kill: 'false', expected_version: seen!, reason: 'INC-1 over' });
  t.equal(stale.status, 409, 'the stale page: a conflict');
  t.match(await stale.text(), /changed since you looked/);
  t.equal(await killOn(), true, "INC-2's kill switch is still on");

  // A script that says which snapshot it planned against gets the same.
  const plan = (await (await h.post('/control/v1/plan', { action: 'kill', on: false })).json()) as { snapshot_version: number };
  t.equal((await h.post('/control/v1/apply', { action: 'kill', on: false, reason: 'x' })).status, 200);
  t.equal((await h.post('/control/v1/apply', { action: 'kill', on: true, reason: 'INC-3' })).status, 200);
  const api = await h.post('/control/v1/apply', { action: 'kill', on: false, reason: 'INC-2 over', expected_version: plan.snapshot_version });
  t.equal(api.status, 409);
  t.match(await api.json(), { code: 'SWB_CONFIG_CONFLICT' });
  t.equal(await killOn(), true, "INC-3's kill switch is still on");

  // Turning it on is never refused for a stale view.
  t.equal((await h.post('/control/v1/apply', { action: 'kill', on: true, reason: 'INC-3 again', expected_version: 1 })).status, 200, 'on: whatever the version');
  const fresh = await (await h.form('/dashboard/preview', { action: 'kill', on: 'false' })).text();
  const now = /name="expected_version" value="(\d+)"/.exec(fresh)?.[1];
  t.equal((await h.form('/dashboard/apply', { kill: 'false', expected_version: now!, reason: 'INC-3 over' })).status, 303, 'a current page turns it off');
  t.equal(await killOn(), false);
});
