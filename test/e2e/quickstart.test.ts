/**
 * The README's quick start, done the way a newcomer does it: `npm start` in a
 * checkout (here a temp git repository holding the checkout's files, so its
 * data/ does not touch the working tree), with PORT and ADMIN_PORT moving the
 * listeners. Then what the README promises: the config is copied to
 * data/config.yaml on the first start; the README's own umoci commands make
 * an image that pushes; skopeo copies an image in and out
 * through the switchboard over its self-signed TLS, the embedded mirror-mode
 * registry (owner go) holds it, a python-owned route answers 503 naming the
 * missing upstream, `switchboard owners --explain` says why /v2 goes to go, the
 * admin listener exports both switchboard_ and registryd_ metrics; a
 * `switchboard set` and a control-API write land in data/ and leave every
 * tracked file as committed (`git status --porcelain` is empty); a restart
 * keeps the certificate, the data and the edited config.
 */
import t from 'tap';
import https from 'node:https';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT, freePort, request, requireBinaries, runOk, startChild, tempDir, waitFor, waitForLog, type Child } from '../lib/proc.js';
import { buildSwitchboard } from '../lib/switchboard.js';
import { blobPath, buildImage, layoutManifest, sha256File, skopeoIn } from '../lib/oci.js';

t.setTimeout(600_000);
requireBinaries(['skopeo', 'umoci', 'npm', 'git']);
await buildSwitchboard();

const dir = tempDir(t, 'quickstart-');
const checkout = join(dir, 'checkout');
// The files npm start reads, committed as in a clone; the built and installed parts linked in.
const TRACKED = ['package.json', '.gitignore', 'examples/quickstart.yaml', 'scripts/quickstart.mjs'];
for (const f of TRACKED) {
  mkdirSync(dirname(join(checkout, f)), { recursive: true });
  copyFileSync(join(ROOT, f), join(checkout, f));
}
for (const d of ['bin', 'dist', 'node_modules', 'build', 'owner-maps']) symlinkSync(join(ROOT, d), join(checkout, d));
const git = (...args: string[]): Promise<{ stdout: string }> =>
  runOk('git', ['-c', 'user.name=quickstart', '-c', 'user.email=quickstart@example.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd: checkout });
await git('init', '--quiet');
await git('add', '--all');
await git('commit', '--quiet', '-m', 'checkout');
const example = readFileSync(join(checkout, 'examples/quickstart.yaml'), 'utf8');
const CONFIG = 'data/config.yaml';

const port = await freePort();
const adminPort = await freePort();
const host = `127.0.0.1:${port}`;

async function npmStart(): Promise<Child> {
  // Its own process group: npm runs node through a shell, and a stop must reach node itself, as Ctrl-C would.
  const child = startChild(t, 'npm', ['start', '--silent'], { cwd: checkout, detached: true, env: { ...process.env, PORT: String(port), ADMIN_PORT: String(adminPort) } });
  t.teardown(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  await waitForLog(child, /"msg":"switchboard serving"/, 'npm start', 60_000);
  return child;
}

function get(path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string; cert: Buffer | null }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false }, (res) => {
      const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate?.()?.raw ?? null;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, cert }));
    });
    req.on('error', reject);
  });
}

async function admin(path: string): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${adminPort}${path}`);
  if (r.status !== 200) throw new Error(`admin ${path}: ${r.status}`);
  return r.text();
}

const images = join(dir, 'images');
mkdirSync(join(dir, 'work'), { recursive: true });
await buildImage(images, 'demo', [{ 'etc/motd': 'hello from the quick start\n' }, { 'srv/data.txt': 'second layer\n' }], join(dir, 'work'));
const skopeo = await skopeoIn(join(dir, 'skopeo'));
const src = layoutManifest(images, 'demo');

let sb = await npmStart();
const first = await get('/v2/');
const certDigest = createHash('sha256')
  .update(first.cert ?? Buffer.alloc(0))
  .digest('hex');

t.test('the first start copies the example config to data/config.yaml and serves from it', async (t) => {
  t.equal(readFileSync(join(checkout, CONFIG), 'utf8'), example, 'data/config.yaml is the example, byte for byte');
  t.match(sb.stderr(), /"msg":"copied the quick start config: edits go to the copy/);
  t.match(sb.stderr(), `"config":"${join(checkout, CONFIG)}"`, 'serve runs on the copy');
});

t.test('the switchboard listens with TLS on PORT; the embedded registry answers /v2', async (t) => {
  t.equal(first.status, 200, 'GET /v2/ through the switchboard');
  t.ok(first.cert && first.cert.length > 0, 'served over TLS');
  const cert = readFileSync(join(checkout, 'data/tls/cert.pem'), 'utf8');
  t.match(cert, /BEGIN CERTIFICATE/, 'self-signed certificate kept in data/tls');
  t.match(sb.stderr(), /"msg":"embedded registry started \(owner go\)"/);
});

t.test('skopeo copies an image in and out through the switchboard', async (t) => {
  const digestFile = join(dir, 'digest');
  await skopeo.ok(['copy', '--retry-times', '0', '--dest-tls-verify=false', '--digestfile', digestFile, `oci:${images}:demo`, `docker://${host}/acme/app:v1`]);
  t.equal(readFileSync(digestFile, 'utf8').trim(), src.descriptor.digest, 'pushed manifest digest');
  const out = join(dir, 'pulled');
  await skopeo.ok(['copy', '--retry-times', '0', '--src-tls-verify=false', `docker://${host}/acme/app:v1`, `oci:${out}:v1`]);
  const pulled = layoutManifest(out, 'v1');
  t.equal(pulled.descriptor.digest, src.descriptor.digest, 'pulled manifest digest');
  for (const b of [src.manifest.config, ...src.manifest.layers]) t.equal(await sha256File(blobPath(out, b.digest)), b.digest, `blob ${b.digest.slice(0, 19)} intact`);
  const tags = JSON.parse((await skopeo.ok(['list-tags', '--tls-verify=false', `docker://${host}/acme/app`])).stdout);
  t.same(tags.Tags, ['v1']);
  t.ok(readdirSync(join(checkout, 'data/quay/storage/sha256')).length > 0, "blobs under data/quay/storage in Quay's layout");
});

t.test("the README's umoci commands make ./layout:demo, and it pushes", async (t) => {
  // The commands exactly as the quick start prints them, run where README.md is (they insert it).
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const quick = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
  const commands = quick.split('\n').filter((l) => l.startsWith('umoci '));
  t.equal(commands.length, 3, 'three umoci commands');
  const work = join(dir, 'readme-image');
  mkdirSync(work);
  copyFileSync(join(ROOT, 'README.md'), join(work, 'README.md'));
  for (const c of commands) await runOk(c.split(' ')[0]!, c.split(' ').slice(1), { cwd: work });
  await skopeo.ok(['copy', '--retry-times', '0', '--dest-tls-verify=false', `oci:${join(work, 'layout')}:demo`, `docker://${host}/acme/readme:v1`]);
  const tags = JSON.parse((await skopeo.ok(['list-tags', '--tls-verify=false', `docker://${host}/acme/readme`])).stdout);
  t.same(tags.Tags, ['v1'], 'pushed through the switchboard');
});

t.test('python-owned routes answer 503 naming the missing upstream; /readyz says why', async (t) => {
  const r = await get('/api/v1/discovery');
  t.equal(r.status, 503);
  t.equal(r.headers['x-switchboard-owner'] ?? 'python', 'python');
  t.match(r.body, /SWITCHBOARD\.UPSTREAMS\.python/);
  const ready = await request(adminPort, { path: '/readyz' });
  t.equal(ready.status, 503, 'not ready while python, which serves routes, has no upstream');
  t.match(ready.text(), /owner python serves \d+ routes and has no upstream: set SWITCHBOARD\.UPSTREAMS\.python/);
  t.notMatch(ready.text(), /owner go/, 'go (the embedded registry) is fine');
});

t.test('a banner for people names the proxy, admin and dashboard URLs and the token file', async (t) => {
  t.match(sb.stderr(), /^Switchboard is serving$/m);
  t.match(sb.stderr(), new RegExp(`^  proxy +https://localhost:${port}$`, 'm'));
  t.ok(
    sb.stderr().includes(`\n  dashboard   http://127.0.0.1:${adminPort}/dashboard  (admin token in ${join(checkout, 'data/dashboard.token')})\n`),
    'the dashboard URL and where its token is',
  );
  t.match(sb.stderr(), /^  go +http:\/\/127\.0\.0\.1:\d+ \(embedded registry, mirror mode\)$/m);
  t.match(sb.stderr(), /^  python +no upstream: its routes answer 503 until SWITCHBOARD\.UPSTREAMS\.python is set$/m);
});

t.test('owners --explain shows why /v2 goes to the embedded registry', async (t) => {
  const r = await runOk(process.execPath, [join(ROOT, 'bin/switchboard.js'), 'owners', '--config', CONFIG, '--explain', '/v2/acme/app/manifests/v1', '--json'], { cwd: checkout });
  const e = JSON.parse(r.stdout) as { decision?: { owner: string; reason: string }; owner?: string; reason?: string };
  const d = e.decision ?? (e as { owner: string; reason: string });
  t.equal(d.owner, 'go');
  t.equal(d.reason, 'family_switch');
});

t.test("the admin listener on ADMIN_PORT exports both components' metrics", async (t) => {
  const m = await admin('/metrics');
  t.match(m, /^switchboard_decisions_total\{/m);
  t.match(m, /^registryd_http_requests_total\{route_id="ROUTE_0016",method="GET",status="200"\}/m, 'the tag GET counted by registryd');
  const status = JSON.parse(await admin('/status')) as { upstreams: { go: { url: string }; python: { url: string } } };
  t.match(status.upstreams.go.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'go is the embedded registry');
  t.equal(status.upstreams.python.url, '', 'python is not configured');
});

t.test('the dashboard is on, behind the admin token made into data/', async (t) => {
  const tokenFile = join(checkout, 'data', 'dashboard.token');
  t.ok(existsSync(tokenFile), 'npm start made data/dashboard.token');
  t.equal(statSync(tokenFile).mode & 0o777, 0o600, 'readable by its owner only');
  t.notMatch(sb.stderr(), readFileSync(tokenFile, 'utf8').trim(), 'the token is never logged');
  t.equal((await fetch(`http://127.0.0.1:${adminPort}/control/v1/state`)).status, 401, 'no anonymous access');
  const r = await fetch(`http://127.0.0.1:${adminPort}/control/v1/state`, { headers: { authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` } });
  t.equal(r.status, 200);
  t.match(
    ((await r.json()) as { families: { family: string; switch: unknown }[] }).families.find((f) => f.family === 'REGISTRY_V2'),
    { switch: 'go' },
  );
});

t.test('switchboard set and a control-API write land in data/; no tracked file changes', async (t) => {
  const token = readFileSync(join(checkout, 'data', 'dashboard.token'), 'utf8').trim();
  const set = await runOk(
    process.execPath,
    [join(ROOT, 'bin/switchboard.js'), 'set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', CONFIG, '--reason', 'quick start test', '--actor', 'tester'],
    { cwd: checkout },
  );
  t.match(set.stdout, /^set MIGRATION\.ROUTE_OWNER_CAP_V2_PUSH: null → "go" in .*data\/config\.yaml$/m);
  const auth = { authorization: `Bearer ${token}` };
  t.ok(
    await waitFor(
      async () => ((await (await fetch(`http://127.0.0.1:${adminPort}/control/v1/state`, { headers: auth })).json()) as { snapshot: { version: number } }).snapshot.version >= 2,
    ),
    'the edit is picked up',
  );
  const state = (await (await fetch(`http://127.0.0.1:${adminPort}/control/v1/state`, { headers: auth })).json()) as { snapshot: { version: number } };
  const applied = await fetch(`http://127.0.0.1:${adminPort}/control/v1/apply`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'owner', scope: 'CAP_V2_PULL', value: 'go', expected_version: state.snapshot.version, reason: 'quick start test' }),
  });
  t.equal(applied.status, 200, 'the control API writes the config', { body: await applied.text() });

  const config = readFileSync(join(checkout, CONFIG), 'utf8');
  t.match(config, /^  ROUTE_OWNER_CAP_V2_PUSH: go$/m, 'the CLI edit is in data/config.yaml');
  t.match(config, /^  ROUTE_OWNER_CAP_V2_PULL: go$/m, 'the API edit is in data/config.yaml');
  const audit = readFileSync(join(checkout, 'data', 'switchboard-audit.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { key: string; via: string });
  t.same(
    audit.map((e) => [e.key, e.via]),
    [
      ['ROUTE_OWNER_CAP_V2_PUSH', 'cli'],
      ['ROUTE_OWNER_CAP_V2_PULL', 'api'],
    ],
    'both audited in data/switchboard-audit.log',
  );
  t.equal(readFileSync(join(checkout, 'examples/quickstart.yaml'), 'utf8'), example, 'the example is untouched');
  t.equal((await git('status', '--porcelain')).stdout, '', 'git status: no tracked file changed, nothing untracked outside data/');
  // node_modules is this test's own link to the installed packages (ignored in any form, as in a clone).
  t.equal((await git('status', '--porcelain', '--ignored')).stdout, '!! data/\n!! node_modules\n', 'everything npm start wrote is in the ignored data/');
});

t.test('a restart keeps the certificate, the data and the edited config', async (t) => {
  process.kill(-sb.pid, 'SIGTERM');
  await sb.exited;
  const stopped = await waitFor(() => /"msg":"stopped","cut_requests":0/.test(sb.stderr()), 15_000);
  t.ok(stopped, 'SIGTERM drains and stops cleanly');
  sb = await npmStart();
  const again = await get('/v2/acme/app/tags/list');
  t.equal(again.status, 200);
  t.same(JSON.parse(again.body).tags, ['v1'], 'the pushed tag is still there');
  t.equal(
    createHash('sha256')
      .update(again.cert ?? Buffer.alloc(0))
      .digest('hex'),
    certDigest,
    'same certificate after the restart',
  );
  t.match(sb.stderr(), /"msg":"using the quick start config made on the first start/, 'the copy is kept');
  t.match(readFileSync(join(checkout, CONFIG), 'utf8'), /^  ROUTE_OWNER_CAP_V2_PUSH: go$/m, 'with its edits');
  t.equal((await git('status', '--porcelain')).stdout, '', 'still no change to tracked files');
});
