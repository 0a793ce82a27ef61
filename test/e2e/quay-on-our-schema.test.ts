/**
 * The other direction of one data tier (issue 15): real Python Quay on a
 * PostgreSQL database whose schema the TS side laid down (an empty database
 * opened by `quay user create` in standalone mode: every table of Quay's
 * alembic head, its lookup rows, alembic_version = head). Quay boots on it
 * (registers its service key), the first user — made by our CLI — signs in,
 * and images cross both ways through one storage directory: pushed through
 * us and pulled through Quay, pushed through Quay and pulled through us.
 */
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { ROOT, requireBinaries, runOk, tempDir } from '../lib/proc.js';
import { quayPgDatabase, startQuayPython, startQuayServe } from '../lib/quay-python.js';
import { QuayWebSession } from '../lib/quay-api.js';
import { buildImage, layoutManifest, skopeoIn } from '../lib/oci.js';
import { QUAY_ALEMBIC_HEAD } from '../../dal/sqlite/schema.js';

t.setTimeout(600_000);
requireBinaries(['skopeo', 'umoci']);

const dir = tempDir(t, 'swb-quay-on-ours-');
const db = await quayPgDatabase(t);
const PASSWORD = 'first-user-password';

// Our side lays the schema down: the first command that opens the empty database.
const ours = join(dir, 'ours.yaml');
writeFileSync(ours, `SERVER_HOSTNAME: 127.0.0.1:1\nDB_URI: ${db.url}\nDATABASE_SECRET_KEY: anothercrazykey!\n`);
await runOk(
  process.execPath,
  [
    'bin/quay.js',
    'user',
    'create',
    'owner',
    '--email',
    'owner@example.com',
    '--password-env',
    'PW',
    '--mode',
    'standalone',
    '--config',
    ours,
    '--data-dir',
    join(dir, 'ours-data'),
  ],
  { cwd: ROOT, env: { ...process.env, PW: PASSWORD }, timeoutMs: 120_000 },
);
const client = new pg.Client({ connectionString: db.url });
await client.connect();
const version = (await client.query<{ version_num: string }>('SELECT version_num FROM alembic_version')).rows;
const tables = Number((await client.query<{ n: string }>("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'")).rows[0]!.n);
await client.end();

const quay = await startQuayPython(t, { schema: 'none', existingDatabase: db.url });
const CREDS = `owner:${PASSWORD}`;
const host = `127.0.0.1:${quay.port}`;
const { port: goPort } = await startQuayServe(t, { configFile: quay.configFile, dataDir: join(dir, 'ts-data'), what: 'quay serve' });

const images = join(dir, 'images');
mkdirSync(join(dir, 'work'), { recursive: true });
await buildImage(images, 'a', [{ 'a.txt': randomUUID() }], join(dir, 'work'));
await buildImage(images, 'b', [{ 'b.txt': randomUUID() }], join(dir, 'work'));
const skopeo = await skopeoIn(join(dir, 'skopeo'));
const copy = (from: string, to: string) =>
  skopeo.run(['copy', '--retry-times', '0', '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', CREDS, '--dest-creds', CREDS, from, to]);

t.test('the database our side laid down is at the head, with every table', async (t) => {
  t.same(version, [{ version_num: QUAY_ALEMBIC_HEAD }]);
  t.equal(tables, 105, "Quay's 105 tables (alembic_version included)");
});

t.test('real Quay boots on it and our first user signs in', async (t) => {
  const session = await QuayWebSession.signIn(quay.url, 'owner', PASSWORD);
  const me = await session.call('GET', '/api/v1/user/');
  t.same([me.status, me.body.username], [200, 'owner']);
  const repo = await session.call('POST', '/api/v1/repository', { namespace: 'owner', repository: 'made-in-quay', visibility: 'private', description: 'x', repo_kind: 'image' });
  t.equal(repo.status, 201, "Quay's API writes to it (a repository)");
});

t.test('pushed through us, pulled through Quay; pushed through Quay, pulled through us', async (t) => {
  for (const [name, pushPort, pullPort, repo] of [
    ['us → Quay', goPort, quay.port, 'owner/via-ts'],
    ['Quay → us', quay.port, goPort, 'owner/made-in-quay'],
  ] as const) {
    const tag = name === 'us → Quay' ? 'a' : 'b';
    const push = await copy(`oci:${images}:${tag}`, `docker://127.0.0.1:${pushPort}/${repo}:v1`);
    t.equal(push.code, 0, `${name}: push`, { stderr: push.stderr, quay: quay.log().split('\n').slice(-20).join('\n') });
    const out = join(dir, `out-${tag}`);
    const pull = await copy(`docker://127.0.0.1:${pullPort}/${repo}:v1`, `oci:${out}:x`);
    t.equal(pull.code, 0, `${name}: pull`, { stderr: pull.stderr });
    t.equal(layoutManifest(out, 'x').descriptor.digest, layoutManifest(images, tag).descriptor.digest, `${name}: same manifest digest`);
  }
  t.comment(`Quay's SERVER_HOSTNAME ${host} is the realm both answer with: the tokens skopeo used on our side came from Quay`);
});
