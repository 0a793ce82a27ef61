/**
 * The TS runtime on the SQLite database Quay's own initdb.py makes (issue 15):
 * the test data Quay's own test suites run on — users devtable, public,
 * reader, freshuser, a disabled and an unverified user, organisation
 * buynlarge with teams and robots, 19 repositories among them a read-only
 * and a mirrored one. Real Quay and `quay serve` run side by side on that one
 * file and one storage directory, and must agree:
 *  - the database (no alembic_version: initdb never stamps it) is accepted
 *    as it is and stays unstamped;
 *  - /v2/auth grants every user and robot exactly the access Quay grants, on
 *    every repository (one request per identity, a scope per repository, as
 *    docker asks), anonymous included;
 *  - tag lists and every tagged manifest read the same (status, digest,
 *    media type, bytes), including Quay's own legacy manifests;
 *  - the catalog each identity sees is the same;
 *  - a push through the TS side pulls through Quay, and pushes Quay refuses
 *    (read-only and mirrored repositories) are refused alike.
 */
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { request, requireBinaries, tempDir, type Reply } from '../lib/proc.js';
import { startQuayPython, startQuayServe } from '../lib/quay-python.js';
import { QuayWebSession } from '../lib/quay-api.js';
import { V2Client, pushImageParts } from '../lib/v2-client.js';
import { buildImage, layoutManifest, skopeoIn } from '../lib/oci.js';
import { formatQuayTimestamp } from '../../dal/sqlite/schema.js';

t.setTimeout(600_000);
requireBinaries(['skopeo', 'umoci']);

const dir = tempDir(t, 'swb-initdb-shared-');
const quay = await startQuayPython(t);
const host = `127.0.0.1:${quay.port}`; // Quay's SERVER_HOSTNAME: both sides issue tokens for it

const { port: goPort } = await startQuayServe(t, { configFile: quay.configFile, dataDir: join(dir, 'ts-data'), what: "quay serve on initdb's SQLite database" });

const db = new Database(quay.database, { readonly: true });
t.teardown(() => db.close());
const REPOS = db.prepare(`SELECT u.username || '/' || r.name FROM repository r JOIN "user" u ON u.id = r.namespace_user_id ORDER BY 1`).pluck().all() as string[];

/** Claims of a registry JWT. */
const claims = (token: string): { access: { type: string; name: string; actions: string[] }[] } =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { access: { type: string; name: string; actions: string[] }[] };

/** /v2/auth on `port` for every repository at once, as `creds` (null = anonymous). */
async function grants(port: number, creds: string | null): Promise<{ status: number; access: Record<string, string[]>; body?: unknown }> {
  const scopes = REPOS.map((r) => `scope=${encodeURIComponent(`repository:${r}:pull,push`)}`).join('&');
  const headers: Record<string, string> = creds ? { authorization: `Basic ${Buffer.from(creds).toString('base64')}` } : {};
  const r = await request(port, { path: `/v2/auth?service=${encodeURIComponent(host)}&${scopes}`, headers });
  if (r.status !== 200) return { status: r.status, access: {}, body: r.header('content-type').includes('json') ? r.json() : r.text() };
  const access: Record<string, string[]> = {};
  for (const a of claims(String(r.json().token)).access) access[a.name] = [...a.actions].sort();
  return { status: 200, access };
}

const session = await QuayWebSession.signIn(quay.url, 'devtable', 'password');
const IDENTITIES: [string, string | null][] = [
  ['anonymous', null],
  ...['devtable', 'public', 'reader', 'freshuser', 'creator', 'member', 'outsideorg', 'randomuser', 'unverified', 'disabled'].map((u): [string, string] => [u, `${u}:password`]),
  ['devtable+dtrobot', `devtable+dtrobot:${await session.robotToken('devtable+dtrobot', 'devtable')}`],
  ['buynlarge+coolrobot', `buynlarge+coolrobot:${await session.robotToken('buynlarge+coolrobot', 'devtable')}`],
];

// (Every await of the set-up comes before the first t.test: tap ends the root test when no subtest is queued.)
t.test("initdb's unstamped database is accepted as it is", async (t) => {
  t.equal(REPOS.length, 19, "Quay's 19 test repositories");
  t.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'alembic_version'").pluck().get(), 0, 'still no alembic_version after the TS side opened it');
  const r = await request(goPort, { path: '/v2/' });
  t.equal(r.status, 401, 'the TS side answers on it');
});

t.test('/v2/auth grants every identity what Quay grants, on every repository', async (t) => {
  for (const [who, creds] of IDENTITIES) {
    const q = await grants(quay.port, creds);
    const g = await grants(goPort, creds);
    t.same(g, q, `${who}: ${q.status === 200 ? `${Object.values(q.access).filter((a) => a.length > 0).length} repositories with access` : `refused ${q.status}`}`);
  }
});

t.test("a wrong password is refused alike, and each side honours the other's back-off (one user row)", async (t) => {
  // Users nothing else here logs in as: a failure makes both sides refuse that user for a moment.
  const attempts = (u: string) => db.prepare('SELECT invalid_login_attempts FROM "user" WHERE username = ?').pluck().get(u);
  const q1 = await grants(quay.port, 'randomuser:nope');
  const g1 = await grants(goPort, 'subscription:nope');
  t.same(g1, q1, `a first failure: ${q1.status}`);
  t.equal(q1.status, 401);
  t.same([attempts('randomuser'), attempts('subscription')], [1, 1], 'each side counted its failure in the user row');
  // Ten failures: a back-off of 5 × (2¹⁰ − 1) / 10 s, far longer than this test (Quay's exponential_backoff).
  const rw = new Database(quay.database);
  rw.pragma('busy_timeout = 5000');
  const setAttempts = (n: number) =>
    rw
      .prepare('UPDATE "user" SET invalid_login_attempts = ?, last_invalid_login = ? WHERE username IN (?, ?)')
      .run(n, formatQuayTimestamp(new Date()), 'randomuser', 'subscription');
  setAttempts(10);
  const q2 = await grants(quay.port, 'randomuser:password');
  t.equal(q2.status, 429, 'inside the window Quay refuses even the right password');
  t.same(await grants(goPort, 'randomuser:password'), q2, 'so do we, with the same answer');
  t.same(await grants(goPort, 'subscription:password'), q2, 'for either user');
  setAttempts(0);
  t.equal((await grants(quay.port, 'subscription:password')).status, 200, 'cleared, Quay lets the user in');
  t.equal((await grants(goPort, 'randomuser:password')).status, 200, 'and so do we');
  rw.close();
});

const devtable = (port: number) => new V2Client(port, host, 'devtable:password');

t.test('tag lists and every tagged manifest read the same', async (t) => {
  const [q, g] = [devtable(quay.port), devtable(goPort)];
  let manifests = 0;
  for (const repo of REPOS) {
    const scope = `repository:${repo}:pull`;
    const lq = await q.call({ path: `/v2/${repo}/tags/list?n=100` }, scope);
    const lg = await g.call({ path: `/v2/${repo}/tags/list?n=100` }, scope);
    t.same([lg.status, lg.json()], [lq.status, lq.json()], `${repo}: tags/list`);
    if (lq.status !== 200) continue;
    for (const tag of (lq.json() as { tags: string[] }).tags) {
      const [mq, mg] = [await q.getManifest(repo, tag), await g.getManifest(repo, tag)];
      const view = (r: Reply) => ({ status: r.status, digest: r.header('docker-content-digest'), type: r.header('content-type'), bytes: r.body.toString('base64') });
      t.same(view(mg), view(mq), `${repo}:${tag}: ${mq.status} ${mq.header('content-type')}`);
      manifests += 1;
    }
  }
  t.ok(manifests > 20, `${manifests} manifests compared`);
});

t.test('the catalog each identity sees is the same', async (t) => {
  for (const [who, creds] of IDENTITIES.slice(0, 4)) {
    const get = async (port: number): Promise<[number, unknown]> => {
      const c = new V2Client(port, host, creds);
      const token = creds ? await c.token('registry:catalog:*').catch(() => null) : null;
      const r = await c.call({ path: '/v2/_catalog?n=100', token });
      return [r.status, r.status === 200 ? r.json() : (r.json() as { errors: { code: string }[] }).errors.map((e) => e.code)];
    };
    t.same(await get(goPort), await get(quay.port), `${who}`);
  }
});

t.test('a push through the TS side pulls through Quay; refused pushes are refused alike', async (t) => {
  const images = join(dir, 'images');
  mkdirSync(join(dir, 'work'), { recursive: true });
  await buildImage(images, 'img', [{ 'hello.txt': randomUUID() }], join(dir, 'work'));
  const skopeo = await skopeoIn(join(dir, 'skopeo'));
  const push = await skopeo.run([
    'copy',
    '--retry-times',
    '0',
    '--dest-tls-verify=false',
    '--dest-creds',
    'devtable:password',
    `oci:${images}:img`,
    `docker://127.0.0.1:${goPort}/devtable/pushed-by-ts:v1`,
  ]);
  t.equal(push.code, 0, 'skopeo pushes through the TS side', { stderr: push.stderr });
  const out = join(dir, 'out');
  const pull = await skopeo.run([
    'copy',
    '--retry-times',
    '0',
    '--src-tls-verify=false',
    '--src-creds',
    'devtable:password',
    `docker://${host}/devtable/pushed-by-ts:v1`,
    `oci:${out}:x`,
  ]);
  t.equal(pull.code, 0, 'and pulls it through Quay', { stderr: pull.stderr });
  t.equal(layoutManifest(out, 'x').descriptor.digest, layoutManifest(images, 'img').descriptor.digest, 'same manifest digest');

  for (const repo of ['devtable/readonly', 'devtable/mirrored']) {
    const answers: unknown[] = [];
    for (const port of [quay.port, goPort]) {
      const c = devtable(port);
      const start = await c.call({ method: 'POST', path: `/v2/${repo}/blobs/uploads/` }, V2Client.rw(repo)).catch((e: Error) => e);
      if (start instanceof Error) {
        answers.push(start.message.replace(/ on \d+/, ''));
        continue;
      }
      answers.push([start.status, start.status >= 400 ? start.json() : 'accepted']);
    }
    t.same(answers[1], answers[0], `${repo}: ${JSON.stringify(answers[0]).slice(0, 140)}`);
  }
  const parts = await pushImageParts(devtable(goPort), 'devtable/simple', 'extra');
  const q = await devtable(quay.port).putManifest('devtable/simple', 'from-ts', parts.manifest);
  t.equal(q.status, 201, 'Quay tags a manifest whose blobs the TS side uploaded into a repository of its test data');
});
