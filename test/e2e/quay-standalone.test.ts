/**
 * `quay serve --mode standalone`: Quay's tables in a real PostgreSQL database
 * (laid down by us on an empty database, Alembic head recorded), database
 * users made with `quay user create` against the same DB_URI, and skopeo
 * pushing and pulling with credentials. The rows land where Python Quay
 * reads them: tag and manifest rows, the repository, the approved servicekey.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ROOT, freePort, requireBinaries, startChild, tempDir, waitForLog } from '../lib/proc.js';
import { buildSwitchboard } from '../lib/switchboard.js';
import { buildImage, layoutManifest, skopeoIn } from '../lib/oci.js';
import { freshPgDatabase } from '../../dal/test/lib/postgres.js';

t.setTimeout(300_000);
requireBinaries(['skopeo', 'umoci']);
await buildSwitchboard();

const dir = tempDir(t, 'quay-standalone-');
const db = await freshPgDatabase(t);
const port = await freePort();
const host = `127.0.0.1:${port}`;
const dataDir = join(dir, 'data');
const config = join(dir, 'config.yaml');
writeFileSync(
  config,
  `SERVER_HOSTNAME: ${host}
PREFERRED_URL_SCHEME: http
AUTHENTICATION_TYPE: Database
DATABASE_SECRET_KEY: ${randomUUID()}
DB_URI: ${db.url.replace(/^postgres:/, 'postgresql:')}
DISTRIBUTED_STORAGE_CONFIG:
  default: [LocalStorage, {storage_path: ${join(dir, 'storage')}}]
DISTRIBUTED_STORAGE_PREFERENCE: [default]
`,
);
const C = ['--mode', 'standalone', '--config', config, '--data-dir', dataDir];
const quay = (args: string[], input = ''): { code: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/quay.js'), ...args], { input, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const v = quay(['config', 'validate', ...C]);
if (v.code !== 0) throw new Error(`a standalone config with a PostgreSQL DB_URI must validate: ${v.stdout}${v.stderr}`);
const u = quay(['user', 'create', 'alice', '--email', 'alice@example.com', '--password-stdin', ...C], 'alice-password\n');
if (u.code !== 0) throw new Error(`quay user create against PostgreSQL: ${u.stderr}`);

const srv = startChild(t, process.execPath, [join(ROOT, 'bin/quay.js'), 'serve', ...C, '--listen', host, '--admin-listen', `127.0.0.1:${await freePort()}`]);
await waitForLog(srv, /"msg":"quay serving"/, 'quay serve');

const images = join(dir, 'images');
mkdirSync(join(dir, 'work'), { recursive: true });
await buildImage(images, 'demo', [{ 'etc/motd': 'standalone on PostgreSQL\n' }], join(dir, 'work'));
const src = layoutManifest(images, 'demo');
const skopeo = await skopeoIn(join(dir, 'skopeo'));

t.test('skopeo pushes and pulls with credentials; the rows are in PostgreSQL', async (t) => {
  t.match(srv.stderr(), /"msg":"quay serving".*"tls":"off"/, 'standalone defaults to plain HTTP');
  const serving = JSON.parse(
    srv
      .stderr()
      .split('\n')
      .find((l) => l.includes('"msg":"quay serving"'))!,
  );
  t.match(serving.database, /^postgresql:\/\//, 'the start log names the PostgreSQL database it serves, not a SQLite file');
  t.notMatch(serving.database, /quay\.db$/);
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
  t.equal(`sha256:${createHash('sha256').update(raw.stdout).digest('hex')}`, src.descriptor.digest, 'the pushed manifest comes back');
  t.not((await skopeo.run(['inspect', '--raw', '--tls-verify=false', '--no-creds', `docker://${host}/alice/app:v1`])).code, 0, 'anonymous refused');

  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const tags = await c.query(`SELECT t.name, m.digest FROM tag t JOIN manifest m ON m.id = t.manifest_id JOIN repository r ON r.id = t.repository_id
      JOIN "user" n ON n.id = r.namespace_user_id WHERE n.username = 'alice' AND r.name = 'app' AND t.hidden = false AND t.lifetime_end_ms IS NULL`);
    t.same(tags.rows, [{ name: 'v1', digest: src.descriptor.digest }], "tag row in Quay's tag table");
    const key = await c.query(`SELECT k.service, a.approval_type FROM servicekey k JOIN servicekeyapproval a ON a.id = k.approval_id`);
    t.same(key.rows, [{ service: 'quay', approval_type: 'Automatic' }], 'the signing key is an approved servicekey row');
    const loc = await c.query(`SELECT DISTINCT l.name FROM imagestorageplacement p JOIN imagestoragelocation l ON l.id = p.location_id`);
    t.same(loc.rows, [{ name: 'default' }], 'blobs placed in the configured location');
    const head = await c.query('SELECT version_num FROM alembic_version');
    t.equal(head.rows.length, 1, 'one Alembic revision recorded');
  } finally {
    await c.end();
  }
});
