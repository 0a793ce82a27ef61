/**
 * One data tier, two implementations (issue 15): real Python Quay (its own
 * source, gunicorn) as `python` and the TS runtime (`quay serve`) as `go`,
 * both on ONE PostgreSQL database laid down by Quay's own `alembic upgrade
 * head` and ONE storage directory (Quay's `local_us` location), behind the
 * real `switchboard serve`, whose address is both implementations'
 * SERVER_HOSTNAME (one hostname, two implementations, as deployed).
 *
 * Each flow writes through one implementation and reads through the other,
 * in both directions, checking bytes and digests:
 *  - the first user, made with `quay user create`, signs in to real Quay;
 *  - skopeo push through Quay, V2_PULL flipped to go, pull through the TS
 *    side; and push through the TS side, pull through Quay;
 *  - a chunked upload started on one implementation and finished on the
 *    other (pinning off, V2_UPLOAD flipped between PATCHes), each resuming
 *    from the other's sha_state and partial file;
 *  - bearer tokens issued by either /v2/auth accepted by the other; robots
 *    and app-specific tokens made in Quay (its REST API) used on the TS side
 *    and ones made with the `quay` CLI used on Quay;
 *  - tags moved, deleted and restored across the two (Quay's time machine),
 *    manifests pushed by digest (hidden tags), OCI indexes, referrers, and
 *    private repositories refused the same way;
 *  - V2_PULL flipped back and forth and the kill switch thrown under load
 *    with zero failed requests.
 */
import t from 'tap';
import type { Test } from 'tap';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { ROOT, freePort, request, requireBinaries, runOk, tempDir, waitFor } from '../lib/proc.js';
import { buildSwitchboard, startSwitchboard } from '../lib/switchboard.js';
import { startQuayPython, startQuayServe } from '../lib/quay-python.js';
import { QuayWebSession } from '../lib/quay-api.js';
import { OCI_INDEX, OCI_MANIFEST, V2Client, pushImageParts, sha256 } from '../lib/v2-client.js';
import { blobPath, buildImage, layoutManifest, skopeoIn } from '../lib/oci.js';

t.setTimeout(900_000);
requireBinaries(['skopeo', 'umoci']);
await buildSwitchboard();

const dir = tempDir(t, 'swb-cross-runtime-');
const sbPort = await freePort();
const host = `127.0.0.1:${sbPort}`;
const quay = await startQuayPython(t, { serverHostname: host, database: 'postgres', schema: 'alembic' });

// The first user of an empty (alembic) Quay database, made by our CLI.
const ADMIN = 'admin';
const PASSWORD = `pw-${randomBytes(6).toString('hex')}`;
const CREDS = `${ADMIN}:${PASSWORD}`;
const tsData = join(dir, 'ts-data');
const quayCli = (args: readonly string[]) =>
  runOk(process.execPath, ['bin/quay.js', ...args, '--mode', 'standalone', '--config', quay.configFile, '--data-dir', tsData], {
    cwd: ROOT,
    env: { ...process.env, ADMIN_PASSWORD: PASSWORD },
    timeoutMs: 60_000,
  });
await quayCli(['user', 'create', ADMIN, '--email', 'admin@example.com', '--password-env', 'ADMIN_PASSWORD']);

const { port: goPort, child: ts } = await startQuayServe(t, { configFile: quay.configFile, dataDir: tsData, what: "quay serve on Quay's database" });

const SB_DIR = join(dir, 'switchboard');
mkdirSync(SB_DIR);
const owners = { python: quay.url, go: `http://127.0.0.1:${goPort}` };
const sb = await startSwitchboard(t, SB_DIR, owners, { migration: { ROUTE_OWNER_DEFAULT: 'python' }, settings: { PIN_UPLOADS: false } }, { listen: host });
let routed = JSON.stringify({ ROUTE_OWNER_DEFAULT: 'python' });
/** Rewrites MIGRATION (python by default) and waits until the switchboard runs it; a no-op when unchanged. */
async function route(migration: Record<string, unknown>): Promise<number> {
  const next = { ROUTE_OWNER_DEFAULT: 'python', ...migration };
  if (JSON.stringify(next) === routed) return sb.version();
  const version = await sb.reconfigure({ migration: next, settings: { PIN_UPLOADS: false } });
  routed = JSON.stringify(next);
  return version;
}

/** Clients placing requests: through the switchboard, straight at Quay, straight at the TS side. */
const viaSb = new V2Client(sbPort, host, CREDS);
const atQuay = new V2Client(quay.port, host, CREDS);
const atTs = new V2Client(goPort, host, CREDS);

/** Owners of the access-log lines written since `from` (an index into the log), for paths matching `path`. */
function ownersSince(from: number, path: RegExp): Set<string> {
  return new Set(
    sb
      .accessLog()
      .slice(from)
      .filter((l) => path.test(l.path))
      .map((l) => l.owner),
  );
}

/** The same, once a line for `path` has been written: the access log lags the response by a write. */
async function ownersOnceLogged(from: number, path: RegExp): Promise<Set<string>> {
  await waitFor(() => ownersSince(from, path).size > 0, 10_000, 50);
  return ownersSince(from, path);
}

const skopeo = await skopeoIn(join(dir, 'skopeo'));
const images = join(dir, 'images');
mkdirSync(join(dir, 'work'), { recursive: true });
await buildImage(images, 'one', [{ 'etc/motd': 'cross-runtime one\n' }, { 'data.bin': randomBytes(300_000) }], join(dir, 'work'));
await buildImage(images, 'two', [{ 'etc/motd': 'cross-runtime two\n' }, { 'data.txt': randomUUID() }], join(dir, 'work'));

async function skopeoCopy(from: string, to: string, what: string): Promise<void> {
  const r = await skopeo.run(['copy', '--retry-times', '0', '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', CREDS, '--dest-creds', CREDS, from, to]);
  if (r.code !== 0)
    throw new Error(
      `${what}: skopeo failed\n${r.stderr}\n--- quay log tail ---\n${quay.log().split('\n').slice(-30).join('\n')}\n--- ts log tail ---\n${ts.stderr().split('\n').slice(-15).join('\n')}`,
    );
}

/** Every blob of a pulled layout equals the source layout's (digest and bytes). */
function sameImage(t: Test, src: string, srcTag: string, out: string, outTag: string): void {
  const a = layoutManifest(src, srcTag);
  const b = layoutManifest(out, outTag);
  t.equal(b.descriptor.digest, a.descriptor.digest, 'manifest digest pushed = pulled');
  for (const d of [a.manifest.config, ...a.manifest.layers]) {
    t.ok(readFileSync(blobPath(out, d.digest)).equals(readFileSync(blobPath(src, d.digest))), `blob ${d.digest.slice(0, 19)} byte for byte`);
  }
}

t.test('the first user, made with `quay user create` on the alembic database, signs in to real Quay', async (t) => {
  const r = await atQuay.auth(`repository:${ADMIN}/anything:pull,push`);
  t.equal(r.status, 200, `Quay's /v2/auth accepts the password our CLI hashed: ${r.text().slice(0, 120)}`);
  // A second user for the wrong password: Quay then backs off that user's logins for a while.
  await quayCli(['user', 'create', 'other', '--email', 'other@example.com', '--password-env', 'ADMIN_PASSWORD']);
  t.equal((await atQuay.auth('repository:other/anything:pull', `other:${PASSWORD}`)).status, 200, 'Quay accepts a second user of ours');
  const wrong = await atQuay.auth('repository:other/anything:pull', 'other:not-it');
  t.equal(wrong.status, 401, 'and refuses a wrong password');
  const session = await QuayWebSession.signIn(quay.url, ADMIN, PASSWORD);
  const me = await session.call('GET', '/api/v1/user/');
  t.equal(me.status, 200);
  t.equal(me.body.username, ADMIN, "Quay's web sign-in works for the user too");
});

t.test('skopeo push through Quay, V2_PULL flipped to go, pull through the TS side', async (t) => {
  await route({});
  await skopeoCopy(`oci:${images}:one`, `docker://${host}/${ADMIN}/fromquay:v1`, 'push through Quay');
  t.same(await ownersOnceLogged(0, /\/manifests\//), new Set(['python']), 'the push went to Quay');
  await route({ ROUTE_OWNER_CAP_V2_PULL: 'go' });
  const mark = sb.accessLog().length;
  const out = join(dir, 'pulled-from-ts');
  await skopeoCopy(`docker://${host}/${ADMIN}/fromquay:v1`, `oci:${out}:x`, 'pull through the TS side');
  t.same(await ownersOnceLogged(mark, /\/(manifests|blobs)\/sha256:|\/manifests\/v1$/), new Set(['go']), 'manifest and blob reads went to the TS side');
  sameImage(t, images, 'one', out, 'x');
});

t.test('skopeo push through the TS side, everything flipped back to python, pull through Quay', async (t) => {
  await route({ ROUTE_OWNER_DEFAULT: 'go' });
  const mark = sb.accessLog().length;
  await skopeoCopy(`oci:${images}:two`, `docker://${host}/${ADMIN}/fromts:v1`, 'push through the TS side');
  t.same(await ownersOnceLogged(mark, /./), new Set(['go']), 'the whole push, /v2/auth included, went to the TS side');
  await route({});
  const mark2 = sb.accessLog().length;
  const out = join(dir, 'pulled-from-quay');
  await skopeoCopy(`docker://${host}/${ADMIN}/fromts:v1`, `oci:${out}:x`, 'pull through Quay');
  t.same(await ownersOnceLogged(mark2, /./), new Set(['python']), 'the pull went to Quay');
  sameImage(t, images, 'two', out, 'x');
  const tags = await atQuay.call({ path: `/v2/${ADMIN}/fromts/tags/list` }, `repository:${ADMIN}/fromts:pull`);
  t.same(tags.json(), { name: `${ADMIN}/fromts`, tags: ['v1'] }, 'Quay lists the tag the TS side wrote');
});

/**
 * POST and a first PATCH on `first`, V2_UPLOAD flipped, a second PATCH, the
 * status and the closing PUT on `second`, all through the switchboard.
 */
async function crossUpload(t: Test, first: 'python' | 'go', second: 'python' | 'go', repo: string): Promise<void> {
  const part1 = randomBytes(1_500_000);
  const part2 = randomBytes(700_001);
  const whole = Buffer.concat([part1, part2]);
  const digest = sha256(whole);
  const scope = V2Client.rw(repo);
  await route({ ROUTE_OWNER_CAP_V2_UPLOAD: first });
  const mark = sb.accessLog().length;
  const start = await viaSb.call({ method: 'POST', path: `/v2/${repo}/blobs/uploads/` }, scope);
  t.equal(start.status, 202, `${first} starts the upload`);
  const loc = new URL(start.header('location'), `http://${host}`);
  const p1 = await viaSb.call(
    { method: 'PATCH', path: loc.pathname, body: part1, headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${part1.length - 1}` } },
    scope,
  );
  t.equal(p1.status, 202, `${first} takes the first chunk`);
  await route({ ROUTE_OWNER_CAP_V2_UPLOAD: second });
  const p2 = await viaSb.call(
    { method: 'PATCH', path: loc.pathname, body: part2, headers: { 'content-type': 'application/octet-stream', 'content-range': `${part1.length}-${whole.length - 1}` } },
    scope,
  );
  t.equal(p2.status, 202, `${second} takes the second chunk of ${first}'s upload: ${p2.status === 202 ? '' : p2.text()}`);
  const status = await viaSb.call({ path: loc.pathname }, scope);
  t.equal(status.status, 204);
  t.equal(status.header('range'), `bytes=0-${whole.length}`, `${second} reports every byte (Quay's Range form)`);
  const done = await viaSb.call({ method: 'PUT', path: `${loc.pathname}?digest=${digest}` }, scope);
  t.equal(done.status, 201, `${second} finishes it with the digest of both chunks: ${done.status === 201 ? '' : done.text()}`);
  t.equal(done.header('docker-content-digest'), digest);
  // A request's access-log line is written as its response finishes, which can be just after the client has it.
  const uploadLines = () =>
    sb
      .accessLog()
      .slice(mark)
      .filter((l) => l.path.includes('/blobs/uploads/'));
  await waitFor(() => uploadLines().length >= 5, 5000);
  const log = uploadLines();
  t.same(
    log.map((l) => `${l.method} ${l.owner}`),
    [`POST ${first}`, `PATCH ${first}`, `PATCH ${second}`, `GET ${second}`, `PUT ${second}`],
    'each request went where the switch said',
    { log },
  );
  for (const [name, c] of [
    ['Quay', atQuay],
    ['the TS side', atTs],
  ] as const) {
    const got = await c.call({ path: `/v2/${repo}/blobs/${digest}` }, `repository:${repo}:pull`);
    t.equal(got.status, 200, `${name} serves the blob`);
    t.ok(got.body.equals(whole), `${name} serves it byte for byte`);
  }
}

t.test("a chunked upload started on Quay is finished on the TS side, from Quay's sha_state", (t) => crossUpload(t, 'python', 'go', `${ADMIN}/chunks-q2t`));
t.test('a chunked upload started on the TS side is finished on Quay, from our sha_state', (t) => crossUpload(t, 'go', 'python', `${ADMIN}/chunks-t2q`));

t.test('bearer tokens cross both ways (one servicekey table)', async (t) => {
  await route({});
  const repo = `${ADMIN}/fromquay`;
  const scope = `repository:${repo}:pull`;
  const fromQuay = await atQuay.token(scope);
  const fromTs = await atTs.token(scope);
  for (const [who, token] of [
    ['Quay', fromQuay],
    ['the TS side', fromTs],
  ] as const) {
    for (const [name, c] of [
      ['Quay', atQuay],
      ['the TS side', atTs],
    ] as const) {
      const r = await c.call({ path: `/v2/${repo}/tags/list`, token });
      t.equal(r.status, 200, `a token ${who} issued lists tags on ${name}`);
    }
  }
  const other = await atTs.call({ path: `/v2/${ADMIN}/fromts/tags/list`, token: fromQuay });
  const otherQ = await atQuay.call({ path: `/v2/${ADMIN}/fromts/tags/list`, token: fromQuay });
  t.equal(other.status, otherQ.status, `a token for another repository is refused alike (${otherQ.status})`);
  t.same(
    other.json().errors?.map((e: { code: string }) => e.code),
    otherQ.json().errors?.map((e: { code: string }) => e.code),
    '... with the same error code',
  );
});

t.test('robots and app-specific tokens made in Quay work on the TS side, and ours on Quay', async (t) => {
  const session = await QuayWebSession.signIn(quay.url, ADMIN, PASSWORD);
  const bot = await session.call('PUT', '/api/v1/user/robots/quaybot', { description: 'made in Quay' });
  t.equal(bot.status, 201, `Quay makes a robot: ${JSON.stringify(bot.body).slice(0, 200)}`);
  const perm = await session.call('PUT', `/api/v1/repository/${ADMIN}/fromts/permissions/user/${ADMIN}+quaybot`, { role: 'read' });
  t.equal(perm.status, 200, 'and grants it read on a repository the TS side pushed');
  const app = await session.call('POST', '/api/v1/user/apptoken', { title: 'made in Quay' });
  t.equal(app.status, 200, 'Quay makes an app-specific token');
  const appCode = String(app.body.token?.token_code);

  const tsBot = JSON.parse((await quayCli(['robot', 'create', `${ADMIN}+tsbot`, '--json'])).stdout) as { name: string; token: string };
  await quayCli(['repo', 'grant', `${ADMIN}/fromquay`, '--user', `${ADMIN}+tsbot`, '--role', 'read']);
  const tsApp = JSON.parse((await quayCli(['app-token', 'create', ADMIN, '--title', 'made by quay CLI', '--json'])).stdout) as { token: string };

  const cases: [string, number, string, string][] = [
    ["Quay's robot on the TS side", goPort, `${ADMIN}+quaybot:${String(bot.body.token)}`, `${ADMIN}/fromts`],
    ["Quay's app token on the TS side", goPort, `$app:${appCode}`, `${ADMIN}/fromts`],
    ['our robot on Quay', quay.port, `${tsBot.name}:${tsBot.token}`, `${ADMIN}/fromquay`],
    ['our app token on Quay', quay.port, `$app:${tsApp.token}`, `${ADMIN}/fromquay`],
  ];
  for (const [what, port, creds, repo] of cases) {
    const c = new V2Client(port, host, creds);
    const m = await c.getManifest(repo, 'v1');
    t.equal(m.status, 200, `${what}: pulls the manifest`);
    const push = await c.auth(`repository:${repo}:pull,push`);
    t.equal(push.status, 200, `${what}: /v2/auth answers`);
    const access = (push.json() as { token: string }).token.split('.')[1]!;
    const claims = JSON.parse(Buffer.from(access, 'base64url').toString('utf8')) as { access: { actions: string[] }[] };
    const asQuay = await new V2Client(quay.port, host, creds).auth(`repository:${repo}:pull,push`);
    const quayClaims = JSON.parse(Buffer.from((asQuay.json() as { token: string }).token.split('.')[1]!, 'base64url').toString('utf8')) as typeof claims;
    t.same(
      claims.access.map((a) => [...a.actions].sort()),
      quayClaims.access.map((a) => [...a.actions].sort()),
      `${what}: granted the actions Quay grants`,
    );
  }
  const stranger = new V2Client(goPort, host, `${ADMIN}+tsbot:${tsBot.token}`);
  const refused = await stranger.getManifest(`${ADMIN}/fromts`, 'v1');
  const refusedQ = await new V2Client(quay.port, host, `${ADMIN}+tsbot:${tsBot.token}`).getManifest(`${ADMIN}/fromts`, 'v1');
  t.equal(refused.status, refusedQ.status, `a robot without permission is refused alike (${refusedQ.status})`);
});

t.test('tags moved, deleted, restored and listed across the two (time machine, hidden tags, indexes, referrers)', async (t) => {
  await route({});
  const repo = `${ADMIN}/tags`;
  const a = await pushImageParts(atTs, repo, 'a');
  t.equal((await atTs.putManifest(repo, 'moving', a.manifest)).status, 201, 'TS side tags A as `moving`');
  const b = await pushImageParts(atQuay, repo, 'b');
  t.equal((await atQuay.putManifest(repo, 'moving', b.manifest)).status, 201, 'Quay moves `moving` to B');
  const onTs = await atTs.getManifest(repo, 'moving');
  t.equal(onTs.header('docker-content-digest'), b.digest, 'the TS side sees the move');
  t.ok(onTs.body.equals(b.manifest), '... and serves the exact bytes Quay stored');
  // A's only tag is now dead: Quay keeps it for the time machine (restore) but no longer serves it.
  const goneQ = await atQuay.getManifest(repo, a.digest);
  const goneT = await atTs.getManifest(repo, a.digest);
  t.same([goneQ.status, goneQ.json().errors[0].code], [404, 'MANIFEST_UNKNOWN'], 'Quay no longer serves A by digest once its tag moved');
  t.same([goneT.status, goneT.json()], [goneQ.status, goneQ.json()], '... and neither does the TS side, with the same body');

  const del = await atTs.call({ method: 'DELETE', path: `/v2/${repo}/manifests/moving` }, V2Client.rw(repo));
  t.equal(del.status, 202, 'the TS side deletes the tag');
  const deletedQ = await atQuay.getManifest(repo, 'moving');
  t.same([deletedQ.status, deletedQ.json().errors[0].code], [404, 'TAG_EXPIRED'], 'Quay no longer has it: expired, revive via time machine');
  const deletedT = await atTs.getManifest(repo, 'moving');
  t.same([deletedT.status, deletedT.json()], [deletedQ.status, deletedQ.json()], 'the TS side answers the same, body included');
  const session = await QuayWebSession.signIn(quay.url, ADMIN, PASSWORD);
  const history = await session.call('GET', `/api/v1/repository/${repo}/tag/?specificTag=moving&onlyActiveTags=false`);
  t.equal(history.status, 200);
  const rows = (history.body.tags as { name: string; manifest_digest: string; end_ts?: number }[]).filter((r) => r.name === 'moving');
  t.same(
    rows.map((r) => [r.manifest_digest, typeof r.end_ts]),
    [
      [b.digest, 'number'],
      [a.digest, 'number'],
    ],
    "Quay's tag history shows both lifetimes, ended",
  );
  const restore = await session.call('POST', `/api/v1/repository/${repo}/tag/moving/restore`, { manifest_digest: a.digest });
  t.equal(restore.status, 200, 'Quay restores `moving` to A from the time machine');
  t.equal((await atTs.getManifest(repo, 'moving')).header('docker-content-digest'), a.digest, 'the TS side serves the restored tag');

  const c = await pushImageParts(atTs, repo, 'c');
  t.equal((await atTs.putManifest(repo, c.digest, c.manifest)).status, 201, 'the TS side takes a manifest by digest (no tag)');
  t.equal((await atQuay.getManifest(repo, c.digest)).status, 200, 'Quay serves it: a hidden tag keeps it alive');
  const listQ = (await atQuay.call({ path: `/v2/${repo}/tags/list` }, `repository:${repo}:pull`)).json() as { tags: string[] };
  const listT = (await atTs.call({ path: `/v2/${repo}/tags/list` }, `repository:${repo}:pull`)).json() as { tags: string[] };
  t.same(listQ.tags, ['moving'], "Quay's tag list hides the hidden tag");
  t.same(listT.tags, listQ.tags, 'the TS side lists the same tags');

  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { mediaType: OCI_MANIFEST, digest: a.digest, size: a.manifest.length, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: OCI_MANIFEST, digest: b.digest, size: b.manifest.length, platform: { architecture: 'arm64', os: 'linux' } },
      ],
    }),
  );
  t.equal((await atQuay.putManifest(repo, 'multi', index, OCI_INDEX)).status, 201, 'Quay takes an OCI index');
  const idx = await atTs.getManifest(repo, 'multi');
  t.equal(idx.status, 200);
  t.equal(idx.header('content-type'), OCI_INDEX, 'the TS side serves it as an index');
  t.ok(idx.body.equals(index), '... byte for byte');
  const index2 = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: c.digest, size: c.manifest.length }] }));
  t.equal((await atTs.putManifest(repo, 'multi2', index2, OCI_INDEX)).status, 201, 'the TS side takes an OCI index');
  const idx2 = await atQuay.getManifest(repo, 'multi2');
  t.ok(idx2.status === 200 && idx2.body.equals(index2), 'Quay serves ours byte for byte');

  for (const [writer, reader, label] of [
    [atTs, atQuay, 'ours on Quay'],
    [atQuay, atTs, "Quay's on the TS side"],
  ] as const) {
    const art = await pushImageParts(writer, repo, `sig-${label}`, {
      artifactType: 'application/vnd.example.signature',
      subject: { mediaType: OCI_MANIFEST, digest: a.digest, size: a.manifest.length },
    });
    t.equal((await writer.putManifest(repo, art.digest, art.manifest)).status, 201, `${label}: the referrer is pushed`);
    const refs = await reader.call({ path: `/v2/${repo}/referrers/${a.digest}` }, `repository:${repo}:pull`);
    t.equal(refs.status, 200, `${label}: referrers answer`);
    const found = (refs.json() as { manifests: { digest: string; artifactType?: string }[] }).manifests.find((m) => m.digest === art.digest);
    t.equal(found?.artifactType, 'application/vnd.example.signature', `${label}: the referrer is listed with its artifactType`);
  }

  for (const [name, port] of [
    ['Quay', quay.port],
    ['the TS side', goPort],
  ] as const) {
    const anon = await request(port, { path: `/v2/${repo}/manifests/moving` });
    t.equal(anon.status, 401, `${name}: anonymous pull of a private repository is 401`);
    t.same(
      (anon.json() as { errors: { code: string }[] }).errors.map((e) => e.code),
      ['UNAUTHORIZED'],
      `${name}: UNAUTHORIZED`,
    );
    t.match(anon.header('www-authenticate'), `Bearer realm="http://${host}/v2/auth",service="${host}",scope="repository:${repo}:pull"`, `${name}: the same challenge`);
  }
});

t.test('V2_PULL flipped back and forth and the kill switch thrown under load: zero failed requests', async (t) => {
  await route({});
  const repo = `${ADMIN}/fromquay`;
  const man = layoutManifest(images, 'one');
  const layer = man.manifest.layers.at(-1)!.digest;
  const token = await viaSb.token(`repository:${repo}:pull`);
  let stop = false;
  const failures: string[] = [];
  let done = 0;
  const seen = new Set<string>();
  const worker = async (): Promise<void> => {
    while (!stop) {
      const m = await viaSb.call({ path: `/v2/${repo}/manifests/v1`, token, headers: { accept: OCI_MANIFEST } });
      if (m.status !== 200 || m.header('docker-content-digest') !== man.descriptor.digest) failures.push(`manifest ${m.status}`);
      const b = await viaSb.call({ path: `/v2/${repo}/blobs/${layer}`, token });
      if (b.status !== 200 || sha256(b.body) !== layer) failures.push(`blob ${b.status}`);
      done += 2;
    }
  };
  const mark = sb.accessLog().length;
  const workers = Array.from({ length: 6 }, worker);
  const steps: Record<string, unknown>[] = [
    { ROUTE_OWNER_CAP_V2_PULL: 'go' },
    {},
    { ROUTE_OWNER_DEFAULT: 'go' },
    { ROUTE_OWNER_DEFAULT: 'go', MIGRATION_FORCE_PYTHON: true },
    { ROUTE_OWNER_DEFAULT: 'go' },
    { ROUTE_OWNER_CAP_V2_PULL: 'go' },
    {},
  ];
  const versions: number[] = [];
  for (const step of steps) {
    versions.push(await route(step));
    await new Promise((r) => setTimeout(r, 800));
  }
  stop = true;
  await Promise.all(workers);
  /** Owners of the requests decided under the snapshot of step i. */
  const ownersAt = (i: number) =>
    new Set(
      sb
        .accessLog()
        .slice(mark)
        .filter((l) => l.snapshot_version === versions[i])
        .map((l) => l.owner),
    );
  t.same(ownersAt(3), new Set(['python']), 'with the kill switch on, everything went to Quay although the default said go');
  t.same(ownersAt(2), new Set(['go']), 'with the default go, everything went to the TS side');
  t.same(ownersAt(0), new Set(['go']), 'with V2_PULL on go, every pull went to the TS side');
  t.same(ownersAt(1), new Set(['python']), 'with it back on python, every pull went to Quay');
  for (const l of sb.accessLog().slice(mark)) seen.add(l.owner);
  t.ok(done > 100, `${done} requests under load`);
  t.same(failures, [], 'no request failed or got other bytes');
  t.same([...seen].sort(), ['go', 'python'], 'both implementations served part of the load');
});
