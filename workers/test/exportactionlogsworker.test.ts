/**
 * exportactionlogsworker on both dialects: which rows an export holds (the
 * repository's, else the namespace's; the whole end day but not the next),
 * the file as Quay's worker writes it (header, each log as Python's
 * json.dumps of Log.to_dict, terminator), the callback's body, the windows
 * read (1 s doubling), and the failures: unparseable dates, a callback that
 * answers 500, a URL the SSRF check refuses, e-mail, and the time limits.
 * That the bytes equal Quay's own worker's is test/e2e/exportlogs-quay.test.ts.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStorage } from '../../storage/local.js';
import { openStoreSides, type Side } from '../../dal/test/lib/store-sides.js';
import { ActionLogs, type ExportWindow } from '../../dal/portable/logs.js';
import { createLogger } from '../../lib/log.js';
import { pythonJsonLoads } from '../../lib/python-json.js';
import { exportJob, exportSettings, type ExportDeps } from '../programs/exportactionlogsworker.js';
import { idleReason } from '../features.js';

const { sides } = await openStoreSides(t);
const quiet = createLogger({}, { write: () => undefined });

const NS = 4242;
const REPO = 77;

interface Posted {
  readonly url: string;
  readonly body: string;
  readonly contentType: string | undefined;
}

function fakeFetch(status = 200): { fetch: typeof fetch; posted: Posted[] } {
  const posted: Posted[] = [];
  const f = (async (url: string | URL | Request, init?: RequestInit) => {
    posted.push({ url: String(url), body: String(init?.body), contentType: (init?.headers as Record<string, string>)['Content-Type'] });
    return new Response('{}', { status });
  }) as typeof fetch;
  return { fetch: f, posted };
}

async function seed(s: Side): Promise<void> {
  const performer = await s.dal.users.createUser({ username: `perf${s.kind}`, email: `perf${s.kind}@example.com`, passwordHash: null }, Date.UTC(2024, 0, 1));
  const kind = async (name: string): Promise<number> => Number((await s.raw('SELECT id FROM logentrykind WHERE name = ?', name))[0]!.id);
  const push = await kind('push_repo');
  const pull = await kind('pull_repo');
  const rows: [number, number, number | null, number | null, string, string | null, string][] = [
    [push, NS, performer.id, REPO, '2024-03-15 00:00:00', '10.0.0.1', '{"tag": "latest", "repo": "r"}'],
    [pull, NS, null, REPO, '2024-03-15 10:20:30.5', null, '{"caf\u00e9": "\u65e5\u672c", "n": {"a": [1, 2.0, {"b": null}], "e": "\u{1F600}"}}'],
    [pull, NS, performer.id, null, '2024-03-15 12:00:00', '10.0.0.2', '{}'],
    [push, NS, performer.id, REPO, '2024-03-16 23:59:59.998', '10.0.0.3', '{"last": true}'],
    [push, NS, performer.id, REPO, '2024-03-17 00:00:00', '10.0.0.4', '{"next day": true}'],
    [push, NS + 1, performer.id, REPO + 1, '2024-03-15 11:00:00', '10.0.0.5', '{"other": true}'],
  ];
  for (const r of rows) await s.raw('INSERT INTO logentry3 (kind_id, account_id, performer_id, repository_id, datetime, ip, metadata_json) VALUES (?, ?, ?, ?, ?, ?, ?)', ...r);
}

function deps(tt: { teardown(fn: () => unknown): void }, s: Side, o: Partial<ExportDeps> & { cfg?: Record<string, unknown> } = {}): ExportDeps & { storage: LocalStorage } {
  const dir = mkdtempSync(join(tmpdir(), 'exportlogs-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return {
    logs: new ActionLogs(s.dal.sql),
    storage: new LocalStorage(dir),
    settings: exportSettings({ SERVER_HOSTNAME: 'quay.example:8443', PREFERRED_URL_SCHEME: 'https', ...o.cfg }),
    log: quiet,
    resolve: async () => ['93.184.216.34'],
    ...o,
  } as ExportDeps & { storage: LocalStorage };
}

const job = (extra: Record<string, unknown> = {}): Record<string, unknown> =>
  pythonJsonLoads(
    JSON.stringify({
      export_id: 'exp-1',
      repository_id: REPO,
      namespace_id: NS,
      namespace_name: 'acme',
      repository_name: 'app',
      start_time: '03/15/2024',
      end_time: '03/16/2024',
      callback_url: 'https://hooks.example.com/done',
      callback_email: null,
      ...extra,
    }),
  ) as Record<string, unknown>;

async function exported(d: { storage: LocalStorage }): Promise<{ key: string; text: string }[]> {
  const keys = await d.storage.list('exportedactionlogs');
  return Promise.all(keys.map(async (key) => ({ key, text: (await d.storage.readAll(key)).toString('utf8') })));
}

for (const s of sides) {
  await seed(s);

  t.test(`${s.kind}: a repository export is Quay's file, and the callback Quay's body`, async (t) => {
    const f = fakeFetch();
    const d = deps(t, s, { fetch: f.fetch });
    await exportJob(d)(job());
    const files = await exported(d);
    t.equal(files.length, 1);
    const { key, text } = files[0]!;
    t.match(key, /^exportedactionlogs\/exp-1-[0-9a-f-]{36}$/);
    const avatar = (await import('../../domain/avatar.js')).userAvatar({ username: `perf${s.kind}`, email: `perf${s.kind}@example.com`, robot: false });
    const perf = `{"kind": "user", "name": "perf${s.kind}", "is_robot": false, "avatar": {"name": "perf${s.kind}", "hash": "${avatar.hash}", "color": "${avatar.color}", "kind": "user"}}`;
    t.equal(
      text,
      '{\n      "export_id": "exp-1",\n' +
        '      "details": {"start_time": "Fri, 15 Mar 2024 00:00:00 -0000", "end_time": "Sat, 16 Mar 2024 23:59:59 -0000", "namespace": "acme", "repository": "app"},\n' +
        '      "logs": [\n    ' +
        `{"kind": "push_repo", "metadata": {"tag": "latest", "repo": "r"}, "ip": "10.0.0.1", "datetime": "Fri, 15 Mar 2024 00:00:00 -0000", "performer": ${perf}},` +
        '{"kind": "pull_repo", "metadata": {"caf\\u00e9": "\\u65e5\\u672c", "n": {"a": [1, 2.0, {"b": null}], "e": "\\ud83d\\ude00"}}, "ip": null, "datetime": "Fri, 15 Mar 2024 10:20:30 -0000"},' +
        `{"kind": "push_repo", "metadata": {"last": true}, "ip": "10.0.0.3", "datetime": "Sat, 16 Mar 2024 23:59:59 -0000", "performer": ${perf}},` +
        '\n        {"terminator": true}]\n      }',
      "the repository's logs of both days, in order, as Python writes them",
    );
    t.same(JSON.parse(text).logs.length, 4, 'valid JSON: three logs and the terminator');
    t.same(f.posted, [
      {
        url: 'https://hooks.example.com/done',
        contentType: 'application/json',
        body: `{"export_id": "exp-1", "start_time": "03/15/2024", "end_time": "03/16/2024", "namespace": "acme", "repository": "app", "exported_data_url": "https://quay.example:8443/exportedlogs/${key.slice('exportedactionlogs/'.length)}", "status": "success"}`,
      },
    ]);
    t.same(await d.storage.list('uploads'), [], 'no upload left behind');
  });

  t.test(`${s.kind}: a namespace export holds the namespace's logs of every repository and none`, async (t) => {
    const f = fakeFetch();
    const d = deps(t, s, { fetch: f.fetch });
    await exportJob(d)(job({ repository_id: null, repository_name: null }));
    const { text } = (await exported(d))[0]!;
    const logs = JSON.parse(text).logs as { ip?: string; terminator?: boolean }[];
    t.same(
      logs.map((l) => l.ip ?? (l.terminator ? 'end' : null)),
      ['10.0.0.1', null, '10.0.0.2', '10.0.0.3', 'end'],
    );
    t.match(text, /"namespace": "acme", "repository": null\}/);
    t.match(f.posted[0]!.body, /"repository": null, "exported_data_url": "https:\/\/quay\.example:8443\/exportedlogs\/exp-1-/);
  });

  t.test(`${s.kind}: an empty range is the header and the terminator`, async (t) => {
    const d = deps(t, s, { fetch: fakeFetch().fetch });
    await exportJob(d)(job({ start_time: '01/01/2020', end_time: '01/02/2020' }));
    const { text } = (await exported(d))[0]!;
    t.equal(
      text,
      '{\n      "export_id": "exp-1",\n      "details": {"start_time": "Wed, 01 Jan 2020 00:00:00 -0000", "end_time": "Thu, 02 Jan 2020 23:59:59 -0000", "namespace": "acme", "repository": "app"},\n      "logs": [\n    \n        {"terminator": true}]\n      }',
    );
  });

  t.test(`${s.kind}: the windows start at one second and double`, async (t) => {
    const logs = new ActionLogs(s.dal.sql);
    const windows: ExportWindow[] = [];
    const spy = Object.assign(Object.create(logs) as ActionLogs, {
      exportBatch: (w: ExportWindow) => {
        windows.push(w);
        return logs.exportBatch(w);
      },
    });
    await exportJob(deps(t, s, { logs: spy, fetch: fakeFetch().fetch }))(job({ start_time: '03/15/2024', end_time: '03/15/2024' }));
    t.same(
      windows.slice(0, 3).map((w) => [w.start, w.end]),
      [
        ['2024-03-15 00:00:00', '2024-03-15 00:00:01'],
        ['2024-03-15 00:00:01', '2024-03-15 00:00:03'],
        ['2024-03-15 00:00:03', '2024-03-15 00:00:07'],
      ],
    );
    t.same(windows.at(-1)!.end, '2024-03-15 23:59:59.999000', 'the last window ends a millisecond before midnight');
    t.equal(windows.length, 17);
    t.same(windows[0]!.accountId, null, 'a repository export filters by the repository alone');
  });
}

const s0 = sides[0]!;

t.test('dates that do not parse: invalidrequest, no file, the item done', async (t) => {
  const f = fakeFetch();
  const d = deps(t, s0, { fetch: f.fetch });
  await exportJob(d)(job({ end_time: '2024-03-16' }));
  t.same(await d.storage.list(''), []);
  t.equal(
    f.posted[0]!.body,
    '{"export_id": "exp-1", "start_time": "03/15/2024", "end_time": "2024-03-16", "namespace": "acme", "repository": "app", "exported_data_url": null, "status": "invalidrequest"}',
  );
});

t.test('a callback answering other than 200 fails the item (retried); the file stays, as Quay', async (t) => {
  const f = fakeFetch(201);
  const d = deps(t, s0, { fetch: f.fetch });
  await t.rejects(exportJob(d)(job()), /Got non-200 for batch logs reporting; retrying later/);
  t.equal((await exported(d)).length, 1);
  t.equal(f.posted.length, 1);
});

t.test('a callback URL the SSRF check refuses is not called; SSRF_ALLOWED_HOSTS lets it', async (t) => {
  const f = fakeFetch();
  await exportJob(deps(t, s0, { fetch: f.fetch }))(job({ callback_url: 'http://127.0.0.2:9999/x' }));
  t.equal(f.posted.length, 0, 'refused: the export is done, nobody called');
  await exportJob(deps(t, s0, { fetch: f.fetch, cfg: { SSRF_ALLOWED_HOSTS: ['127.0.0.2'] } }))(job({ callback_url: 'http://127.0.0.2:9999/x' }));
  t.equal(f.posted.length, 1, 'allowed');
});

t.test('e-mail: the item fails after the callback, as Quay without a mail server; suppressed mail passes', async (t) => {
  const f = fakeFetch();
  await t.rejects(exportJob(deps(t, s0, { fetch: f.fetch }))(job({ callback_email: 'a@example.com' })), /sends no mail/);
  t.equal(f.posted.length, 1, 'the callback was called first');
  await exportJob(deps(t, s0, { fetch: f.fetch, cfg: { TESTING: true } }))(job({ callback_email: 'a@example.com', callback_url: null }));
  await exportJob(deps(t, s0, { fetch: f.fetch, cfg: { MAIL_SUPPRESS_SEND: true } }))(job({ callback_email: 'a@example.com', callback_url: null }));
});

t.test('time limits: timedout then failed, and only failed on the first window (as Quay)', async (t) => {
  const statuses = (f: { posted: Posted[] }): string[] => f.posted.map((p) => (JSON.parse(p.body) as { status: string }).status);
  // Reading: each window "takes" 10 s against a 30 s limit; the fourth check finds 40 s gone.
  let now = 0;
  const slow = fakeFetch();
  const logs = new ActionLogs(s0.dal.sql);
  const ticking = Object.assign(Object.create(logs) as ActionLogs, {
    exportBatch: async (w: ExportWindow) => {
      now += 10_000;
      return logs.exportBatch(w);
    },
  });
  const d = deps(t, s0, { fetch: slow.fetch, logs: ticking, clock: () => now });
  await t.rejects(exportJob(d)(job()), /EXPORT_ACTION_LOGS_MAXIMUM_QUERY_TIME_SECONDS/);
  t.same(statuses(slow), ['timedout', 'failed']);
  t.same(await d.storage.list(''), [], 'the upload was dropped, nothing exported');
  // A single window slower than the limit.
  now = 0;
  const first = fakeFetch();
  const slowFirst = Object.assign(Object.create(logs) as ActionLogs, {
    exportBatch: async (w: ExportWindow) => {
      now += 31_000;
      return logs.exportBatch(w);
    },
  });
  await t.rejects(exportJob(deps(t, s0, { fetch: first.fetch, logs: slowFirst, clock: () => now }))(job()));
  t.same(statuses(first), ['failed']);
  // Work: past EXPORT_ACTION_LOGS_MAXIMUM_SECONDS.
  now = 0;
  const long = fakeFetch();
  await t.rejects(
    exportJob(
      deps(t, s0, { fetch: long.fetch, logs: ticking, clock: () => now, cfg: { EXPORT_ACTION_LOGS_MAXIMUM_SECONDS: 15, EXPORT_ACTION_LOGS_MAXIMUM_QUERY_TIME_SECONDS: 3600 } }),
    )(job()),
  );
  t.same(statuses(long), ['timedout', 'failed']);
});

t.test('a log of another account in a repository export fails the export, as Quay asserts', async (t) => {
  const f = fakeFetch();
  const d = deps(t, s0, { fetch: f.fetch });
  await t.rejects(exportJob(d)(job({ repository_id: REPO + 1 })), /AssertionError/);
  t.same((JSON.parse(f.posted[0]!.body) as { status: string }).status, 'failed');
});

t.test('idle as Quay: FEATURE_LOG_EXPORT off (on by default); the settings default as Quay', async (t) => {
  t.equal(idleReason('exportactionlogsworker', {}), null);
  t.equal(idleReason('exportactionlogsworker', { FEATURE_LOG_EXPORT: false }), 'FEATURE_LOG_EXPORT is off');
  const s = exportSettings({});
  t.same([s.queueName, s.pollSeconds, s.storagePath, s.maxWorkMs, s.maxQueryMs, s.mailSuppressed], ['exportactionlogs', 60, 'exportedactionlogs', 7_200_000, 30_000, false]);
});
