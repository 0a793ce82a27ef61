/**
 * exportactionlogsworker in mixed mode, with real Quay on one database
 * (PostgreSQL, then SQLite) and one storage directory: an export queued by
 * Quay (its API's `POST /api/v1/repository/…/exportlogs`, or its model's
 * queue_logs_export) is done by `quay worker exportactionlogsworker --once`;
 * the same item, put back, is done by Quay's own ExportActionLogsWorker
 * (its poll_queue, in Quay's environment). The exported files are the same
 * bytes and so are the callbacks' bodies, but for the file key Quay's and
 * our worker each draw (a uuid in the file name and in `exported_data_url`).
 *
 * Quay's LocalStorage writes every chunk of an upload at offset 0 (the
 * worker passes offset 0 and LocalStorage seeks to it), so Quay's own file
 * on local storage is its chunks laid over one another: it begins with the
 * terminator and is not JSON. The comparison therefore runs Quay's worker
 * with LocalStorage's chunks appended, as its other storage engines (S3,
 * …) append them; one run with Quay's LocalStorage unchanged shows what it
 * writes there. The TS side writes the file Quay's worker means to write.
 *
 * Quay checks callback URLs against SSRF (no loopback), so the receiver
 * listens on 127.0.0.2 and both read SSRF_ALLOWED_HOSTS: [127.0.0.2].
 */
import t, { type Test } from 'tap';
import http from 'node:http';
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, freePort, run, tempDir, type TLike } from '../lib/proc.js';
import { buildSwitchboard } from '../lib/switchboard.js';
import { startQuayPython, type QuayPython } from '../lib/quay-python.js';

t.setTimeout(1_200_000);
await buildSwitchboard();

const TOKEN = `${'b'.repeat(40)}${'c'.repeat(40)}`;
const TRAILER = '\n        {"terminator": true}]\n      }';

interface Received {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: string;
}

/** A callback receiver on 127.0.0.2: records every request; `/fail` answers 500. */
async function receiver(t: TLike): Promise<{ url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString('latin1') });
      res.writeHead(req.url === '/fail' ? 500 : 200).end('{}');
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.2', r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.2:${port}`, got };
}

/** Quay's own code: action logs on fixed days (none of initdb's are there), odd metadata included. */
const SEED = `
from app import app
from datetime import datetime
from data import model
from data.logs_model import logs_model
devtable = model.user.get_user("devtable")
robot = model.user.lookup_robot("devtable+dtrobot")
simple = model.repository.get_repository("devtable", "simple")
complex_ = model.repository.get_repository("devtable", "complex")
L = logs_model.log_action
L("push_repo", "devtable", performer=devtable, ip="10.1.2.3", metadata={"tag": "latest", "ratio": 0.5, "size": 3.0, "big": 12345678901234}, repository=simple, timestamp=datetime(2024, 3, 15, 8, 0, 0))
L("pull_repo", "devtable", performer=None, ip=None, metadata={"caf\\u00e9": "\\u65e5\\u672c", "nested": {"a": [1, 2.0, {"b": None}], "emoji": "\\U0001F600", "q": "\\"quoted\\"\\n"}}, repository=simple, timestamp=datetime(2024, 3, 15, 8, 0, 0, 250000))
L("pull_repo", "devtable", performer=robot, ip="10.1.2.4", metadata={"same": "time"}, repository=simple, timestamp=datetime(2024, 3, 15, 9, 30, 0))
L("push_repo", "devtable", performer=devtable, ip="10.1.2.5", metadata={"same": "time, other kind"}, repository=simple, timestamp=datetime(2024, 3, 15, 9, 30, 0))
L("change_repo_visibility", "devtable", performer=devtable, ip="10.1.2.6", metadata={"visibility": "public"}, repository=complex_, timestamp=datetime(2024, 3, 16, 23, 59, 59, 998000))
L("push_repo", "devtable", performer=devtable, ip="10.1.2.7", metadata={"day": 17}, repository=simple, timestamp=datetime(2024, 3, 17, 12, 0, 0))
L("account_change_plan", "devtable", performer=devtable, ip="10.1.2.8", metadata={"no": "repository"}, timestamp=datetime(2024, 3, 16, 1, 0, 0))
L("org_create_team", "buynlarge", performer=devtable, ip="10.1.2.9", metadata={"team": "other namespace"}, timestamp=datetime(2024, 3, 15, 10, 0, 0))
`;

/** Quay's ExportActionLogsWorker on the item put back; `appending`: LocalStorage's chunks appended, as its other engines append them. */
const quayWorker = (body: string, namespace: string, appending: boolean): string => `
import json, os
from app import export_action_logs_queue
from storage.local import LocalStorage
if ${appending ? 'True' : 'False'}:
    _write = LocalStorage.stream_upload_chunk
    def appended(self, uuid, offset, length, in_fp, meta, content_type=None):
        return _write(self, uuid, os.path.getsize(self._init_path(self._rel_upload_path(uuid))), length, in_fp, meta, content_type)
    LocalStorage.stream_upload_chunk = appended
from workers.exportactionlogsworker import ExportActionLogsWorker, POLL_PERIOD_SECONDS
export_action_logs_queue.put([${JSON.stringify(namespace)}], ${JSON.stringify(body)}, retries_remaining=3)
try:
    ExportActionLogsWorker(export_action_logs_queue, poll_period_seconds=POLL_PERIOD_SECONDS).poll_queue()
    print("done")
except Exception as e:
    print("raised", type(e).__name__, str(e))
`;

for (const database of ['postgres', 'sqlite'] as const) {
  t.test(`${database}: Quay's exports done by ours and by Quay's worker`, async (t) => {
    const quay = await startQuayPython(t, { database, start: false });
    appendFileSync(quay.configFile, '\nSSRF_ALLOWED_HOSTS: ["127.0.0.2"]\n');
    quay.start();
    const hooks = await receiver(t);
    await quay.python(SEED);

    const dir = tempDir(t, 'exportlogs-');
    const config = join(dir, 'config.yaml');
    copyFileSync(quay.configFile, config);
    writeFileSync(config, `${readFileSync(config, 'utf8')}\nMIGRATION:\n  WORKER_OWNER_EXPORTACTIONLOGSWORKER: go\n`);
    const ours = async (): Promise<string> => {
      const r = await run(
        process.execPath,
        [join(ROOT, 'bin/quay.js'), 'worker', 'exportactionlogsworker', '--mode', 'standalone', '--config', config, '--data-dir', join(dir, 'data'), '--once'],
        {
          cwd: ROOT,
          timeoutMs: 120_000,
        },
      );
      if (r.code !== 0) throw new Error(`quay worker --once exited ${String(r.code)}:\n${r.stderr}`);
      return r.stderr;
    };
    const queued = async (): Promise<{ body: string; retries_remaining: number; available: boolean; later: boolean }[]> =>
      JSON.parse(
        await quay.python(`
import json
from datetime import datetime
from app import app
from data.database import QueueItem
now = datetime.utcnow()
print(json.dumps([{"body": i.body, "retries_remaining": i.retries_remaining, "available": bool(i.available),
  "later": bool((i.available_after and i.available_after > now) or (not i.available and i.processing_expires and i.processing_expires > now))}
  for i in QueueItem.select().where(QueueItem.queue_name ** "exportactionlogs/%").order_by(QueueItem.id)]))`),
      );
    const clearQueue = (): Promise<string> =>
      quay.python(`from app import app\nfrom data.database import QueueItem\nQueueItem.delete().where(QueueItem.queue_name ** "exportactionlogs/%").execute()`);
    const exportDir = join(quay.storageDir, 'exportedactionlogs');
    const files = (): string[] => (existsSync(exportDir) ? readdirSync(exportDir).sort() : []);
    const newFile = (before: readonly string[]): string => {
      const added = files().filter((f) => !before.includes(f));
      if (added.length !== 1) throw new Error(`expected one new export file, found ${JSON.stringify(added)}`);
      return added[0]!;
    };
    const read = (name: string): string => readFileSync(join(exportDir, name), 'latin1');

    /** One item: ours, then Quay's worker (appending) on the same body; the two files and callbacks. */
    async function both(
      t: Test,
      body: string,
      namespace: string,
    ): Promise<{ ours: { file: string; text: string; callback: Received }; quay: { file: string; text: string; callback: Received; said: string } }> {
      const before = files();
      const n = hooks.got.length;
      await ours();
      t.same(await queued(), [], 'ours completed the item');
      const oursFile = newFile(before);
      const mid = files();
      const said = await quay.python(quayWorker(body, namespace, true));
      t.same(await queued(), [], "Quay's worker completed the item");
      const quayFile = newFile(mid);
      t.equal(hooks.got.length, n + 2, 'one callback each');
      return {
        ours: { file: oursFile, text: read(oursFile), callback: hooks.got[n]! },
        quay: { file: quayFile, text: read(quayFile), callback: hooks.got[n + 1]!, said },
      };
    }

    /** The file key each drew: `<export id>-<uuid>`, and the callback's URL naming it. */
    const sameBut = (t: Test, r: Awaited<ReturnType<typeof both>>, exportId: string): void => {
      t.equal(r.ours.text, r.quay.text, 'the export files are the same bytes');
      t.match(r.ours.file, new RegExp(`^${exportId}-[0-9a-f-]{36}$`));
      t.match(r.quay.file, new RegExp(`^${exportId}-[0-9a-f-]{36}$`));
      t.equal(r.ours.callback.contentType, r.quay.callback.contentType, 'the same Content-Type');
      t.equal(r.ours.callback.body.replace(r.ours.file, 'FILE'), r.quay.callback.body.replace(r.quay.file, 'FILE'), 'the callback bodies are the same bytes but for the file key');
      t.ok(
        r.ours.callback.body.includes(`"exported_data_url": "http://127.0.0.1:${quay.port}/exportedlogs/${r.ours.file}"`),
        "the URL is Quay's /exportedlogs/ under SERVER_HOSTNAME",
      );
    };

    await t.test("a repository export queued through Quay's API, odd metadata included", async (t) => {
      const resp = await fetch(`${quay.url}/api/v1/repository/devtable/simple/exportlogs?starttime=03/15/2024&endtime=03/15/2024`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ callback_url: `${hooks.url}/ok` }),
      });
      t.equal(resp.status, 200, await resp.clone().text());
      const { export_id: exportId } = (await resp.json()) as { export_id: string };
      const [item] = await queued();
      t.ok(item, 'Quay queued the export');
      const r = await both(t, item!.body, 'devtable');
      sameBut(t, r, exportId);
      const logs = JSON.parse(r.ours.text).logs as { ip?: string | null; terminator?: boolean }[];
      const ips = logs.map((l) => (l.terminator ? 'end' : l.ip));
      t.same(ips.slice(0, 2), ['10.1.2.3', null], 'in time order');
      // Two logs at one instant: in the order of the (repository, datetime, kind) index both workers' query is read
      // through (push_repo's kind before pull_repo's), not by id.
      t.same(ips.slice(2, 4), ['10.1.2.5', '10.1.2.4'], 'two logs at one instant, in the order the database gives both workers');
      t.same(ips.slice(4), ['end'], "not 03/17's: Quay's API queues the day after endtime as end_time, and the worker takes that whole day");
      t.match(
        r.ours.text,
        /"caf\\u00e9": "\\u65e5\\u672c", "nested": \{"a": \[1, 2\.0, \{"b": null\}\], "emoji": "\\ud83d\\ude00", "q": "\\"quoted\\"\\n"\}/,
        'odd metadata as Python writes it',
      );
      t.match(r.ours.text, /"is_robot": true/);
      t.match(r.ours.callback.body, /"status": "success"/);
      t.equal(r.quay.said.trim(), 'done');
    });

    await t.test("a namespace export queued by Quay's queue_logs_export", async (t) => {
      const exportId = (
        await quay.python(`
from datetime import datetime
from app import export_action_logs_queue
from data.logs_model import logs_model
print(logs_model.queue_logs_export(datetime(2024, 3, 15), datetime(2024, 3, 16), export_action_logs_queue, "devtable", None, "${hooks.url}/ok", None))`)
      ).trim();
      const [item] = await queued();
      const r = await both(t, item!.body, 'devtable');
      sameBut(t, r, exportId);
      const logs = JSON.parse(r.ours.text).logs as { ip?: string | null; terminator?: boolean }[];
      t.same(
        logs.map((l) => (l.terminator ? 'end' : l.ip)).sort(),
        ['10.1.2.3', '10.1.2.4', '10.1.2.5', '10.1.2.6', '10.1.2.8', 'end', null].sort(),
        "devtable's logs of every repository and none, not buynlarge's",
      );
    });

    await t.test('an empty range', async (t) => {
      const exportId = (
        await quay.python(`
from datetime import datetime
from app import export_action_logs_queue
from data.logs_model import logs_model
print(logs_model.queue_logs_export(datetime(2019, 1, 1), datetime(2019, 1, 2), export_action_logs_queue, "devtable", "simple", "${hooks.url}/ok", None))`)
      ).trim();
      const [item] = await queued();
      const r = await both(t, item!.body, 'devtable');
      sameBut(t, r, exportId);
      t.ok(r.ours.text.endsWith(`"logs": [\n    ${TRAILER}`), 'the header and the terminator');
    });

    await t.test("Quay's own LocalStorage writes each chunk at offset 0: its file is the chunks laid over one another", async (t) => {
      const exportId = (
        await quay.python(`
from datetime import datetime
from app import export_action_logs_queue
from data.logs_model import logs_model
print(logs_model.queue_logs_export(datetime(2024, 3, 15), datetime(2024, 3, 16), export_action_logs_queue, "devtable", "simple", None, None))`)
      ).trim();
      const [item] = await queued();
      await clearQueue();
      const before = files();
      await quay.python(quayWorker(item!.body, 'devtable', false));
      const text = read(newFile(before));
      t.ok(text.startsWith(TRAILER), 'the last chunk (the terminator) sits at the start');
      t.throws(() => JSON.parse(text), 'not JSON');
      t.ok(text.length > TRAILER.length && !text.includes(`"export_id": "${exportId}"`), 'the header was written over too');
    });

    await t.test('a callback answering 500: the export is written, the item comes back after 300 s with a retry spent, in both', async (t) => {
      await quay.python(`
from datetime import datetime
from app import export_action_logs_queue
from data.logs_model import logs_model
logs_model.queue_logs_export(datetime(2024, 3, 15), datetime(2024, 3, 15), export_action_logs_queue, "devtable", "simple", "${hooks.url}/fail", None)`);
      const [item] = await queued();
      const before = files();
      const n = hooks.got.length;
      await ours();
      const [afterOurs] = await queued();
      t.equal(afterOurs?.retries_remaining, 2, 'ours: one retry spent');
      t.equal(afterOurs?.later, true, 'ours: not claimable again yet');
      const oursFile = newFile(before);
      await clearQueue();
      const mid = files();
      const said = await quay.python(quayWorker(item!.body, 'devtable', true));
      t.match(said, /raised Exception Got non-200 for batch logs reporting; retrying later/, "Quay's worker raises");
      const [afterQuay] = await queued();
      t.equal(afterQuay?.retries_remaining, 2, "Quay's: one retry spent");
      t.equal(afterQuay?.later, true, "Quay's: held until its 300 s reservation ends");
      const quayFile = newFile(mid);
      t.equal(read(oursFile), read(quayFile), 'both wrote the export first');
      t.equal(hooks.got.length, n + 2);
      t.equal(hooks.got[n]!.body.replace(oursFile, 'FILE'), hooks.got[n + 1]!.body.replace(quayFile, 'FILE'), 'the same callback body');
      await clearQueue();
    });

    await t.test('callback_email without a mail server: the item fails after the callback, in both', async (t) => {
      await quay.python(`
from datetime import datetime
from app import export_action_logs_queue
from data.logs_model import logs_model
logs_model.queue_logs_export(datetime(2024, 3, 15), datetime(2024, 3, 15), export_action_logs_queue, "devtable", "simple", "${hooks.url}/ok", "someone@example.com")`);
      const [item] = await queued();
      const n = hooks.got.length;
      const log = await ours();
      t.match(log, /sends no mail/);
      t.equal((await queued())[0]?.retries_remaining, 2, 'ours: retried');
      await clearQueue();
      const said = await quay.python(quayWorker(item!.body, 'devtable', true));
      t.match(said, /^raised CannotSendEmailException /m, "Quay's worker raises when it cannot send the e-mail");
      t.equal((await queued())[0]?.retries_remaining, 2, "Quay's: retried");
      t.equal(hooks.got.length, n + 2, 'both called the callback first');
      await clearQueue();
    });
  });
}
