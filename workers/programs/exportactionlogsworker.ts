/**
 * exportactionlogsworker: Quay's export of a namespace's or a repository's
 * action logs (workers/exportactionlogsworker.py, over the table logs model's
 * yield_logs_for_export), from the `exportactionlogs` queue. An item's body
 * is what Quay's queue_logs_export puts (data/logs_model/shared.py):
 * `{"export_id", "repository_id", "namespace_id", "namespace_name",
 * "repository_name", "start_time", "end_time", "callback_url",
 * "callback_email"}`, the times as `%m/%d/%Y`.
 *
 * Per item, as Quay's worker:
 *  - dates that do not parse: the callbacks get `invalidrequest`, the item is done;
 *  - the logs of [start day 00:00, end day 23:59:59.999) from logentry3, in
 *    windows of 1 s doubling (up to 31 days) while a window holds fewer
 *    than 1000 rows, are written as the file
 *    `EXPORT_ACTION_LOGS_STORAGE_PATH/<export id>-<uuid>` in storage:
 *    Quay's header (`export_id`, `details`), each log as Python's
 *    json.dumps(Log.to_dict()) followed by a comma, and Quay's terminator;
 *  - the callbacks get `success` and the file's URL,
 *    `PREFERRED_URL_SCHEME://SERVER_HOSTNAME/exportedlogs/<file>` (the local
 *    driver has no direct download URL, as Quay's LocalStorage has none);
 *  - past EXPORT_ACTION_LOGS_MAXIMUM_SECONDS (2 h) of work or
 *    EXPORT_ACTION_LOGS_MAXIMUM_QUERY_TIME_SECONDS (30 s) of reading, the
 *    callbacks get `timedout`; any failure to write or read: the upload is
 *    dropped, the callbacks get `failed` and the item is retried.
 *
 * Callbacks: `callback_url` gets a POST of Quay's JSON (Python's json.dumps,
 * byte for byte) when Quay's SSRF check lets it (SSRF_ALLOWED_HOSTS, else no
 * private or loopback address: the URL is skipped with a log line); any
 * answer but 200 (redirects are not followed) fails the item, retried later.
 * `callback_email`: the TS side sends no mail. Quay's worker, with no mail
 * server it can reach (its default MAIL_SERVER is empty), fails the item at
 * this point and retries it; so does this one, unless mail is suppressed as
 * Flask-Mail suppresses it (MAIL_SUPPRESS_SEND, by default under TESTING).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../lib/log.js';
import { pythonJsonDumps, PyFloat, pyFloatRepr, type PyJson } from '../../lib/python-json.js';
import { ssrfRefusal } from '../../lib/ssrf.js';
import { ActionLogs, logTimeParam, type ExportLogRow } from '../../dal/portable/logs.js';
import { actionLogView, parseLogDate } from '../../domain/action-logs.js';
import { formatDate } from '../../domain/quay-dates.js';
import type { StorageDriver } from '../../storage/driver.js';
import { exportedLogsKey, uploadKey } from '../../storage/paths.js';
import { quayQueueName } from '../../dal/portable/quay-queues.js';

/** ExportResult (the values Quay's callbacks and e-mail template know). */
export type ExportStatus = 'invalidrequest' | 'timedout' | 'failed' | 'success';

export interface ExportSettings {
  /** EXPORT_ACTION_LOGS_QUEUE_NAME (default `exportactionlogs`). */
  readonly queueName: string;
  /** EXPORT_ACTION_LOGS_WORKER_POLL_PERIOD, seconds (default 60). */
  readonly pollSeconds: number;
  /** EXPORT_ACTION_LOGS_STORAGE_PATH (default `exportedactionlogs`). */
  readonly storagePath: string;
  /** EXPORT_ACTION_LOGS_MAXIMUM_SECONDS (default 2 h). */
  readonly maxWorkMs: number;
  /** EXPORT_ACTION_LOGS_MAXIMUM_QUERY_TIME_SECONDS (default 30). */
  readonly maxQueryMs: number;
  /** get_app_url(): `PREFERRED_URL_SCHEME://SERVER_HOSTNAME`. */
  readonly appUrl: string;
  /** SSRF_ALLOWED_HOSTS. */
  readonly ssrfAllowedHosts: readonly string[];
  /** Flask-Mail's suppression: MAIL_SUPPRESS_SEND, by default TESTING. */
  readonly mailSuppressed: boolean;
  /** How long a callback may take (Quay's requests call has no limit; its item's reservation is 300 s). */
  readonly callbackTimeoutMs: number;
}

const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback);

export function exportSettings(cfg: Readonly<Record<string, unknown>>): ExportSettings {
  const str = (k: string, fallback: string): string => (typeof cfg[k] === 'string' ? (cfg[k] as string) : fallback);
  const allowed = cfg.SSRF_ALLOWED_HOSTS;
  return {
    queueName: quayQueueName(cfg, 'exportactionlogs'),
    pollSeconds: num(cfg.EXPORT_ACTION_LOGS_WORKER_POLL_PERIOD, 60) || 60,
    storagePath: str('EXPORT_ACTION_LOGS_STORAGE_PATH', 'exportedactionlogs'),
    maxWorkMs: num(cfg.EXPORT_ACTION_LOGS_MAXIMUM_SECONDS, 7200) * 1000,
    maxQueryMs: num(cfg.EXPORT_ACTION_LOGS_MAXIMUM_QUERY_TIME_SECONDS, 30) * 1000,
    appUrl: `${str('PREFERRED_URL_SCHEME', 'http')}://${str('SERVER_HOSTNAME', 'localhost')}`,
    ssrfAllowedHosts: Array.isArray(allowed) ? allowed.filter((h): h is string => typeof h === 'string') : [],
    mailSuppressed: Object.hasOwn(cfg, 'MAIL_SUPPRESS_SEND') ? cfg.MAIL_SUPPRESS_SEND === true : cfg.TESTING === true,
    callbackTimeoutMs: 60_000,
  };
}

/** MINIMUM_RANGE_SIZE, MAXIMUM_RANGE_SIZE, EXPECTED_ITERATION_LOG_COUNT (table_logs_model.py). */
const FIRST_WINDOW_MS = 1000;
const MAX_WINDOW_MS = 60 * 60 * 24 * 31 * 1000;
const EXPECTED_BATCH = 1000;
const DAY_MS = 86_400_000;

/** The file around the logs, as Quay's worker writes it. */
const header = (exportId: string, details: string): string => `{\n      "export_id": "${exportId}",\n      "details": ${details},\n      "logs": [\n    `;
const TRAILER = '\n        {"terminator": true}]\n      }';

/** Python's str() of a scalar of the item (what `"%s" % value` writes). */
function pyStr(v: PyJson | undefined): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  return pythonJsonDumps(v);
}

/** Python's truthiness of an item's value. */
const truthy = (v: PyJson | undefined): boolean =>
  !(
    v === undefined ||
    v === null ||
    v === false ||
    v === 0 ||
    v === '' ||
    (v instanceof PyFloat && v.value === 0) ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && !(v instanceof PyFloat) && !Array.isArray(v) && Object.keys(v).length === 0)
  );

/** `job_details[key]`: a missing key is Python's KeyError (the item fails and is retried). */
function need(job: Readonly<Record<string, PyJson | undefined>>, key: string): PyJson {
  const v = job[key];
  if (v === undefined) throw new Error(`KeyError: '${key}'`);
  return v;
}

async function* oneChunk(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

/** Quay's LogsIterationTimeout. */
class LogsIterationTimeout extends Error {}

/** A failed export (Quay's IOError): the upload was dropped and `failed` reported. */
class ExportFailed extends Error {}

export interface ExportDeps {
  readonly logs: ActionLogs;
  readonly storage: StorageDriver;
  readonly settings: ExportSettings;
  readonly log: Logger;
  /** Wall clock for the work and query limits (tests may pass their own). */
  readonly clock?: () => number;
  /** The HTTP client (tests may pass their own); default global fetch. */
  readonly fetch?: typeof fetch;
  /** The SSRF check's resolver (tests may pass their own). */
  readonly resolve?: (host: string) => Promise<string[]>;
}

/** The work of one `exportactionlogs` queue item. */
export function exportJob(d: ExportDeps): (job: Record<string, unknown>) => Promise<void> {
  const clock = d.clock ?? (() => performance.now());
  const doFetch = d.fetch ?? fetch;
  const s = d.settings;

  /** _report_results: the callback URL, then the e-mail. */
  async function report(job: Readonly<Record<string, PyJson | undefined>>, status: ExportStatus, url: string | null = null): Promise<void> {
    const exportId = job.export_id;
    d.log.info('export result', { export_id: pyStr(exportId), status, exported_data_url: url });
    if (truthy(job.callback_url)) {
      const target = typeof job.callback_url === 'string' ? job.callback_url : '';
      const refusal = target ? ((await ssrfRefusal(target, s.ssrfAllowedHosts, d.resolve))?.message ?? null) : 'External registry URL is required';
      if (refusal !== null) {
        d.log.warn('callback URL refused by the SSRF check: not called', { export_id: pyStr(exportId), reason: refusal });
      } else {
        const body = pythonJsonDumps({
          export_id: need(job, 'export_id'),
          start_time: need(job, 'start_time'),
          end_time: need(job, 'end_time'),
          namespace: need(job, 'namespace_name'),
          repository: need(job, 'repository_name'),
          exported_data_url: url,
          status,
        });
        const resp = await doFetch(target.trim(), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(s.callbackTimeoutMs),
        });
        await resp.arrayBuffer().catch(() => undefined);
        if (resp.status !== 200) {
          d.log.error('callback URL answered other than 200', { export_id: pyStr(exportId), status_code: resp.status });
          throw new Error('Got non-200 for batch logs reporting; retrying later');
        }
      }
    }
    if (truthy(job.callback_email)) {
      if (s.mailSuppressed) d.log.info('export e-mail not sent: mail is suppressed (MAIL_SUPPRESS_SEND / TESTING)', { export_id: pyStr(exportId) });
      else throw new Error('the export e-mail cannot be sent: the TS side sends no mail (Quay fails the same way when it cannot reach a mail server)');
    }
  }

  /** yield_logs_for_export: the windows, each read as Quay reads it. */
  async function* batches(start: number, end: number, repositoryId: PyJson, namespaceId: PyJson): AsyncGenerator<ExportLogRow[]> {
    const isId = (v: PyJson): v is number | null => v === null || (typeof v === 'number' && Number.isInteger(v));
    if (!isId(namespaceId) || !isId(repositoryId)) throw new Error('AssertionError: namespace_id and repository_id must be integers or null');
    const began = clock();
    let from = start;
    let size = FIRST_WINDOW_MS;
    while (from < end) {
      if (clock() - began > s.maxQueryMs) throw new LogsIterationTimeout();
      const to = Math.min(from + size, end);
      const t0 = clock();
      const rows = await d.logs.exportBatch({ start: logTimeParam(from), end: logTimeParam(to), repositoryId, accountId: repositoryId === null ? namespaceId : null });
      for (const r of rows) {
        if (namespaceId !== null && r.accountId !== namespaceId) throw new Error(`AssertionError: Expected ${namespaceId}, Found: ${r.accountId}`);
        if (repositoryId !== null && r.repositoryId !== repositoryId) throw new Error('AssertionError: a log of another repository');
      }
      if (clock() - t0 > s.maxQueryMs) throw new LogsIterationTimeout();
      yield rows;
      from = to;
      if (rows.length < EXPECTED_BATCH) size = Math.min(MAX_WINDOW_MS, size * 2);
    }
  }

  return async (raw) => {
    const job = raw as Readonly<Record<string, PyJson | undefined>>;
    const exportId = need(job, 'export_id');
    const startText = need(job, 'start_time');
    const endText = need(job, 'end_time');
    if (typeof startText !== 'string' || typeof endText !== 'string') throw new Error('TypeError: start_time and end_time must be strings');
    const start = parseLogDate(startText);
    const parsedEnd = parseLogDate(endText);
    if (start === null || parsedEnd === null) {
      await report(job, 'invalidrequest');
      return;
    }
    const end = parsedEnd + DAY_MS - 1;
    const namespaceId = need(job, 'namespace_id');
    const repositoryId = need(job, 'repository_id');

    // A file key, so that the URL cannot be made from the export id alone.
    const filename = `${pyStr(exportId)}-${randomUUID()}`;
    const key = exportedLogsKey(s.storagePath, filename);
    const upload = uploadKey(randomUUID());
    await d.storage.createUpload(upload);
    let offset = 0;
    const write = async (text: string): Promise<void> => {
      const bytes = Buffer.from(text, 'utf8');
      offset += await d.storage.writeChunk(upload, oneChunk(bytes), { offset });
    };
    const fail = async (status: ExportStatus | null, why: string, cause?: unknown): Promise<never> => {
      await d.storage.delete(upload);
      if (status !== null) await report(job, status);
      await report(job, 'failed');
      throw new ExportFailed(why, { cause });
    };

    const details = pythonJsonDumps({ start_time: formatDate(start), end_time: formatDate(end), namespace: need(job, 'namespace_name'), repository: need(job, 'repository_name') });
    try {
      await write(header(pyStr(exportId), details));
    } catch (e) {
      return fail(null, `writing the export failed: ${(e as Error).message}`, e);
    }

    const kinds = await d.logs.kinds();
    const began = clock();
    let sawBatch = false;
    try {
      for await (const rows of batches(start, end, repositoryId, namespaceId)) {
        sawBatch = true;
        if (clock() - began > s.maxWorkMs) return await fail('timedout', 'the export took longer than EXPORT_ACTION_LOGS_MAXIMUM_SECONDS');
        if (rows.length > 0) await write(`${rows.map((r) => pythonJsonDumps(actionLogView(r, kinds))).join(',')},`);
      }
      await write(TRAILER);
      await d.storage.commit(upload, key);
    } catch (e) {
      if (e instanceof ExportFailed) throw e;
      // Quay reports `timedout` only for a timeout after the first batch: on the first one its
      // handler's own log line fails (work_elapsed is not set yet) and only `failed` is reported.
      if (e instanceof LogsIterationTimeout) return fail(sawBatch ? 'timedout' : null, 'reading the logs took longer than EXPORT_ACTION_LOGS_MAXIMUM_QUERY_TIME_SECONDS');
      d.log.error('exporting the logs failed', { export_id: pyStr(exportId), error: (e as Error).message });
      return fail(null, `exporting the logs failed: ${(e as Error).message}`, e);
    }

    await report(job, 'success', `${s.appUrl}/exportedlogs/${filename}`);
  };
}
