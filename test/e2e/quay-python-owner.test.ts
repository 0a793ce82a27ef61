/**
 * The real Python Quay as the switchboard's `python` owner (issue 15, first
 * step): Quay's own source under gunicorn, its initdb test data, behind the
 * real `switchboard serve`, SERVER_HOSTNAME = the switchboard's address (one
 * hostname, as in a real deployment). skopeo logs in through the switchboard
 * (Quay's /v2/auth), pushes a new repository and pulls it back byte for byte;
 * the access log shows every request went to python; Quay's own error answers
 * reach the client unchanged.
 */
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ROOT, freePort, request, requireBinaries, startChild, tempDir, waitForLog } from '../lib/proc.js';
import { buildSwitchboard } from '../lib/switchboard.js';
import { startQuayPython } from '../lib/quay-python.js';
import { startEcho } from '../lib/nginx.js';
import { buildImage, layoutManifest, skopeoIn } from '../lib/oci.js';

t.setTimeout(300_000);
requireBinaries(['skopeo', 'umoci']);
await buildSwitchboard();

const dir = tempDir(t, 'swb-quay-python-');
const sbPort = await freePort();
const host = `127.0.0.1:${sbPort}`;
const quay = await startQuayPython(t, { serverHostname: host });
const go = await startEcho(t, 'go');
const config = join(dir, 'config.yaml');
const accessLog = join(dir, 'access.log');
writeFileSync(
  config,
  `SERVER_HOSTNAME: ${host}
MIGRATION:
  ROUTE_OWNER_DEFAULT: python
SWITCHBOARD:
  UPSTREAMS: {python: "${quay.url}", go: "http://127.0.0.1:${go.port}"}
  LISTEN: ${host}
  ADMIN_LISTEN: 127.0.0.1:0
  ACCESS_LOG: ${accessLog}
  STATE_DIR: ${join(dir, 'state')}
`,
);
const sb = startChild(t, process.execPath, [join(ROOT, 'bin/switchboard.js'), 'serve', '--config', config], { cwd: ROOT });
await waitForLog(sb, /"msg":"switchboard serving"/, 'switchboard serve');

const images = join(dir, 'images');
mkdirSync(join(dir, 'work'), { recursive: true });
await buildImage(images, 'demo', [{ 'etc/motd': 'pushed through the switchboard to real Quay\n' }, { 'data.txt': randomUUID() }], join(dir, 'work'));
const src = layoutManifest(images, 'demo');
const skopeo = await skopeoIn(join(dir, 'skopeo'));
const DEVTABLE = 'devtable:password';

t.test('skopeo pushes to real Quay and pulls back through the switchboard', async (t) => {
  const push = await skopeo.run([
    'copy',
    '--retry-times',
    '0',
    '--dest-tls-verify=false',
    '--dest-creds',
    DEVTABLE,
    `oci:${images}:demo`,
    `docker://${host}/devtable/viaswitchboard:v1`,
  ]);
  t.equal(push.code, 0, 'push', { stderr: push.stderr, quay_log: quay.log().split('\n').slice(-20).join('\n') });
  const out = join(dir, 'pulled');
  const pull = await skopeo.run(['copy', '--retry-times', '0', '--src-tls-verify=false', '--src-creds', DEVTABLE, `docker://${host}/devtable/viaswitchboard:v1`, `oci:${out}:x`]);
  t.equal(pull.code, 0, 'pull', { stderr: pull.stderr });
  t.equal(layoutManifest(out, 'x').descriptor.digest, src.descriptor.digest, 'the manifest digest pushed is the one pulled');
  const refused = await skopeo.run(['inspect', '--raw', '--retry-times', '0', '--tls-verify=false', '--creds', 'devtable:wrong', `docker://${host}/devtable/viaswitchboard:v1`]);
  t.not(refused.code, 0, 'a wrong password is refused by Quay');
  t.match(refused.stderr, /unauthorized|invalid username or password|too many/i);
  const lines = readFileSync(accessLog, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { owner: string; path: string; status: number });
  t.ok(lines.length > 5, `${lines.length} requests logged`);
  t.same([...new Set(lines.map((l) => l.owner))], ['python'], 'every one went to python');
  t.same(
    go.seen.filter((r) => !r.includes('/.well-known/switchboard')),
    [],
    'go saw nothing but the readiness probe',
  );
});

t.test("Quay's own answers pass unchanged", async (t) => {
  const base = await request(sbPort, { path: '/v2/' });
  t.equal(base.status, 401, '/v2/ without credentials: 401 from Quay');
  t.match(base.header('www-authenticate'), new RegExp(`realm="http://${host.replace(/\./g, '\\.')}/v2/auth"`), "the realm is the switchboard's address");
  const unknown = await request(sbPort, { path: '/v2/devtable/nosuchrepo/tags/list' });
  t.ok(unknown.status === 401 || unknown.status === 404, `unknown repository: ${unknown.status}`);
  t.ok(Array.isArray(unknown.json().errors), 'an OCI error body from Quay');
});
