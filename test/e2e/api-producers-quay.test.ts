/**
 * The API's first writes, the ones that put queue items (api/resources/deletes.ts,
 * api/resources/log-exports.ts), against real Quay on ONE database (SQLite; PostgreSQL
 * with API_CONTRACT_DB=postgres):
 *
 *  - contract: the same request to Quay and to the go side gives the same status
 *    and body (refusals, CSRF, validation, date spans, missing repositories) and
 *    leaves the same rows (audit rows, queue items, marks), sequentially on
 *    equivalent fixtures made by Quay's own model code (`…py` for Python, `…go`
 *    for ours);
 *  - mixed mode: an item produced by our API is consumed by Quay's own
 *    RepositoryGCWorker, NamespaceGCWorker and ExportActionLogsWorker (one item
 *    each, in Quay's environment), with the result Quay's endpoint gives: the
 *    repository and the namespace gone, the exported file in storage and the
 *    callback POSTed to a receiver here.
 */
import t from 'tap';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { apiPair, diffJson, insertOAuthToken, pairSql, type Answer, type Asserts, type IdentityName, type Side } from '../lib/api-contract.js';
import { request, tempDir } from '../lib/proc.js';
import { FlaskSessionCodec, taggedDate } from '../../api/auth/flask-session.js';
import { startQuayPython, startQuayServe } from '../lib/quay-python.js';

t.setTimeout(900_000);

// A local receiver for the export callback; Quay refuses loopback callbacks unless SSRF_ALLOWED_HOSTS lets them through.
const received: { path: string; body: string }[] = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    received.push({ path: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(200).end('ok');
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
t.teardown(() => receiver.close());
const hook = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;

// API_CONTRACT_DB=postgres (api-producers-quay-postgres.test.ts): the same on PostgreSQL.
const quay = await startQuayPython(t, { start: false, database: process.env.API_CONTRACT_DB === 'postgres' ? 'postgres' : 'sqlite' });
appendFileSync(quay.configFile, '\nSSRF_ALLOWED_HOSTS:\n- 127.0.0.1\n');
quay.start();
const serve = await startQuayServe(t, { configFile: quay.configFile, dataDir: tempDir(t, 'api-producers-ts-'), what: "quay serve on Quay's config" });
const pair = await apiPair(quay, { python: quay.port, go: serve.port });
const sql = <R>(text: string, params: unknown[] = []): Promise<R[]> => pairSql<R>(quay.database, text, params);

/** Fixtures made by Quay's own model code, one per side. */
await quay.python(`
import json
from app import app, notification_queue, dockerfile_build_queue
from data import model
from data.database import Star
dev = model.user.get_user("devtable")
for side in ("py", "go"):
    repo = model.repository.create_repository("devtable", "prod" + side, dev)
    Star.create(user=dev, repository=repo)
    dockerfile_build_queue.put(["devtable", "prod" + side], json.dumps({"build": side}))
    org = model.organization.create_organization("org" + side, "org%s@example.com" % side, dev)
    model.repository.create_repository("org" + side, "app", dev)
    notification_queue.put(["org" + side, "app", "repo_push"], json.dumps({"n": side}))
    # Linked data the mark deletes at once (no grace period): a team with a member, a robot, a quota with a limit.
    team = model.team.create_team("builders", org, "member")
    model.team.add_user_to_team(model.user.get_user("reader"), team)
    robot, _ = model.user.create_robot("bot", org)
    model.team.add_user_to_team(robot, team)
    quota = model.namespacequota.create_namespace_quota(org, 10 * 1024 * 1024)
    model.namespacequota.create_namespace_quota_limit(quota, "warning", 80)
    gone = model.user.create_user("gone" + side, "password", "gone%s@example.com" % side, auto_verify=True)
    model.user.create_robot("helper", gone)
    model.team.add_user_to_team(gone, model.team.get_organization_team("buynlarge", "readers"))
    model.namespacequota.create_namespace_quota(gone, 1024 * 1024)
`);
const goneToken: Record<Side, string> = {
  python: await insertOAuthToken(quay.database, 'gonepy', 'user:admin'),
  go: await insertOAuthToken(quay.database, 'gonego', 'user:admin'),
};

/** A session's cookie with a CSRF token in it, from Python's /csrf_token (both sides read the same Flask cookie). */
async function csrfSession(cookie?: string): Promise<Record<string, string>> {
  const r = await request(quay.port, { path: '/csrf_token', headers: { host: pair.host, 'user-agent': 'node', ...(cookie ? { cookie: `_csrf_token=${cookie}` } : {}) } });
  const set = ([] as string[]).concat(r.headers['set-cookie'] ?? []).join('\n');
  const next = /_csrf_token=([^;]+)/.exec(set)?.[1] ?? cookie;
  return { cookie: `_csrf_token=${next}`, 'x-csrf-token': (r.json() as { csrf_token: string }).csrf_token };
}
const devtable = await csrfSession(pair.identities.devtable.secret);
// devtable's session with a login an hour old (FRESH_LOGIN_TIMEOUT is 10 minutes), CSRF token kept.
const codec = new FlaskSessionCodec(/^SECRET_KEY:\s*(\S+)\s*$/m.exec(readFileSync(quay.configFile, 'utf8'))![1]!);
const devSession = codec.decode(devtable.cookie!.slice('_csrf_token='.length))!;
const stale = { ...devtable, cookie: `_csrf_token=${codec.encode({ ...devSession, login_time: taggedDate(Date.now() - 3600_000) })}` };
const reader = await csrfSession(pair.identities.reader.secret);
const anonymous = await csrfSession();

interface LogRow {
  id: number;
  kind: string;
  account_id: number;
  performer_id: number | null;
  repository_id: number | null;
  ip: string | null;
  metadata_json: string;
}
const lastLogId = async (): Promise<number> => Number((await sql<{ n: number }>('SELECT COALESCE(MAX(id), 0) AS n FROM logentry3'))[0]!.n);
const logsSince = (id: number): Promise<LogRow[]> =>
  sql<LogRow>(
    'SELECT l.id, k.name AS kind, l.account_id, l.performer_id, l.repository_id, l.ip, l.metadata_json FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id WHERE l.id > ? ORDER BY l.id',
    [id],
  );
const queue = (pattern: string): Promise<{ id: number; queue_name: string; body: string; retries_remaining: number }[]> =>
  sql('SELECT id, queue_name, body, retries_remaining FROM queueitem WHERE queue_name LIKE ? ORDER BY id', [pattern]);

/** An audit row as both sides must write it: timestamps checked and stood in for, export ids stood in for, `py`/`go` names folded. */
function auditShape(row: LogRow, fold: (s: string) => string): unknown {
  const meta = JSON.parse(row.metadata_json) as Record<string, unknown>;
  if (typeof meta['date/time'] === 'number') meta['date/time'] = Math.abs((meta['date/time'] as number) - Date.now() / 1000) < 600 ? '<now>' : meta['date/time'];
  if (typeof meta.export_id === 'string') meta.export_id = '<uuid>';
  return {
    kind: row.kind,
    account_id: row.account_id,
    performer_id: row.performer_id,
    repository_id: row.repository_id,
    ip: row.ip,
    metadata: JSON.parse(fold(JSON.stringify(meta))),
  };
}

interface Case {
  readonly name: string;
  readonly method: 'DELETE' | 'POST';
  readonly path: string;
  readonly identity?: IdentityName;
  readonly headers?: Record<string, string>;
  readonly json?: string;
  readonly contentType?: string;
  /** Quay's jsonschema detail reprints its schema; ours does not (api/resources/log-exports.ts): compare its first line. */
  readonly schemaDetail?: boolean;
}

/** One request to both sides; status, content type and body compared, and the audit rows each wrote. */
async function both(t: Asserts, c: Case): Promise<Record<Side, Answer>> {
  const opts = (side: Side) => ({
    method: c.method,
    ...(c.json !== undefined ? { body: c.json } : {}),
    headers: { ...(c.json !== undefined ? { 'content-type': c.contentType ?? 'application/json' } : {}), ...c.headers },
  });
  const out = {} as Record<Side, Answer>;
  const logs = {} as Record<Side, LogRow[]>;
  for (const side of ['python', 'go'] as const) {
    const mark = await lastLogId();
    out[side] = await pair.call(side, c.path, c.identity ?? 'anonymous', opts(side));
    logs[side] = await logsSince(mark);
  }
  const strip = (b: unknown): unknown => {
    if (!c.schemaDetail || b === null || typeof b !== 'object') return b;
    const o = { ...(b as Record<string, string>) };
    for (const k of ['detail', 'error_message']) if (typeof o[k] === 'string') o[k] = o[k].split('\n')[0]!;
    return o;
  };
  const diffs = [
    ...(out.python.status !== out.go.status ? [`status: python ${out.python.status} ≠ go ${out.go.status}`] : []),
    ...(out.python.contentType !== out.go.contentType ? [`content-type: python ${out.python.contentType} ≠ go ${out.go.contentType}`] : []),
    ...diffJson(strip(normalizeIds(out.python.body)), strip(normalizeIds(out.go.body))),
  ];
  t.same(diffs, [], `${c.name}: ${out.python.status} on both, same body`);
  t.same(
    logs.go.map((r) => auditShape(r, (s) => s)),
    logs.python.map((r) => auditShape(r, (s) => s)),
    `${c.name}: the same audit rows (${logs.python.map((r) => r.kind).join(', ') || 'none'})`,
  );
  return out;
}
const normalizeIds = (b: unknown): unknown =>
  b !== null && typeof b === 'object' && typeof (b as { export_id?: unknown }).export_id === 'string' ? { ...(b as object), export_id: '<uuid>' } : b;

t.test('refusals and errors answer as Quay does, and log what Quay logs', async (t) => {
  const repo = '/api/v1/repository/devtable/simple';
  const exp = `${repo}/exportlogs`;
  const cases: Case[] = [
    { name: 'repository delete without a session or token (CSRF)', method: 'DELETE', path: repo },
    { name: 'repository delete, session without the CSRF token', method: 'DELETE', path: repo, identity: 'devtable' },
    { name: 'repository delete, wrong CSRF token', method: 'DELETE', path: repo, identity: 'devtable', headers: { 'x-csrf-token': 'wrong' } },
    { name: 'repository delete, anonymous with a CSRF token', method: 'DELETE', path: repo, headers: anonymous },
    { name: 'repository delete by a reader', method: 'DELETE', path: repo, headers: reader },
    { name: "repository delete of another's repository (token)", method: 'DELETE', path: '/api/v1/repository/public/publicrepo', identity: 'devtable-token' },
    { name: 'repository delete with repo:read', method: 'DELETE', path: repo, identity: 'reader-repo-read' },
    { name: 'repository delete in a missing namespace', method: 'DELETE', path: '/api/v1/repository/nope/nope', identity: 'devtable-token' },
    { name: 'a missing repository in an own namespace (Quay: 204 and delete_repo)', method: 'DELETE', path: '/api/v1/repository/devtable/nonexistent', identity: 'devtable-token' },
    { name: 'organization delete with repo:admin', method: 'DELETE', path: '/api/v1/organization/buynlarge', identity: 'devtable-token' },
    { name: 'organization delete of an unknown name', method: 'DELETE', path: '/api/v1/organization/nope', headers: devtable },
    { name: 'organization delete of a user namespace', method: 'DELETE', path: '/api/v1/organization/devtable', headers: devtable },
    { name: 'organization delete by a member', method: 'DELETE', path: '/api/v1/organization/buynlarge', headers: reader },
    { name: 'organization delete, anonymous', method: 'DELETE', path: '/api/v1/organization/buynlarge', headers: anonymous },
    { name: 'organization delete, a login older than FRESH_LOGIN_TIMEOUT', method: 'DELETE', path: '/api/v1/organization/buynlarge', headers: stale },
    { name: 'user delete, a login older than FRESH_LOGIN_TIMEOUT', method: 'DELETE', path: '/api/v1/user/', headers: stale },
    { name: 'repository delete needs no fresh login (nonexistent repo)', method: 'DELETE', path: '/api/v1/repository/devtable/nothere', headers: stale },
    { name: 'user delete of the only admin of organisations', method: 'DELETE', path: '/api/v1/user/', headers: devtable },
    { name: 'user delete with repo:admin', method: 'DELETE', path: '/api/v1/user/', identity: 'devtable-token' },
    { name: 'user delete, anonymous', method: 'DELETE', path: '/api/v1/user/', headers: anonymous },
    { name: 'export without a body', method: 'POST', path: exp, identity: 'devtable-token' },
    { name: 'export with a body that is not JSON', method: 'POST', path: exp, identity: 'devtable-token', json: 'x' },
    { name: 'export with JSON as text/plain', method: 'POST', path: exp, identity: 'devtable-token', json: '{}', contentType: 'text/plain' },
    { name: 'export with a list', method: 'POST', path: exp, identity: 'devtable-token', json: '[]', schemaDetail: true },
    { name: 'export with a numeric callback_url', method: 'POST', path: exp, identity: 'devtable-token', json: '{"callback_url": 1}', schemaDetail: true },
    { name: 'export with a list as callback_email', method: 'POST', path: exp, identity: 'devtable-token', json: '{"callback_email": []}', schemaDetail: true },
    { name: 'export with a bad e-mail', method: 'POST', path: exp, identity: 'devtable-token', json: '{"callback_email": "x"}' },
    { name: 'export to a loopback callback not allowed', method: 'POST', path: exp, identity: 'devtable-token', json: '{"callback_url": "http://10.1.2.3/x"}' },
    { name: 'export to an ftp callback', method: 'POST', path: exp, identity: 'devtable-token', json: '{"callback_url": "ftp://example.com/x"}' },
    { name: 'export with credentials in the callback', method: 'POST', path: exp, identity: 'devtable-token', json: '{"callback_url": "http://a:b@127.0.0.1/x"}' },
    { name: 'export with an end before the start', method: 'POST', path: `${exp}?starttime=12/10/2026&endtime=12/01/2026`, identity: 'devtable-token', json: '{}' },
    {
      name: 'export of a missing repository',
      method: 'POST',
      path: '/api/v1/repository/devtable/nonexistent/exportlogs',
      identity: 'devtable-token',
      json: '{"callback_email": "a@b"}',
    },
    { name: 'export by a reader', method: 'POST', path: exp, headers: reader, json: '{}' },
    { name: 'user export with repo:admin', method: 'POST', path: '/api/v1/user/exportlogs', identity: 'devtable-token', json: '{}' },
    { name: 'organization export with repo:admin (logged)', method: 'POST', path: '/api/v1/organization/buynlarge/exportlogs', identity: 'devtable-token', json: '{}' },
    { name: 'organization export without CSRF', method: 'POST', path: '/api/v1/organization/buynlarge/exportlogs', json: '{}' },
  ];
  for (const c of cases) await both(t, c);
});

t.test('exports queue the same item and log the same success row', async (t) => {
  const cases: Case[] = [
    {
      name: 'repository export, bad start date read as yesterday',
      method: 'POST',
      path: '/api/v1/repository/devtable/simple/exportlogs?starttime=bad',
      identity: 'devtable-token',
      json: '{"callback_email": "a@b"}',
    },
    {
      name: 'repository export with dates',
      method: 'POST',
      path: '/api/v1/repository/devtable/simple/exportlogs?starttime=1/2/2026&endtime=12/01/2026',
      identity: 'devtable-token',
      json: '{}',
    },
    { name: 'organization export by its admin', method: 'POST', path: '/api/v1/organization/buynlarge/exportlogs', headers: devtable, json: `{"callback_url": "${hook}/x"}` },
    {
      name: 'repository export to a public callback address',
      method: 'POST',
      path: '/api/v1/repository/devtable/simple/exportlogs',
      identity: 'devtable-token',
      json: '{"callback_url": "https://1.1.1.1/cb"}',
    },
    { name: 'user export with an empty callback_url', method: 'POST', path: '/api/v1/user/exportlogs', headers: devtable, json: '{"callback_url": ""}' },
  ];
  for (const c of cases) {
    const before = await queue('exportactionlogs/%');
    const out = await both(t, c);
    const items = (await queue('exportactionlogs/%')).filter((i) => !before.some((b) => b.id === i.id));
    t.equal(items.length, 2, `${c.name}: one item per side`);
    const [py, go] = items.map((i) => ({ ...i, id: 0, body: i.body.replace(/"export_id": "[0-9a-f-]{36}"/, '"export_id": "<uuid>"') }));
    t.same(go, py, `${c.name}: the same queue name, body and retries`);
    t.equal(JSON.parse(items[1]!.body).export_id, (out.go.body as { export_id: string }).export_id, `${c.name}: the item carries the id answered`);
  }
});

/** The rows a delete leaves for its fixture, ids and uuids stood in for. */
async function repoMarks(name: string): Promise<unknown> {
  const marker = (
    await sql<{ id: number; repository_id: number; original_name: string; queue_id: string }>(
      'SELECT id, repository_id, original_name, queue_id FROM deletedrepository WHERE original_name = ?',
      [name],
    )
  )[0];
  if (!marker) return null;
  const repo = (await sql<{ name: string; state: number }>('SELECT name, state FROM repository WHERE id = ?', [marker.repository_id]))[0]!;
  const item = (
    await sql<{ queue_name: string; body: string; retries_remaining: number }>('SELECT queue_name, body, retries_remaining FROM queueitem WHERE id = ?', [Number(marker.queue_id)])
  )[0]!;
  const stars = (await sql<{ n: number }>('SELECT COUNT(*) AS n FROM star WHERE repository_id = ?', [marker.repository_id]))[0]!.n;
  return {
    repository: { uuidName: /^[0-9a-f-]{36}$/.test(repo.name), state: repo.state },
    stars,
    item: { queue_name: item.queue_name === `repositorygc/devtable/${marker.repository_id}/`, body: JSON.parse(item.body), retries: item.retries_remaining, markerId: marker.id },
    builds: (await queue(`dockerfilebuild/devtable/${name}/%`)).length,
  };
}

async function namespaceMarks(name: string): Promise<unknown> {
  const marker = (
    await sql<{ id: number; namespace_id: number; original_email: string; queue_id: string }>(
      'SELECT id, namespace_id, original_email, queue_id FROM deletednamespace WHERE original_username = ?',
      [name],
    )
  )[0];
  if (!marker) return null;
  const user = (await sql<{ username: string; email: string; enabled: number }>('SELECT username, email, enabled FROM "user" WHERE id = ?', [marker.namespace_id]))[0]!;
  const item = (
    await sql<{ queue_name: string; body: string; retries_remaining: number }>('SELECT queue_name, body, retries_remaining FROM queueitem WHERE id = ?', [Number(marker.queue_id)])
  )[0]!;
  const n = async (text: string, p: unknown[]): Promise<number> => Number((await sql<{ n: number }>(text, p))[0]!.n);
  const id = marker.namespace_id;
  return {
    user: { uuidName: /^[0-9a-f-]{36}$/.test(user.username), uuidEmail: /^[0-9a-f-]{36}$/.test(user.email), enabled: Boolean(user.enabled) },
    email: marker.original_email.replace(/(py|go)@/, '@'),
    // What the mark's _delete_user_linked_data leaves: the rows left of the fixture's team, robot, quota and memberships.
    linked: {
      teams: await n('SELECT COUNT(*) AS n FROM team WHERE organization_id = ?', [id]),
      teamMembers: await n('SELECT COUNT(*) AS n FROM teammember m JOIN team t ON t.id = m.team_id WHERE t.organization_id = ?', [id]),
      memberships: await n('SELECT COUNT(*) AS n FROM teammember WHERE user_id = ?', [id]),
      robots: await n('SELECT COUNT(*) AS n FROM "user" WHERE username LIKE ?', [`${name}+%`]),
      quotas: await n('SELECT COUNT(*) AS n FROM userorganizationquota WHERE namespace_id = ?', [id]),
      quotaLimits: await n('SELECT COUNT(*) AS n FROM quotalimits l JOIN userorganizationquota q ON q.id = l.quota_id WHERE q.namespace_id = ?', [id]),
    },
    item: { queue_name: item.queue_name === `namespacegc/${marker.namespace_id}/`, body: JSON.parse(item.body), retries: item.retries_remaining, markerId: marker.id },
    notifications: (await queue(`notification/${name}/%`)).length,
  };
}
const fold = (v: unknown, id: unknown): unknown =>
  JSON.parse(
    JSON.stringify(v)
      .replace(/(py|go)"/g, '"')
      .replace(`"markerId":${String(id)}`, '"markerId":0')
      .replace(`"marker_id":${String(id)}`, '"marker_id":0'),
  );

/** Quay's own worker over every available item of its queue (ours among them), in Quay's environment: the ids it processed. */
async function quayWorker(kind: 'repositorygc' | 'namespacegc' | 'exportactionlogs'): Promise<number[]> {
  const [module, cls, queueVar, extra] = {
    repositorygc: ['workers.repositorygcworker', 'RepositoryGCWorker', 'repository_gc_queue', 'reservation_seconds=10800'],
    namespacegc: ['workers.namespacegcworker', 'NamespaceGCWorker', 'namespace_gc_queue', 'reservation_seconds=10800'],
    exportactionlogs: ['workers.exportactionlogsworker', 'ExportActionLogsWorker', 'export_action_logs_queue', 'reservation_seconds=3600'],
  }[kind];
  const out = await quay.python(`
import json
from app import ${queueVar} as q
from ${module} import ${cls}
w = ${cls}(q, poll_period_seconds=60, ${extra})
done = []
while True:
    item = q.get(processing_time=600)
    if item is None:
        break
    w.process_queue_item(json.loads(item.body))
    q.complete(item)
    done.append(item.id)
print(json.dumps(done))
`);
  return JSON.parse(out.trim().split('\n').pop()!) as number[];
}

/** The audit rows one call wrote on one side. */
async function callLogged(side: Side, path: string, o: { readonly method: string; readonly headers: Record<string, string> }): Promise<{ answer: Answer; logs: LogRow[] }> {
  const mark = await lastLogId();
  const answer = await pair.call(side, path, 'anonymous', o);
  return { answer, logs: await logsSince(mark) };
}
const foldNames = (s: string): string => s.replace(/(prod|org|gone)(py|go)/g, '$1');

t.test("Repository.delete: the same marks; the item ours put is purged by Quay's RepositoryGCWorker", async (t) => {
  const token = { authorization: `Bearer ${pair.identities['devtable-token'].secret!}` };
  const py = await callLogged('python', '/api/v1/repository/devtable/prodpy', { method: 'DELETE', headers: token });
  const go = await callLogged('go', '/api/v1/repository/devtable/prodgo', { method: 'DELETE', headers: token });
  t.same([py.answer.status, go.answer.status, go.answer.text], [204, 204, ''], 'both 204, no body');
  t.same(
    go.logs.map((l) => auditShape(l, foldNames)),
    py.logs.map((l) => auditShape(l, foldNames)),
    'the same delete_repo row',
  );
  const a = (await repoMarks('prodpy')) as { item: { markerId: number } };
  const b = (await repoMarks('prodgo')) as { item: { markerId: number } };
  t.ok(a && b, 'each side left a marker');
  t.same(fold(b, b.item.markerId), fold(a, a.item.markerId), 'renamed, marked, stars gone, the repositorygc item, the build items gone');
  const repoId = async (n: string): Promise<number> =>
    (await sql<{ repository_id: number }>('SELECT repository_id FROM deletedrepository WHERE original_name = ?', [n]))[0]!.repository_id;
  const [pyRepo, goRepo] = [await repoId('prodpy'), await repoId('prodgo')];
  const ours = (await queue('repositorygc/%')).find((i) => i.queue_name === `repositorygc/devtable/${goRepo}/`)!;
  t.ok(ours, 'our item is on the queue');
  t.ok((await quayWorker('repositorygc')).includes(ours.id), "Quay's worker processed our item");
  for (const [n, id] of [
    ['prodpy', pyRepo],
    ['prodgo', goRepo],
  ] as const) {
    t.same(await sql('SELECT id FROM repository WHERE id = ?', [id]), [], `${n}: Quay's worker removed the repository`);
    t.same(await sql('SELECT id FROM deletedrepository WHERE repository_id = ?', [id]), [], `${n}: and its marker`);
  }
  t.same(await queue('repositorygc/%'), [], 'both items completed');
});

t.test("Organization.delete: the same marks; the item ours put is purged by Quay's NamespaceGCWorker", async (t) => {
  const py = await callLogged('python', '/api/v1/organization/orgpy', { method: 'DELETE', headers: devtable });
  const go = await callLogged('go', '/api/v1/organization/orggo', { method: 'DELETE', headers: devtable });
  t.same([py.answer.status, go.answer.status, go.answer.text], [204, 204, ''], 'both 204, no body');
  const shape = (l: LogRow): unknown => ({ ...(auditShape(l, foldNames) as object), account_id: '<the organisation>' });
  t.same(go.logs.map(shape), py.logs.map(shape), 'the same org_delete row');
  const a = (await namespaceMarks('orgpy')) as { item: { markerId: number } };
  const b = (await namespaceMarks('orggo')) as { item: { markerId: number } };
  t.ok(a && b, 'each side left a marker');
  t.same(fold(b, b.item.markerId), fold(a, a.item.markerId), 'disabled, renamed, its linked data deleted, the namespacegc item, its notification items purged');
  t.match(b, { linked: { teams: 0, teamMembers: 0, robots: 0, quotas: 0, quotaLimits: 0 } }, 'its teams, robot and quota are gone at once');
  const nsId = async (n: string): Promise<number> =>
    (await sql<{ namespace_id: number }>('SELECT namespace_id FROM deletednamespace WHERE original_username = ?', [n]))[0]!.namespace_id;
  const [pyId, goId] = [await nsId('orgpy'), await nsId('orggo')];
  const ours = (await queue('namespacegc/%')).find((i) => i.queue_name === `namespacegc/${goId}/`)!;
  t.ok(ours, 'our item is on the queue');
  t.ok((await quayWorker('namespacegc')).includes(ours.id), "Quay's worker processed our item");
  for (const [n, id] of [
    ['orgpy', pyId],
    ['orggo', goId],
  ] as const) {
    t.same(await sql('SELECT id FROM "user" WHERE id = ?', [id]), [], `${n}: Quay's worker removed the organisation`);
    t.same(await sql('SELECT id FROM repository WHERE namespace_user_id = ?', [id]), [], `${n}: and its repositories`);
    t.same(await sql('SELECT id FROM team WHERE organization_id = ?', [id]), [], `${n}: and its teams`);
  }
  t.same(await queue('namespacegc/%'), [], 'both items completed');
});

t.test('User.delete: the same marks and user_delete row', async (t) => {
  const py = await callLogged('python', '/api/v1/user/', { method: 'DELETE', headers: { authorization: `Bearer ${goneToken.python}` } });
  const go = await callLogged('go', '/api/v1/user/', { method: 'DELETE', headers: { authorization: `Bearer ${goneToken.go}` } });
  t.same([py.answer.status, go.answer.status], [204, 204]);
  const shape = (l: LogRow): unknown => {
    const s = auditShape(l, foldNames) as Record<string, unknown>;
    return { ...s, account_id: l.account_id === l.performer_id, performer_id: '<the user>', metadata: { ...(s.metadata as object), oauth_token_id: '<token>' } };
  };
  t.same(go.logs.map(shape), py.logs.map(shape), 'user_delete on the renamed account, by the user, with the token');
  const a = (await namespaceMarks('gonepy')) as { item: { markerId: number } };
  const b = (await namespaceMarks('gonego')) as { item: { markerId: number } };
  t.ok(a && b, 'each side left a marker');
  t.same(fold(b, b.item.markerId), fold(a, a.item.markerId), 'disabled, renamed, its linked data deleted, the namespacegc item');
  t.match(b, { linked: { memberships: 0, robots: 0, quotas: 0 } }, 'its team membership, robot and quota are gone at once');
});

t.test("an export ours queued is written and called back by Quay's ExportActionLogsWorker", async (t) => {
  received.length = 0;
  const r = await pair.call('go', '/api/v1/repository/devtable/simple/exportlogs', 'devtable-token', {
    method: 'POST',
    body: JSON.stringify({ callback_url: `${hook}/done` }),
    headers: { 'content-type': 'application/json' },
  });
  t.equal(r.status, 200);
  const exportId = (r.body as { export_id: string }).export_id;
  const item = (await queue('exportactionlogs/devtable/%')).find((i) => i.body.includes(exportId))!;
  t.ok(item, 'ours queued it');
  // The contract's export items are not this test's: clear them, so the receiver hears only ours.
  await sql('DELETE FROM queueitem WHERE queue_name LIKE ? AND id <> ?', ['exportactionlogs/%', item.id]);
  t.same(await quayWorker('exportactionlogs'), [item.id], "Quay's worker processed our item");
  t.equal(received.length, 1, 'the callback was POSTed once');
  const cb = JSON.parse(received[0]!.body) as Record<string, unknown>;
  t.equal(received[0]!.path, '/done');
  t.match(cb, { export_id: exportId, namespace: 'devtable', repository: 'simple', status: 'success' }, 'a successful export of devtable/simple');
  const dir = join(quay.storageDir, 'exportedactionlogs');
  const files = existsSync(dir) ? (readdirSync(dir, { recursive: true }) as string[]) : [];
  t.ok(files.length > 0, `the exported logs are in storage (${files.join(', ')})`);
  t.same(await queue('exportactionlogs/%'), [], 'the item completed');
});
