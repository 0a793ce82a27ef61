/**
 * The rows a /v2 call leaves besides content, written alike by real Quay and
 * by the TS side (`quay serve`) on one database (SQLite, then PostgreSQL,
 * each laid down by Quay's initdb.py): every operation runs through each
 * side into a namespace of its own (two organisations made the same way
 * through Quay's API), and the whole database is snapshotted before and
 * after it. The two differences must be the same once normalised; any other
 * difference fails. Operations: skopeo pushes (a user's, a robot's into a
 * repository with a repo_push notification, a second repository), skopeo
 * pulls by tag and by digest, a HEAD with a non-ASCII User-Agent, an OCI
 * index by digest and by tag, a pull with an app-specific token, a tag moved
 * onto a manifest, deletes by tag and by digest, an anonymous pull of a
 * public repository, refused pulls, pushes and deletes, docker-login style
 * /v2/auth calls and refused logins (ACTION_LOG_AUDIT_*_FAILURES all on).
 *
 * What is normalised, and why it must differ:
 *  - row ids and every id column (the two sides' rows share the tables):
 *    replaced by what they name (a user's, repository's, tag's, blob's name);
 *  - the side's organisation, user, robot, token title and image names and
 *    digests: each side has its own (a second push of the same blobs into one
 *    namespace counts 0 quota bytes; a robot's or token's `last_accessed` is
 *    not rewritten within a minute); its images are built to the same sizes,
 *    so quota totals compare exactly;
 *  - times (timestamps, epoch-ms tag lifetimes): taken at different moments;
 *  - uuids, bcrypt hashes, app-token names and secrets: random by definition;
 *  - `imagestorage.uncompressed_size`: Quay gunzips single-chunk uploads to
 *    count it, the TS side leaves it NULL (a deliberate difference,
 *    registryd/README.md).
 */
import t from 'tap';
import type { Test } from 'tap';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { request, requireBinaries, sleep, tempDir } from '../lib/proc.js';
import { QUAY_PYTHON, startQuayPython, startQuayServe } from '../lib/quay-python.js';
import { QuayWebSession } from '../lib/quay-api.js';
import { V2Client } from '../lib/v2-client.js';
import { skopeoIn, type Skopeo } from '../lib/oci.js';
import { OCI_MANIFEST, writeSizedLayout, type SizedImage } from '../lib/oci-layout.js';
import { diffSnapshots, pgReader, sqliteReader, type Row, type Snapshot, type TableDiff } from '../lib/db-diff.js';

t.setTimeout(1_500_000);
requireBinaries(['skopeo']);

// ------------------------------------------------------------------ one side

interface Side {
  readonly name: 'quay' | 'ts';
  readonly port: number;
  readonly org: string;
  readonly robot: string;
  readonly robotToken: string;
  /** devtable's app-specific token for this side (`$app` login). */
  readonly appToken: string;
  /** A user of this side's own (its login failures count in its row), and its password. */
  readonly user: string;
  readonly password: string;
  readonly layout: string;
  readonly images: readonly SizedImage[];
  readonly skopeo: Skopeo;
  /** Byte lengths of the side's image manifests as served. */
  readonly manifestSizes: Map<string, number>;
  /** Side-specific text → its placeholder, longest first (operations add theirs). */
  readonly aliases: [string, string][];
}

// ------------------------------------------------------------------ normalising a difference

const TIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?$/;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const MS_COLUMNS = new Set(['lifetime_start_ms', 'lifetime_end_ms']);

/** What an id column names, from the snapshot after the operation. */
function namer(after: Snapshot): (column: string, id: unknown) => unknown {
  const row = (table: string, id: unknown): Row | undefined => after.get(table)?.get(String(id));
  const user = (id: unknown): string => `user:${String(row('user', id)?.username ?? id)}`;
  const repo = (id: unknown): string => {
    const r = row('repository', id);
    return r ? `repo:${String(row('user', r.namespace_user_id)?.username)}/${String(r.name)}` : `repo:${String(id)}`;
  };
  const byColumn: Record<string, (id: unknown) => unknown> = {
    account_id: user,
    performer_id: user,
    user_id: user,
    namespace_user_id: user,
    namespace_id: user,
    repository_id: repo,
    manifest_id: (id) => `manifest:${String(row('manifest', id)?.digest ?? id)}`,
    child_manifest_id: (id) => `manifest:${String(row('manifest', id)?.digest ?? id)}`,
    blob_id: (id) => `blob:${String(row('imagestorage', id)?.content_checksum ?? id)}`,
    storage_id: (id) => `blob:${String(row('imagestorage', id)?.content_checksum ?? id)}`,
    tag_id: (id) => `tag:${String(row('tag', id)?.name ?? id)}`,
    label_id: (id) => `label:${String(row('label', id)?.key ?? id)}=${String(row('label', id)?.value ?? '')}`,
  };
  return (column, id) => (id === null ? null : (byColumn[column] ?? ((x) => x))(id));
}

function normaliseValue(side: Side, column: string, v: unknown, name: (c: string, id: unknown) => unknown): unknown {
  if (column === 'id') return '<id>';
  if (column.endsWith('_id') && typeof v === 'number') v = name(column, v);
  if (MS_COLUMNS.has(column) && typeof v === 'number') return '<ms>';
  if (typeof v !== 'string') return v;
  if (TIME.test(v)) return '<time>';
  // User ids inside JSON text (notification bodies' performer_data).
  let s = v.replace(/"entity_id": (\d+)/g, (_, id: string) => `"entity_id": "${String(name('user_id', Number(id)))}"`);
  for (const [from, to] of side.aliases) s = s.split(from).join(to);
  return s.replace(UUID, '<uuid>');
}

function normaliseRow(side: Side, table: string, r: Row, name: (c: string, id: unknown) => unknown): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(r)) {
    if (table === 'imagestorage' && k === 'uncompressed_size') out[k] = '<deliberate: README>';
    else if ((table === 'appspecificauthtoken' && (k === 'token_name' || k === 'token_secret')) || (table === 'user' && k === 'password_hash')) out[k] = '<random>';
    else out[k] = normaliseValue(side, k, v, name);
  }
  return out;
}

const sortRows = (rows: Row[]): Row[] =>
  rows
    .map((r) => JSON.stringify(r))
    .sort()
    .map((x) => JSON.parse(x) as Row);

function normaliseDiff(side: Side, diffs: readonly TableDiff[], after: Snapshot): Record<string, unknown> {
  const name = namer(after);
  const out: Record<string, unknown> = {};
  for (const d of diffs) {
    out[d.table] = {
      inserted: sortRows(d.inserted.map((r) => normaliseRow(side, d.table, r, name))),
      deleted: sortRows(d.deleted.map((r) => normaliseRow(side, d.table, r, name))),
      // An updated row is named by its columns that did not change (ids named as above).
      updated: sortRows(
        d.updated.map((u) => {
          const row = normaliseRow(side, d.table, after.get(d.table)?.get(u.key) ?? {}, name);
          for (const k of Object.keys(u.after)) delete row[k];
          return { row, before: normaliseRow(side, d.table, u.before, name), after: normaliseRow(side, d.table, u.after, name) };
        }),
      ),
    };
  }
  return out;
}

// ------------------------------------------------------------------ the scenario, on one database

/** Real Quay and the TS side on one database of that kind, two organisations, and every operation compared. */
async function scenario(t: Test, database: 'sqlite' | 'postgres'): Promise<void> {
  const started = Date.now();
  const dir = tempDir(t, `swb-side-effects-${database}-`);
  const quay = await startQuayPython(t, { start: false, database });
  // Audit refusals (off by default in Quay) so that their rows are compared too; the AWS ranges file
  // Quay ships is where both sides resolve `resolved_ip` from (AWS_IP_RANGES_FILE: a Switchboard key Quay ignores).
  appendFileSync(
    quay.configFile,
    [
      '',
      'ACTION_LOG_AUDIT_PULL_FAILURES: true',
      'ACTION_LOG_AUDIT_PUSH_FAILURES: true',
      'ACTION_LOG_AUDIT_DELETE_FAILURES: true',
      'ACTION_LOG_AUDIT_LOGIN_FAILURES: true',
      `AWS_IP_RANGES_FILE: ${join(QUAY_PYTHON, 'src', 'util', 'ipresolver', 'aws-ip-ranges.json')}`,
      '',
    ].join('\n'),
  );
  quay.start();
  const host = `127.0.0.1:${quay.port}`;

  const { port: goPort } = await startQuayServe(t, { configFile: quay.configFile, dataDir: join(dir, 'ts-data'), what: `quay serve on the same ${database} database` });

  const db = database === 'sqlite' ? sqliteReader(quay.database) : await pgReader(quay.database);
  t.teardown(() => db.close());
  const session = await QuayWebSession.signIn(quay.url, 'devtable', 'password');
  const api = async (method: string, path: string, body?: unknown): Promise<any> => {
    const r = await session.call(method, path, body);
    if (r.status >= 300) throw new Error(`Quay ${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };

  /** An organisation with a robot, made through Quay's API, and images of the same sizes as the other side's. */
  async function makeSide(name: 'quay' | 'ts', port: number): Promise<Side> {
    const org = `effects-${name}`;
    await api('POST', '/api/v1/organization/', { name: org, email: `${org}@example.com` });
    const bot = await api('PUT', `/api/v1/organization/${org}/robots/pusher`, { description: 'pushes in the side-effects test' });
    const app = await api('POST', '/api/v1/user/apptoken', { title: `token-${org}` });
    const user = await api('POST', '/api/v1/superuser/users/', { username: `${org}-user`, email: `${org}-user@example.com` });
    const layout = join(dir, `layout-${name}`);
    const images = writeSizedLayout(layout, [
      { tag: 'one', layers: ['a', 'b'] },
      { tag: 'two', layers: ['a', 'c'] },
    ]);
    const aliases: [string, string][] = [
      [`${org}+pusher`, '<robot>'],
      [`token-${org}`, '<token-title>'],
      [org, '<org>'],
    ];
    images.forEach((img, i) => {
      aliases.push([img.digest, `<image${i + 1}>`], [img.digest.slice(7), `<image${i + 1}-hex>`], [img.label, `<image${i + 1}-label>`]);
      img.blobs.forEach((b, j) => aliases.push([b, `<image${i + 1}-blob${j}>`]));
    });
    return {
      name,
      port,
      org,
      robot: `${org}+pusher`,
      robotToken: String(bot.token),
      appToken: String(app.token.token_code),
      user: String(user.username),
      password: String(user.password),
      layout,
      images,
      skopeo: await skopeoIn(join(dir, `skopeo-${name}`)),
      aliases,
      manifestSizes: new Map(),
    };
  }
  const sides = [await makeSide('quay', quay.port), await makeSide('ts', goPort)] as const;

  /** Runs `op` on each side in turn; the normalised differences must be equal. Returns each side's raw difference. */
  async function compare(tt: Test, what: string, op: (s: Side) => Promise<unknown>): Promise<TableDiff[][]> {
    const raw: TableDiff[][] = [];
    const norm: Record<string, unknown>[] = [];
    for (const s of sides) {
      const before = await db.snapshot();
      const result = await op(s);
      await sleep(200); // nothing of Quay's is asynchronous here; a margin for its last commit
      const after = await db.snapshot();
      const d = diffSnapshots(before, after);
      raw.push(d);
      norm.push({ result: normaliseValue(s, 'result', JSON.stringify(result ?? null), () => null), rows: normaliseDiff(s, d, after) });
    }
    tt.same(norm[1], norm[0], `${what}: the TS side writes what Quay writes`);
    tt.comment(
      `${what}: Quay wrote ${raw[0]!.map((d) => `${d.table} ${[d.inserted.length && `+${d.inserted.length}`, d.updated.length && `~${d.updated.length}`, d.deleted.length && `-${d.deleted.length}`].filter(Boolean).join('')}`).join(', ') || 'nothing'}`,
    );
    return raw;
  }

  const skopeoPush = (s: Side, image: SizedImage, ref: string, creds: string) =>
    s.skopeo
      .run(['copy', '--retry-times', '0', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${s.layout}:${image.tag}`, `docker://127.0.0.1:${s.port}/${ref}`])
      .then((r) => (r.code === 0 ? 'pushed' : r.stderr));
  const skopeoPull = (s: Side, ref: string) =>
    s.skopeo
      .run([
        'copy',
        '--retry-times',
        '0',
        '--src-tls-verify=false',
        '--src-creds',
        'devtable:password',
        `docker://127.0.0.1:${s.port}/${ref}`,
        `oci:${join(dir, `pulled-${s.name}`)}:x`,
      ])
      .then((r) => (r.code === 0 ? 'pulled' : r.stderr));
  const devtable = (s: Side) => new V2Client(s.port, host, 'devtable:password');
  const anonymous = (s: Side) => new V2Client(s.port, host, null);
  const ACCEPT = { accept: `${OCI_MANIFEST}, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.v1+prettyjws` };
  const errors = (status: number, body: Buffer): unknown => [status, body.length > 0 ? JSON.parse(body.toString()).errors?.map((e: { code: string }) => e.code) : null];

  t.test('a push by a user into a new repository of a new namespace', async (tt) => {
    const [q] = await compare(tt, 'skopeo push', (s) => skopeoPush(s, s.images[0]!, `${s.org}/app:one`, 'devtable:password'));
    const tables = q!.map((d) => d.table);
    for (const table of ['logentry3', 'quotanamespacesize', 'quotarepositorysize', 'manifestsecuritystatus']) tt.ok(tables.includes(table), `Quay wrote ${table}`);
  });

  t.test('pulls by tag and by digest, and a HEAD', async (tt) => {
    const [q] = await compare(tt, 'skopeo pull by tag', (s) => skopeoPull(s, `${s.org}/app:one`));
    tt.ok(
      q!.some((d) => d.table === 'logentry3'),
      'a pull_repo row',
    );
    await compare(tt, 'skopeo pull by digest', (s) => skopeoPull(s, `${s.org}/app@${s.images[0]!.digest}`));
    await compare(tt, 'HEAD by digest with a non-ASCII User-Agent', async (s) => {
      const r = await devtable(s).call(
        { method: 'HEAD', path: `/v2/${s.org}/app/manifests/${s.images[0]!.digest}`, headers: { ...ACCEPT, 'user-agent': 'tést/1.0 "quoted"' } },
        `repository:${s.org}/app:pull`,
      );
      return r.status;
    });
  });

  t.test('a push by a robot into a repository with a repo_push notification', async (tt) => {
    for (const s of sides) {
      await api('PUT', `/api/v1/repository/${s.org}/app/permissions/user/${s.robot}`, { role: 'write' });
      await api('POST', `/api/v1/repository/${s.org}/app/notification/`, {
        event: 'repo_push',
        method: 'webhook',
        config: { url: 'https://hooks.example.com/push' },
        eventConfig: {},
        title: 'hook',
      });
    }
    const [q] = await compare(tt, 'skopeo push as the robot', (s) => skopeoPush(s, s.images[1]!, `${s.org}/app:two`, `${s.robot}:${s.robotToken}`));
    tt.ok(
      q!.some((d) => d.table === 'queueitem'),
      'Quay queued the notification',
    );
  });

  t.test('the same image into a second repository of the namespace', async (tt) => {
    await compare(tt, 'skopeo push', (s) => skopeoPush(s, s.images[0]!, `${s.org}/other:one`, 'devtable:password'));
  });

  t.test('an OCI index pushed by digest, then tagged', async (tt) => {
    const index = (s: Side): Buffer =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.index.v1+json',
          manifests: s.images.map((img, i) => ({
            mediaType: OCI_MANIFEST,
            digest: img.digest,
            size: sizeOf(s, img),
            platform: { architecture: ['amd64', 'arm64'][i], os: 'linux' },
          })),
        }),
      );
    const sizeOf = (s: Side, img: SizedImage): number => s.manifestSizes.get(img.digest)!;
    for (const s of sides) {
      for (const img of s.images) s.manifestSizes.set(img.digest, (await devtable(s).getManifest(`${s.org}/app`, img.digest)).body.length);
    }
    const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
    for (const s of sides) s.aliases.unshift([digestOf(index(s)), '<index>']);
    await compare(tt, 'PUT the index by digest (a temporary tag, no push_repo)', async (s) => {
      const b = index(s);
      return (await devtable(s).putManifest(`${s.org}/app`, digestOf(b), b, 'application/vnd.oci.image.index.v1+json')).status;
    });
    await compare(
      tt,
      'PUT the index as `multi`',
      async (s) => (await devtable(s).putManifest(`${s.org}/app`, 'multi', index(s), 'application/vnd.oci.image.index.v1+json')).status,
    );
  });

  t.test('a pull with an app-specific token', async (tt) => {
    await compare(tt, 'GET by tag as $app', async (s) => {
      const r = await new V2Client(s.port, host, `$app:${s.appToken}`).getManifest(`${s.org}/app`, 'two');
      return r.status;
    });
  });

  t.test('a tag moved onto a manifest, deletes by tag and by digest', async (tt) => {
    await compare(tt, 'PUT the manifest of `one` as `also`', async (s) => {
      const c = devtable(s);
      const m = await c.getManifest(`${s.org}/app`, 'one');
      return (await c.putManifest(`${s.org}/app`, 'also', m.body, m.header('content-type'))).status;
    });
    await compare(tt, 'DELETE by tag', async (s) => (await devtable(s).call({ method: 'DELETE', path: `/v2/${s.org}/app/manifests/two` }, V2Client.rw(`${s.org}/app`))).status);
    const [q] = await compare(
      tt,
      'DELETE by digest (two tags)',
      async (s) => (await devtable(s).call({ method: 'DELETE', path: `/v2/${s.org}/app/manifests/${s.images[0]!.digest}` }, V2Client.rw(`${s.org}/app`))).status,
    );
    tt.equal(q!.find((d) => d.table === 'logentry3')?.inserted.length, 2, 'a delete_tag row per tag');
  });

  t.test('an anonymous pull of a public repository', async (tt) => {
    await compare(tt, 'GET public/publicrepo:latest', async (s) => (await anonymous(s).call({ path: '/v2/public/publicrepo/manifests/latest', headers: ACCEPT })).status);
  });

  t.test('refusals are audited alike', async (tt) => {
    await compare(tt, 'anonymous pull of a private repository', async (s) => {
      const r = await anonymous(s).call({ path: `/v2/${s.org}/other/manifests/one`, headers: ACCEPT });
      return errors(r.status, r.body);
    });
    await compare(tt, 'pull from a namespace that does not exist', async (s) => {
      const r = await anonymous(s).call({ path: `/v2/${s.org}-none/x/manifests/${s.images[0]!.digest}`, headers: ACCEPT });
      return errors(r.status, r.body);
    });
    await compare(tt, 'the robot pushes where it may not', async (s) => {
      const c = new V2Client(s.port, host, `${s.robot}:${s.robotToken}`);
      const r = await c.putManifest(`${s.org}/other`, 'nope', Buffer.from('{}'));
      return errors(r.status, r.body);
    });
    await compare(tt, 'the robot starts an upload where it may not', async (s) => {
      const c = new V2Client(s.port, host, `${s.robot}:${s.robotToken}`);
      const r = await c.call({ method: 'POST', path: `/v2/${s.org}/other/blobs/uploads/` }, V2Client.rw(`${s.org}/other`));
      return errors(r.status, r.body);
    });
    await compare(tt, 'an anonymous delete', async (s) => {
      const r = await anonymous(s).call({ method: 'DELETE', path: `/v2/${s.org}/other/manifests/one` });
      return errors(r.status, r.body);
    });
  });

  t.test('docker login (/v2/auth without a scope)', async (tt) => {
    const login = (s: Side, creds: string) =>
      request(s.port, {
        path: `/v2/auth?service=${encodeURIComponent(host)}`,
        headers: { authorization: `Basic ${Buffer.from(creds).toString('base64')}`, 'user-agent': 'docker/25.0 go/go1.21' },
      }).then((r) => r.status);
    await compare(tt, 'a user', (s) => login(s, 'devtable:password'));
    await compare(tt, 'a robot', (s) => login(s, `${s.robot}:${s.robotToken}`));
    await compare(tt, 'a wrong password (audited: ACTION_LOG_AUDIT_LOGIN_FAILURES)', (s) => login(s, `${s.user}:not-${s.password}`));
    await compare(tt, 'an unknown user', (s) => login(s, `${s.org}-nobody:x`));
    await compare(tt, 'a robot with a wrong token', (s) => login(s, `${s.robot}:not-the-token`));
    await compare(tt, 'an unknown robot', (s) => login(s, `${s.org}+nobody:x`));
    await compare(tt, 'a wrong app-specific token', (s) => login(s, `$app:${'A'.repeat(60)}${'b'.repeat(60)}`));
    await compare(tt, 'with an empty scope (not a login)', (s) =>
      request(s.port, {
        path: `/v2/auth?service=${encodeURIComponent(host)}&scope=`,
        headers: { authorization: `Basic ${Buffer.from('devtable:password').toString('base64')}` },
      }).then((r) => r.status),
    );
  });

  t.test('duration', async (tt) => {
    tt.pass(`${Math.round((Date.now() - started) / 1000)} s with both servers on ${database}`);
  });
}

t.test('on SQLite', (t) => scenario(t, 'sqlite'));
t.test('on PostgreSQL', (t) => scenario(t, 'postgres'));
