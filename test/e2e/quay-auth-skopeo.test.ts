/**
 * Real skopeo against `quay serve` with AUTHENTICATION_TYPE: Database over
 * self-signed TLS. Users, a robot and an app-specific token are made with the
 * `quay` CLI, as an operator would; then skopeo logs in with each (the
 * docker token flow: 401 challenge, /v2/auth with basic credentials, bearer
 * JWT) and is allowed or refused what Quay allows or refuses: the owner
 * pushes (creating the private repository) and pulls back the exact
 * manifest; a wrong password, anonymous users and other users are refused;
 * a robot reads only after `quay repo grant` and never writes with a read
 * role; `$app` with an app token pulls; a public repository is pullable
 * anonymously. quay.db must then hold what Quay's would.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { retryAfterMs } from '../../lib/passwords/passwords.js';
import { parseSqlTime } from '../../dal/model/time.js';
import { ROOT, freePort, requireBinaries, startChild, tempDir, waitFor, type RunResult } from '../lib/proc.js';
import { buildSwitchboard } from '../lib/switchboard.js';
import { buildImage, layoutManifest, skopeoIn } from '../lib/oci.js';

t.setTimeout(900_000);
requireBinaries(['skopeo', 'umoci']);
await buildSwitchboard();

const BIN = join(ROOT, 'bin/quay.js');
const dir = tempDir(t, 'quay-auth-skopeo-');
const dataDir = join(dir, 'data');
const port = await freePort();
const adminPort = await freePort();
const host = `127.0.0.1:${port}`;
const config = join(dir, 'config.yaml');
writeFileSync(config, [`SERVER_HOSTNAME: ${host}`, 'PREFERRED_URL_SCHEME: https', 'AUTHENTICATION_TYPE: Database', `DATABASE_SECRET_KEY: ${randomUUID()}`, ''].join('\n'));
const C = ['--config', config, '--data-dir', dataDir];

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('QUAY_')) env[k] = v;
  return env;
}

/** `node bin/quay.js ...args` with `input` on stdin; throws with its output unless it exits 0. */
function quay(args: readonly string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    c.stderr.setEncoding('utf8').on('data', (s: string) => {
      err += s;
    });
    c.once('error', reject);
    c.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`quay ${args.join(' ')}: exit ${String(code)}\n${out}\n${err}`))));
    c.stdin.on('error', () => {
      /* exited before reading */
    });
    c.stdin.end(input);
  });
}

const ALICE = 'alice:alice-password-1';
const BOB = 'bob:bob-password-1';
await quay(['user', 'create', 'alice', '--email', 'alice@example.com', '--password-stdin', ...C], 'alice-password-1\n');
await quay(['user', 'create', 'bob', '--email', 'bob@example.com', '--password-stdin', ...C], 'bob-password-1\n');
const robotToken = (JSON.parse(await quay(['robot', 'create', 'alice+ci', '--json', ...C])) as { token: string }).token;
const ROBOT = `alice+ci:${robotToken}`;

const server = startChild(t, process.execPath, [BIN, 'serve', ...C, '--listen', host, '--admin-listen', `127.0.0.1:${adminPort}`, '--tls', 'self-signed'], {
  cwd: dir,
  env: childEnv(),
});
await waitFor(() => !server.running() || server.stderr().includes('"msg":"quay serving"'), 60_000, 50);
if (!server.running()) throw new Error(`quay serve did not start (exit ${String(server.child.exitCode)}):\n${server.stderr()}`);

const images = join(dir, 'images');
mkdirSync(join(dir, 'work'), { recursive: true });
await buildImage(images, 'demo', [{ 'etc/motd': 'quay auth e2e\n' }, { 'usr/share/demo/data.txt': randomUUID() }], join(dir, 'work'));
const src = layoutManifest(images, 'demo');
const skopeo = await skopeoIn(join(dir, 'skopeo'));

/** Whatever skopeo said, for assertion messages. */
const said = (r: RunResult): { stdout: string; stderr: string; quay_log_tail: string } => ({
  stdout: r.stdout,
  stderr: r.stderr,
  quay_log_tail: server.stderr().split('\n').slice(-15).join('\n'),
});

/**
 * Asserts skopeo was refused by the registry's authorization (not by TLS, a
 * dead server or a missing image): a non-zero exit with an auth error.
 */
function refused(t: Test, r: RunResult, what: string): void {
  t.not(r.code, 0, what, said(r));
  t.match(r.stderr, /unauthorized|denied|authentication required|invalid username or password/i, `${what}: an authorization error`, said(r));
  t.notMatch(r.stderr, /x509|certificate|connection refused|EOF/i, `${what}: not a transport error`);
}

function push(creds: string | null, ref: string): Promise<RunResult> {
  return skopeo.run([
    'copy',
    '--retry-times',
    '0',
    '--dest-tls-verify=false',
    ...(creds ? ['--dest-creds', creds] : ['--dest-no-creds']),
    `oci:${images}:demo`,
    `docker://${host}/${ref}`,
  ]);
}
function pull(creds: string | null, ref: string, out: string): Promise<RunResult> {
  return skopeo.run([
    'copy',
    '--retry-times',
    '0',
    '--src-tls-verify=false',
    ...(creds ? ['--src-creds', creds] : ['--src-no-creds']),
    `docker://${host}/${ref}`,
    `oci:${join(dir, 'pulled', out)}:x`,
  ]);
}
let pulls = 0;
/** A pull into a fresh layout; returns skopeo's result and the pulled manifest digest (when it worked). */
async function pullDigest(creds: string | null, ref: string): Promise<{ r: RunResult; digest: string | null }> {
  const name = `p${++pulls}`;
  mkdirSync(join(dir, 'pulled'), { recursive: true });
  const r = await pull(creds, ref, name);
  return { r, digest: r.code === 0 ? layoutManifest(join(dir, 'pulled', name), 'x').descriptor.digest : null };
}
function inspectRaw(creds: string | null, ref: string): Promise<RunResult> {
  return skopeo.run(['inspect', '--raw', '--retry-times', '0', '--tls-verify=false', ...(creds ? ['--creds', creds] : ['--no-creds']), `docker://${host}/${ref}`]);
}

t.test('alice pushes alice/app:v1, which creates the repository', async (t) => {
  const r = await push(ALICE, 'alice/app:v1');
  t.equal(r.code, 0, 'push works', said(r));
});

/**
 * Waits out the login back-off of `user` as the database records it (the
 * runtime's own retryAfterMs): skopeo may log in more than once per command,
 * so the count, not a fixed pause, says how long.
 */
async function backoffPassed(user: string): Promise<void> {
  const d = new Database(join(dataDir, 'quay.db'), { readonly: true });
  try {
    const row = d.prepare('SELECT invalid_login_attempts AS n, last_invalid_login AS at FROM "user" WHERE username = ?').get(user) as { n: number; at: string | null } | undefined;
    if (!row || row.n === 0 || !row.at) return;
    const retryAt = retryAfterMs(row.n, parseSqlTime(row.at));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, retryAt - Date.now()) + 250));
  } finally {
    d.close();
  }
}

t.test('a wrong password is refused', async (t) => {
  const r = await push('alice:not-her-password', 'alice/app:v2');
  refused(t, r, 'push refused');
  t.match(r.stderr, /unauthorized|invalid/i, 'skopeo says why', said(r));
  // Quay's back-off after a failure, during which a login is answered 429 (too many requests).
  await backoffPassed('alice');
  const p = await pullDigest('alice:not-her-password', 'alice/app:v1');
  refused(t, p.r, 'pull refused too');
  t.match(p.r.stderr, /unauthorized|invalid/i);
  const unknown = await pullDigest('mallory:whatever-password', 'alice/app:v1');
  refused(t, unknown.r, 'an unknown user is refused');
  // Quay's back-off holds alice's own logins too until it passes: the tests below log in as her.
  await backoffPassed('alice');
});

t.test('the private repository is closed to anonymous users and to bob', async (t) => {
  const anon = await pullDigest(null, 'alice/app:v1');
  refused(t, anon.r, 'anonymous pull fails');
  t.equal(anon.digest, null);
  const bob = await pullDigest(BOB, 'alice/app:v1');
  refused(t, bob.r, 'bob cannot pull');
  t.notMatch(bob.r.stderr, /invalid username or password/i, 'bob is logged in, just not allowed', said(bob.r));
  refused(t, await push(BOB, 'alice/app:bob'), 'bob cannot push');
  refused(t, await push(null, 'alice/app:anon'), 'anonymous cannot push');
});

t.test('alice pulls back the exact manifest', async (t) => {
  const p = await pullDigest(ALICE, 'alice/app:v1');
  t.equal(p.r.code, 0, 'pull works', said(p.r));
  t.equal(p.digest, src.descriptor.digest, 'same manifest digest as pushed');
  const raw = await inspectRaw(ALICE, 'alice/app:v1');
  t.equal(raw.code, 0, 'inspect --raw works', said(raw));
  t.equal(`sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`, src.descriptor.digest, 'the manifest bytes round-trip');
  const byDigest = await pullDigest(ALICE, `alice/app@${src.descriptor.digest}`);
  t.equal(byDigest.digest, src.descriptor.digest, 'pull by digest');
});

t.test('robot alice+ci: nothing before a grant, read after, never write', async (t) => {
  const before = await pullDigest(ROBOT, 'alice/app:v1');
  refused(t, before.r, 'no pull before the grant');
  await quay(['repo', 'grant', 'alice/app', '--user', 'alice+ci', '--role', 'read', ...C]);
  const after = await pullDigest(ROBOT, 'alice/app:v1');
  t.equal(after.r.code, 0, 'pulls after `quay repo grant --role read`', said(after.r));
  t.equal(after.digest, src.descriptor.digest);
  const w = await push(ROBOT, 'alice/app:robot');
  refused(t, w, 'but cannot push with a read role');
  refused(t, (await pullDigest(`alice+ci:${'A'.repeat(64)}`, 'alice/app:v1')).r, 'a wrong robot token is refused');
  refused(t, (await pullDigest(`alice+nope:${robotToken}`, 'alice/app:v1')).r, 'the token of another robot name is refused');
});

t.test('an app-specific token ($app) pulls', async (t) => {
  const token = (JSON.parse(await quay(['app-token', 'create', 'alice', '--title', 'ci', '--json', ...C])) as { token: string }).token;
  const p = await pullDigest(`$app:${token}`, 'alice/app:v1');
  t.equal(p.r.code, 0, 'pull with $app works', said(p.r));
  t.equal(p.digest, src.descriptor.digest);
  const pushed = await push(`$app:${token}`, 'alice/app:v-app');
  t.equal(pushed.code, 0, "and it carries alice's rights (push)", said(pushed));
  const forged = `${token.slice(0, 60)}${'B'.repeat(60)}`;
  refused(t, (await pullDigest(`$app:${forged}`, 'alice/app:v1')).r, 'right name, wrong secret: refused');
});

t.test('a public repository is pullable anonymously', async (t) => {
  await quay(['repo', 'create', 'alice/pub', '--public', ...C]);
  const p = await push(ALICE, 'alice/pub:v1');
  t.equal(p.code, 0, 'alice pushes to alice/pub', said(p));
  const anon = await pullDigest(null, 'alice/pub:v1');
  t.equal(anon.r.code, 0, 'anonymous pull works', said(anon.r));
  t.equal(anon.digest, src.descriptor.digest);
  const bob = await pullDigest(BOB, 'alice/pub:v1');
  t.equal(bob.r.code, 0, 'bob pulls it too');
  refused(t, await push(null, 'alice/pub:anon'), 'anonymous cannot push there');
  refused(t, await push(BOB, 'alice/pub:bob'), 'nor can bob');
});

t.test("quay.db holds what Quay's would", async (t) => {
  const d = new Database(join(dataDir, 'quay.db'), { readonly: true });
  t.teardown(() => d.close());
  const keys = d.prepare(`SELECT k.service, k.kid, k.jwk, a.approval_type FROM servicekey k JOIN servicekeyapproval a ON a.id = k.approval_id`).all() as {
    service: string;
    kid: string;
    jwk: string;
    approval_type: string;
  }[];
  t.equal(keys.length, 1, 'one servicekey row, approved');
  t.equal(keys[0]?.service, 'quay');
  t.ok(keys[0]?.approval_type, 'with an approval type');
  t.equal((JSON.parse(keys[0]?.jwk ?? '{}') as { kty?: string }).kty, 'RSA', 'the public JWK');
  t.same(d.prepare('SELECT count(*) n FROM servicekey WHERE approval_id IS NULL').get(), { n: 0 }, 'no unapproved key');

  const perm = (user: string, repo: string): string | undefined =>
    (
      d
        .prepare(
          `SELECT ro.name FROM repositorypermission p JOIN role ro ON ro.id = p.role_id
    JOIN "user" u ON u.id = p.user_id JOIN repository r ON r.id = p.repository_id JOIN "user" n ON n.id = r.namespace_user_id
    WHERE u.username = ? AND n.username = 'alice' AND r.name = ?`,
        )
        .get(user, repo) as { name: string } | undefined
    )?.name;
  t.equal(perm('alice', 'app'), 'admin', 'alice is admin of alice/app, made on push');
  t.equal(perm('alice+ci', 'app'), 'read', "the robot's grant");
  t.equal(perm('bob', 'app'), undefined, 'bob has nothing');
  const vis = d.prepare(`SELECT r.name, v.name vis FROM repository r JOIN visibility v ON v.id = r.visibility_id ORDER BY r.name`).all();
  t.same(vis, [
    { name: 'app', vis: 'private' },
    { name: 'pub', vis: 'public' },
  ]);
  const tags = d
    .prepare(
      `SELECT r.name repo, t.name tag, m.digest FROM tag t JOIN manifest m ON m.id = t.manifest_id JOIN repository r ON r.id = t.repository_id
    WHERE t.hidden = 0 AND t.lifetime_end_ms IS NULL ORDER BY r.name, t.name`,
    )
    .all();
  t.same(
    tags,
    [
      { repo: 'app', tag: 'v-app', digest: src.descriptor.digest },
      { repo: 'app', tag: 'v1', digest: src.descriptor.digest },
      { repo: 'pub', tag: 'v1', digest: src.descriptor.digest },
    ],
    'only the allowed pushes left tags',
  );
});
