/**
 * The `quay` runtime as an operator runs it: the CLI (config validate/print/
 * generate, user/org/robot/app-token/repo), then `quay serve` with database
 * auth over self-signed TLS driven by real skopeo — logins by password, robot
 * token and app-specific token, refusals, repository creation on push —
 * plus the admin listener, the kept certificate and a clean SIGTERM.
 */
import t from 'tap';
import https from 'node:https';
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ROOT, freePort, requireBinaries, sleep, startChild, tempDir, type Child } from '../lib/proc.js';
import { buildSwitchboard } from '../lib/switchboard.js';
import { buildImage, layoutManifest, skopeoIn } from '../lib/oci.js';

t.setTimeout(600_000);
requireBinaries(['skopeo', 'umoci']);
await buildSwitchboard();

const dir = tempDir(t, 'quay-runtime-');
const dataDir = join(dir, 'data');
const BIN = join(ROOT, 'bin/quay.js');

interface Out { code: number | null; stdout: string; stderr: string }
function quay(args: readonly string[], input?: string): Out {
  const r = spawnSync(process.execPath, [BIN, ...args], { input: input ?? '', encoding: 'utf8', timeout: 60_000, env: { ...process.env, QUAY_CONFIG: '', QUAY_DATA_DIR: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const port = await freePort();
const adminPort = await freePort();
const host = `127.0.0.1:${port}`;
const secret = randomUUID();
const config = join(dir, 'config.yaml');
writeFileSync(config, `SERVER_HOSTNAME: ${host}\nPREFERRED_URL_SCHEME: https\nAUTHENTICATION_TYPE: Database\nDATABASE_SECRET_KEY: ${secret}\n`);
const C = ['--config', config, '--data-dir', dataDir];
const db = (): Database.Database => new Database(join(dataDir, 'quay.db'), { readonly: true });

t.test('help and usage errors', async (t) => {
  const h = quay(['--help']);
  t.equal(h.code, 0);
  for (const cmd of ['serve', 'config validate', 'user create', 'robot create', 'app-token create', 'repo grant']) t.match(h.stdout, cmd);
  t.equal(quay(['frobnicate']).code, 2, 'unknown command');
  t.equal(quay(['serve', '--mode', 'cluster']).code, 2, 'unknown mode');
  t.equal(quay(['user', 'create', 'x', '--password', 'secret123']).code, 2, 'no password on the command line');
});

t.test('config validate / print / generate', async (t) => {
  const ok = quay(['config', 'validate', ...C]);
  t.equal(ok.code, 0, ok.stderr);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'SERVER_HOSTNAME: registry.example.com\nFEATURE_ANONYMOUS_ACCESS: maybe\nPREFERRED_URL_SCHEME: gopher\n');
  const b = quay(['config', 'validate', '--config', bad, '--data-dir', dataDir]);
  t.equal(b.code, 1);
  t.match(b.stdout, `${bad}:2: FEATURE_ANONYMOUS_ACCESS:`);
  t.match(b.stdout, `${bad}:3: PREFERRED_URL_SCHEME:`);
  const j = JSON.parse(quay(['config', 'validate', '--config', bad, '--data-dir', dataDir, '--json']).stdout) as { ok: boolean; problems: { key: string; line: number }[] };
  t.same(j.problems.map((p) => [p.key, p.line]), [['FEATURE_ANONYMOUS_ACCESS', 2], ['PREFERRED_URL_SCHEME', 3]]);
  for (const [text, key, line, what] of [
    ['AUTHENTICATION_TYPE: LDAP\n', 'AUTHENTICATION_TYPE', 1, /not served/],
    ['SERVER_HOSTNAME: h\nDB_URI: postgresql://quay@db/quay\n', 'DB_URI', 2, /PostgreSQL is not supported/],
    ['SERVER_HOSTNAME: h\nAUTHENTICATION_TYPE: Database\n', 'DATABASE_SECRET_KEY', undefined, /needs DATABASE_SECRET_KEY/],
    ['DISTRIBUTED_STORAGE_CONFIG:\n  s3: [S3Storage, {s3_bucket: b}]\nDISTRIBUTED_STORAGE_PREFERENCE: [s3]\n', 'DISTRIBUTED_STORAGE_CONFIG', 1, /S3Storage is not supported/],
  ] as const) {
    const f = join(dir, `bad-${key}.yaml`);
    writeFileSync(f, text);
    const r = JSON.parse(quay(['config', 'validate', '--config', f, '--data-dir', dataDir, '--json']).stdout) as { ok: boolean; problems: { key: string; line?: number; message: string }[] };
    t.equal(r.ok, false, `${key} refused`);
    const p = r.problems.find((x) => x.key === key);
    t.ok(p, `a problem names ${key}`);
    t.match(p?.message, what);
    if (line !== undefined) t.equal(p?.line, line, `${key} at line ${line}`);
  }
  const printed = quay(['config', 'print', ...C, '--json']);
  const eff = JSON.parse(printed.stdout) as Record<string, unknown>;
  t.equal(eff.DATABASE_SECRET_KEY, '<redacted>');
  t.notMatch(printed.stdout, secret, 'the secret is never printed');
  t.equal(eff.AUTHENTICATION_TYPE, 'Database');
  t.equal(eff.DB_URI, `sqlite:///${join(dataDir, 'quay.db')}`, 'mirror preset database');
  const mirror = JSON.parse(quay(['config', 'print', '--data-dir', dataDir, '--json']).stdout) as Record<string, unknown>;
  t.equal(mirror.AUTHENTICATION_TYPE, 'Anonymous', 'mirror mode without a file: anonymous');
  const gen = join(dir, 'generated.yaml');
  t.equal(quay(['config', 'generate', '--mode', 'mirror', '--output', gen]).code, 0);
  t.equal(quay(['config', 'validate', '--config', gen, '--data-dir', dataDir]).code, 0, 'a generated config validates');
  t.equal(quay(['config', 'generate', '--output', gen]).code, 1, 'never overwrites');
});

let robotToken = '';
let appToken = '';

t.test('user, org, robot, app-token and repo commands', async (t) => {
  t.equal(quay(['user', 'create', 'alice', '--email', 'alice@example.com', '--password-stdin', ...C], 'alice-password\n').code, 0);
  t.equal(quay(['user', 'create', 'bob', '--email', 'bob@example.com', '--password-stdin', ...C], 'bob-password\n').code, 0);
  const dup = quay(['user', 'create', 'alice', '--email', 'other@example.com', '--password-stdin', ...C], 'alice-password\n');
  t.equal(dup.code, 1);
  t.match(dup.stderr, 'already exists');
  t.equal(quay(['user', 'create', 'carol', '--email', 'c@example.com', '--password-stdin', ...C], 'short\n').code, 1, 'short password');
  t.equal(quay(['user', 'create', 'carol', '--password-stdin', ...C], 'long-enough-pw\n').code, 2, 'missing --email');
  t.equal(quay(['user', 'create', 'Carol!', '--email', 'c@example.com', '--password-stdin', ...C], 'long-enough-pw\n').code, 1, 'invalid name');
  const row = db().prepare('SELECT password_hash, organization, robot FROM "user" WHERE username = ?').get('alice') as { password_hash: string; organization: number; robot: number };
  t.match(row.password_hash, /^\$2[aby]\$12\$/, 'bcrypt at Quay\'s cost');
  t.same([row.organization, row.robot], [0, 0]);

  const robot = quay(['robot', 'create', 'alice+ci', '--description', 'CI pushes', '--json', ...C]);
  t.equal(robot.code, 0, robot.stderr);
  robotToken = (JSON.parse(robot.stdout) as { token: string }).token;
  t.match(robotToken, /^[A-Za-z0-9]{64}$/);
  const stored = (db().prepare('SELECT t.token FROM robotaccounttoken t JOIN "user" u ON u.id = t.robot_account_id WHERE u.username = ?').get('alice+ci') as { token: string }).token;
  t.match(stored, /^v0\$\$/, 'stored encrypted');
  t.notMatch(stored, robotToken);
  t.equal(quay(['robot', 'create', 'alice+ci', ...C]).code, 1, 'duplicate robot');
  t.equal(quay(['robot', 'create', 'nobody+ci', ...C]).code, 1, 'robot of a missing namespace');
  const noKey = join(dir, 'nokey.yaml');
  writeFileSync(noKey, `SERVER_HOSTNAME: ${host}\n`);
  const nk = quay(['robot', 'create', 'alice+other', '--config', noKey, '--data-dir', dataDir]);
  t.equal(nk.code, 1);
  t.match(nk.stderr, 'DATABASE_SECRET_KEY');

  const app = quay(['app-token', 'create', 'alice', '--title', 'laptop', '--json', ...C]);
  t.equal(app.code, 0, app.stderr);
  appToken = (JSON.parse(app.stdout) as { token: string }).token;
  t.equal(appToken.length, 120);
  t.equal(quay(['app-token', 'create', 'nobody', '--title', 'x', ...C]).code, 1);

  t.equal(quay(['org', 'create', 'acme', '--owner', 'alice', ...C]).code, 0);
  t.equal(quay(['org', 'create', 'acme2', '--owner', 'nobody', ...C]).code, 1);
  const team = db().prepare(`SELECT tr.name FROM team t JOIN teamrole tr ON tr.id = t.role_id JOIN "user" o ON o.id = t.organization_id
    JOIN teammember m ON m.team_id = t.id JOIN "user" u ON u.id = m.user_id WHERE o.username = 'acme' AND t.name = 'owners' AND u.username = 'alice'`).get() as { name: string };
  t.equal(team.name, 'admin', 'owners team with the creator');
  t.equal(quay(['repo', 'create', 'alice/pub', '--public', ...C]).code, 0);
  t.equal(quay(['repo', 'create', 'nobody/x', ...C]).code, 1);
  t.equal(quay(['repo', 'grant', 'alice/missing', '--user', 'bob', '--role', 'read', ...C]).code, 1);
  t.equal(quay(['repo', 'grant', 'alice/pub', '--user', 'bob', '--role', 'owner', ...C]).code, 2);
});

// ------------------------------------------------------------------ quay serve + skopeo

let server: Child;
async function serve(): Promise<Child> {
  const c = startChild(t, process.execPath, [BIN, 'serve', ...C, '--listen', host, '--admin-listen', `127.0.0.1:${adminPort}`, '--tls', 'self-signed']);
  const t0 = Date.now();
  while (Date.now() - t0 < 30_000 && c.running()) {
    if (/"msg":"quay serving"/.test(c.stderr())) return c;
    await sleep(50);
  }
  throw new Error(`quay serve did not start:\n${c.stderr()}`);
}
function certOf(): Promise<string> {
  return new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path: '/v2/', rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      resolve(createHash('sha256').update((res.socket as import('node:tls').TLSSocket).getPeerCertificate().raw).digest('hex'));
    }).on('error', reject);
  });
}

server = await serve();
const images = join(dir, 'images');
mkdirSync(join(dir, 'work'), { recursive: true });
await buildImage(images, 'demo', [{ 'etc/motd': 'auth e2e\n' }], join(dir, 'work'));
const src = layoutManifest(images, 'demo');
const skopeo = await skopeoIn(join(dir, 'skopeo'));
const push = (creds: string | null, repo: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  skopeo.run(['copy', '--retry-times', '0', '--dest-tls-verify=false', ...(creds ? ['--dest-creds', creds] : ['--dest-no-creds']), `oci:${images}:demo`, `docker://${host}/${repo}`]);
const pull = (creds: string | null, repo: string): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  skopeo.run(['inspect', '--raw', '--tls-verify=false', ...(creds ? ['--creds', creds] : ['--no-creds']), `docker://${host}/${repo}`]);

t.test('skopeo with database auth over self-signed TLS', async (t) => {
  const p = await push('alice:alice-password', 'alice/app:v1');
  t.equal(p.code, 0, `alice pushes to a new repository: ${p.stderr}`);
  const mine = await pull('alice:alice-password', 'alice/app:v1');
  t.equal(mine.code, 0);
  t.equal(`sha256:${createHash('sha256').update(mine.stdout).digest('hex')}`, src.descriptor.digest, 'the pushed manifest comes back');

  const wrong = await push('alice:not-her-password', 'alice/app:v2');
  t.not(wrong.code, 0, 'a wrong password is refused');
  t.match(wrong.stderr, /unauthorized|Invalid Username or Password/i);
  t.not((await pull(null, 'alice/app:v1')).code, 0, 'anonymous cannot read the private repository');
  t.not((await pull('bob:bob-password', 'alice/app:v1')).code, 0, 'bob cannot read it');
  t.not((await push('bob:bob-password', 'alice/app:v3')).code, 0, 'bob cannot push to it');

  t.not((await pull(`alice+ci:${robotToken}`, 'alice/app:v1')).code, 0, 'the robot has no permission yet');
  t.equal(quay(['repo', 'grant', 'alice/app', '--user', 'alice+ci', '--role', 'read', ...C]).code, 0);
  t.equal((await pull(`alice+ci:${robotToken}`, 'alice/app:v1')).code, 0, 'after a read grant the robot pulls');
  t.not((await push(`alice+ci:${robotToken}`, 'alice/app:robot')).code, 0, 'but cannot push');
  t.not((await pull(`alice+ci:${'x'.repeat(64)}`, 'alice/app:v1')).code, 0, 'a wrong robot token is refused');
  t.equal((await pull(`$app:${appToken}`, 'alice/app:v1')).code, 0, 'an app-specific token pulls');

  t.equal((await push('alice:alice-password', 'alice/pub:v1')).code, 0, 'alice pushes to her public repository');
  t.equal((await pull(null, 'alice/pub:v1')).code, 0, 'anonymous pulls from a public repository');
  t.not((await push(null, 'alice/pub:anon')).code, 0, 'but cannot push there');

  const d = db();
  const key = d.prepare(`SELECT k.service, a.approval_type FROM servicekey k JOIN servicekeyapproval a ON a.id = k.approval_id`).all();
  t.same(key, [{ service: 'quay', approval_type: 'Automatic' }], 'our signing key is an approved servicekey row');
  const perm = d.prepare(`SELECT ro.name FROM repositorypermission p JOIN role ro ON ro.id = p.role_id JOIN "user" u ON u.id = p.user_id
    JOIN repository r ON r.id = p.repository_id WHERE u.username = 'alice' AND r.name = 'app'`).get() as { name: string };
  t.equal(perm.name, 'admin', 'the creator is admin of the repository made on push');
  const vis = d.prepare(`SELECT v.name FROM repository r JOIN visibility v ON v.id = r.visibility_id WHERE r.name = 'app'`).get() as { name: string };
  t.equal(vis.name, 'private', 'created private (CREATE_PRIVATE_REPO_ON_PUSH)');
  d.close();
});

t.test('admin listener, kept certificate, clean stop', async (t) => {
  const health = await fetch(`http://127.0.0.1:${adminPort}/healthz`);
  t.equal(health.status, 200);
  t.equal((await fetch(`http://127.0.0.1:${adminPort}/readyz`)).status, 200);
  const m = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  t.match(m, /^registryd_http_requests_total\{route_id="ROUTE_0003",method="GET",status="200"\} \d+/m, '/v2/auth counted');
  t.match(m, /^registryd_auth_tokens_issued_total\{entity_kind="user"\} \d+/m);
  t.match(m, /^registryd_http_request_duration_seconds_bucket\{/m);
  const before = await certOf();
  const certFile = readFileSync(join(dataDir, 'tls/cert.pem'));
  const kid = readFileSync(join(dataDir, 'quay.kid'), 'utf8');
  await server.stop(10_000);
  t.equal((await server.exited).code, 0, 'SIGTERM: exit 0');
  server = await serve();
  t.equal(await certOf(), before, 'the same certificate is served after a restart');
  t.same(readFileSync(join(dataDir, 'tls/cert.pem')), certFile);
  t.equal(readFileSync(join(dataDir, 'quay.kid'), 'utf8'), kid, 'the signing key is kept too');
  t.equal((await pull('alice:alice-password', 'alice/app:v1')).code, 0, 'and logins work after the restart');
  t.ok(existsSync(join(dataDir, 'quay.pem')));
});
