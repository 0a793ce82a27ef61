/**
 * The switchboard in front of the new registry with Quay's auth: the embedded
 * registry (owner go) reads AUTHENTICATION_TYPE: Database from the same
 * config.yaml, users come from `quay user create` on the same data directory,
 * and skopeo logs in through the switchboard's TLS listener: the challenge's
 * realm (SERVER_HOSTNAME) is the switchboard, /v2/auth and every /v2 request
 * are decided to go, tokens cross the proxy untouched.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, freePort, requireBinaries, startChild, tempDir, waitForLog } from '../lib/proc.js';
import { buildSwitchboard } from '../lib/switchboard.js';
import { buildImage, layoutManifest, skopeoIn } from '../lib/oci.js';

t.setTimeout(300_000);
requireBinaries(['skopeo', 'umoci']);
await buildSwitchboard();

const dir = tempDir(t, 'switchboard-auth-');
const port = await freePort();
const adminPort = await freePort();
const host = `127.0.0.1:${port}`;
const dataDir = join(dir, 'quay');
const config = join(dir, 'config.yaml');
writeFileSync(
  config,
  `SERVER_HOSTNAME: ${host}
PREFERRED_URL_SCHEME: https
AUTHENTICATION_TYPE: Database
DATABASE_SECRET_KEY: ${randomUUID()}
MIGRATION:
  ROUTE_OWNER_DEFAULT: python
  ROUTE_OWNER_FAMILY_REGISTRY_V2: go
SWITCHBOARD:
  LISTEN: "${host}"
  ADMIN_LISTEN: "127.0.0.1:${adminPort}"
  TLS: self-signed
  STATE_DIR: ${join(dir, 'state')}
  ACCESS_LOG: off
  EMBEDDED_REGISTRY:
    DATA_DIR: ${dataDir}
`,
);
const created = spawnSync(
  process.execPath,
  [join(ROOT, 'bin/quay.js'), 'user', 'create', 'alice', '--email', 'alice@example.com', '--password-stdin', '--config', config, '--data-dir', dataDir],
  { input: 'alice-password\n', encoding: 'utf8' },
);
if (created.status !== 0) throw new Error(`quay user create: ${created.stderr}`);

const sb = startChild(t, process.execPath, [join(ROOT, 'bin/switchboard.js'), 'serve', '--config', config]);
await waitForLog(sb, /"msg":"switchboard serving"/, 'switchboard serve');

const images = join(dir, 'images');
mkdirSync(join(dir, 'work'), { recursive: true });
await buildImage(images, 'demo', [{ 'etc/motd': 'through the switchboard\n' }], join(dir, 'work'));
const src = layoutManifest(images, 'demo');
const skopeo = await skopeoIn(join(dir, 'skopeo'));

t.test('skopeo logs in and pushes through the switchboard; refusals come back intact', async (t) => {
  t.match(sb.stderr(), /"msg":"embedded registry started \(owner go\)".*"auth":"database"/);
  const push = await skopeo.run([
    'copy',
    '--retry-times',
    '0',
    '--dest-tls-verify=false',
    '--dest-creds',
    'alice:alice-password',
    `oci:${images}:demo`,
    `docker://${host}/alice/app:v1`,
  ]);
  t.equal(push.code, 0, push.stderr);
  const raw = await skopeo.run(['inspect', '--raw', '--tls-verify=false', '--creds', 'alice:alice-password', `docker://${host}/alice/app:v1`]);
  t.equal(raw.code, 0, raw.stderr);
  t.equal(`sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`, src.descriptor.digest);
  const anon = await skopeo.run(['inspect', '--raw', '--tls-verify=false', '--no-creds', `docker://${host}/alice/app:v1`]);
  t.not(anon.code, 0, 'anonymous is refused through the proxy too');
  const wrong = await skopeo.run(['inspect', '--raw', '--tls-verify=false', '--creds', 'alice:wrong-password', `docker://${host}/alice/app:v1`]);
  t.not(wrong.code, 0);
  t.match(wrong.stderr, /Invalid Username or Password|unauthorized/i);

  const r = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
  const m = await r.text();
  t.match(m, /^switchboard_decisions_total\{owner="go",capability="[A-Z0-9_]+",family="REGISTRY_V2",reason="family_switch"\}/m, 'decided to go');
  t.match(m, /^registryd_auth_tokens_issued_total\{entity_kind="user"\} [1-9]/m, 'tokens issued by the embedded registry');
});
