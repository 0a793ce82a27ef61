/**
 * The cutover gates with real Quay (../shared/quay-python) as python and the
 * TS runtime (`quay serve` on Quay's database) as go, behind the real
 * `switchboard serve`: a canary of V2_PULL (devtable, and 25 % of the other
 * namespaces) is pulled with Quay-issued tokens. While healthy it passes its
 * gates and ramps; then go fails 20 % of its manifest GETs (a fault-injecting
 * hop in front of it, the only stand-in here) and the capability rolls itself
 * back to python within the configured windows: config.yaml, the audit log
 * (actor auto-rollback, with the figures) and the gates say why, and the
 * pulls are answered by Quay again.
 */
import t from 'tap';
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { freePort, request, ROOT, startChild, tempDir, waitFor, waitForLog } from '../lib/proc.js';
import { buildSwitchboard } from '../lib/switchboard.js';
import { startQuayPython, startQuayServe } from '../lib/quay-python.js';

t.setTimeout(600_000);
await buildSwitchboard();

const dir = tempDir(t, 'swb-gates-quay-');
const sbPort = await freePort();
const host = `127.0.0.1:${sbPort}`;
const quay = await startQuayPython(t, { serverHostname: host });
const ts = await startQuayServe(t, { configFile: quay.configFile, dataDir: join(dir, 'ts-data'), what: "quay serve on Quay's database" });

/** The hop in front of go: passes everything through, and fails every fifth manifest GET while `failing`. */
const fault = { failing: false, n: 0, failed: 0 };
const hop = http.createServer((req, res) => {
  if (fault.failing && req.method === 'GET' && /\/manifests\//.test(req.url ?? '') && ++fault.n % 5 === 0) {
    fault.failed++;
    req.resume();
    const body = JSON.stringify({ errors: [{ code: 'UNKNOWN', detail: {}, message: 'injected failure' }] });
    res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  const up = http.request({ host: '127.0.0.1', port: ts.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.rawHeaders);
    r.pipe(res);
  });
  up.on('error', () => res.destroy());
  req.pipe(up);
});
await new Promise<void>((r) => hop.listen(0, '127.0.0.1', () => r()));
t.teardown(() => new Promise<void>((r) => (hop.closeAllConnections(), hop.close(() => r()))));
const hopPort = (hop.address() as { port: number }).port;

const TOKEN = 'gates-quay-admin-token-0123456789';
writeFileSync(join(dir, 'admin-token'), `${TOKEN}\n`);
const config = join(dir, 'config.yaml');
const accessLog = join(dir, 'access.log');
writeFileSync(
  config,
  YAML.stringify({
    SERVER_HOSTNAME: host,
    MIGRATION: {
      ROUTE_OWNER_DEFAULT: 'python',
      ROUTE_OWNER_CAP_V2_PULL: 'canary',
      ROUTE_CANARY_CAP_V2_PULL_ORGS: ['devtable'],
      ROUTE_CANARY_CAP_V2_PULL_PERCENT: 25,
      GATE_WINDOW_SECONDS: 2,
      GATE_MIN_REQUESTS: 10,
      GATE_FAILED_WINDOWS: 2,
      GATE_P99_ALLOWANCE_MS: 5000,
    },
    SWITCHBOARD: {
      UPSTREAMS: { python: quay.url, go: `http://127.0.0.1:${hopPort}` },
      LISTEN: host,
      ADMIN_LISTEN: '127.0.0.1:0',
      ACCESS_LOG: accessLog,
      STATE_DIR: join(dir, 'state'),
      DASHBOARD: { ADMIN_TOKEN_FILE: 'admin-token' },
    },
  }),
);
const sb = startChild(t, process.execPath, [join(ROOT, 'bin/switchboard.js'), 'serve', '--config', config], { cwd: ROOT });
await waitForLog(sb, /"msg":"switchboard serving"/, 'switchboard serve');
const adminPort = Number(/"admin_listen":"[^"]*:(\d+)"/.exec(sb.stderr())?.[1]);

const REPOS = ['devtable/simple', 'devtable/complex', 'buynlarge/orgrepo', 'public/publicrepo'];
const ACCEPT = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.v1+prettyjws, application/json';

/** A pull token from Quay (python owns /v2/auth) for every repository, through the switchboard. */
async function pullToken(): Promise<string> {
  const q = new URLSearchParams({ service: host });
  for (const r of REPOS) q.append('scope', `repository:${r}:pull`);
  const res = await request(sbPort, { path: `/v2/auth?${q}`, headers: { authorization: `Basic ${Buffer.from('devtable:password').toString('base64')}` } });
  if (res.status !== 200) throw new Error(`no token: ${res.status} ${res.text()}`);
  return res.json().token as string;
}
const token = await pullToken();

let pulling = true;
const statuses: Record<string, number> = {};
const pullers = Promise.all(
  [0, 1, 2, 3].map(async (k) => {
    for (let i = k; pulling; i += 4) {
      const r = await request(sbPort, { path: `/v2/${REPOS[i % REPOS.length]}/manifests/latest`, headers: { authorization: `Bearer ${token}`, accept: ACCEPT } }).catch(() => null);
      const s = String(r?.status ?? 'error');
      statuses[s] = (statuses[s] ?? 0) + 1;
    }
  }),
);
t.teardown(async () => {
  pulling = false;
  await pullers;
});

const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
  const r = await request(adminPort, {
    method,
    path: `/control/v1${path}`,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: r.json() };
};
const gate = (c: any, name: string): { status: string; evidence: string } => c.gates.find((g: { gate: string }) => g.gate === name);

t.test('a healthy canary passes its gates and ramps; a failing one rolls itself back', async (t) => {
  t.ok(await waitFor(async () => gate((await api('GET', '/gates/V2_PULL')).body, 'canary_health')?.status === 'pass', 60_000, 500), 'healthy canary: health gate passes');
  const healthy = (await api('GET', '/gates/V2_PULL')).body;
  t.ok(
    healthy.recent.some((w: { verdict: string; go: { requests: number } }) => w.verdict === 'pass' && w.go.requests >= 10),
    'a passing window with go traffic',
  );
  t.equal(statuses['500'] ?? 0, 0, 'no failures while healthy');
  const v = (await api('GET', '/state')).body.snapshot.version;
  // Quay's test config turns FEATURE_PROXY_CACHE on, which the go side does not implement: its readiness withdraws
  // V2_PULL and the readiness gate wants the override (these repositories are no proxy cache). The cutover gates pass.
  const plain = await api('POST', '/plan', { action: 'ramp', scope: 'CAP_V2_PULL', percent: 50 });
  t.equal(plain.body.code, 'SWB_GO_NOT_IMPLEMENTED');
  const ramp = await api('POST', '/apply', {
    action: 'ramp',
    scope: 'CAP_V2_PULL',
    percent: 50,
    expected_version: v,
    reason: 'healthy at 25%; no proxy-cache org here',
    force: true,
  });
  t.equal(ramp.status, 200, JSON.stringify(ramp.body));
  t.notOk(ramp.body.audit[0].overridden_gates, 'no cutover gate was overridden: they pass');

  fault.failing = true;
  t.ok(await waitFor(() => YAML.parse(readFileSync(config, 'utf8')).MIGRATION.ROUTE_OWNER_CAP_V2_PULL === 'python', 90_000, 200), 'rolled back to python by itself');
  t.ok(fault.failed > 0, `go failed ${fault.failed} manifest GETs`);
  const audit = readFileSync(join(dir, 'switchboard-audit.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, any>)
    .filter((e) => e.actor === 'auto-rollback');
  t.match(audit[0], { key: 'ROUTE_OWNER_CAP_V2_PULL', old: 'canary', new: 'python', via: 'auto-rollback' });
  t.match(audit[0]!.reason, /2 consecutive failed windows of 2 s; last: go error rate \d+\.\d+%/);
  const after = (await api('GET', '/gates/V2_PULL')).body;
  t.equal(gate(after, 'auto_rollback').status, 'fail');
  t.equal(after.rollback.windows.length, 2);

  // Pulls of devtable (the canary's organisation) are Quay's again.
  const mark = readFileSync(accessLog, 'utf8').length;
  const failedBefore = fault.failed;
  t.ok(
    await waitFor(
      () => {
        const lines = readFileSync(accessLog, 'utf8')
          .slice(mark)
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { path: string; owner: string });
        return lines.filter((l) => l.path.startsWith('/v2/devtable/') && l.owner === 'python').length >= 5;
      },
      30_000,
      200,
    ),
    'devtable pulls answered by python',
  );
  const recent = readFileSync(accessLog, 'utf8')
    .slice(mark)
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { path: string; owner: string; route_id: string });
  t.notOk(
    recent.some((l) => l.owner === 'go' && l.path.includes('/manifests/')),
    'no manifest GET reaches go after the rollback',
  );
  t.equal(fault.failed, failedBefore, 'go is asked nothing more');
});
