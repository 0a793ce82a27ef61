/**
 * A request to export action logs, as Quay's logs model queues it
 * (data/logs_model/shared.py queue_logs_export): one item on
 * `exportactionlogs/<namespace>/` with 3 retries, whose body Quay's
 * exportactionlogsworker reads:
 *
 *   {"export_id", "repository_id", "namespace_id", "namespace_name",
 *    "repository_name", "start_time", "end_time", "callback_url",
 *    "callback_email"}                      (dates as %m/%d/%Y)
 *
 * Written once for SQLite and PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import type { PortableSql } from '../model/portable-sql.js';
import { pythonJsonDumps } from '../../lib/python-json.js';
import { MARKED_FOR_DELETION } from './repositories.js';
import { WorkQueue } from './queue.js';

export interface LogsExportRequest {
  readonly namespace: string;
  readonly repository: string | null;
  /** Already formatted %m/%d/%Y, as the API computed them. */
  readonly startTime: string;
  readonly endTime: string;
  /** As the request gave them (an empty string stays one, as in Quay). */
  readonly callbackUrl: string | null;
  readonly callbackEmail: string | null;
}

/**
 * queue_logs_export: the export id, or null when the namespace (or the
 * repository) does not exist, as Quay returns None.
 */
export async function queueLogsExport(
  sql: PortableSql,
  r: LogsExportRequest,
  o: { readonly queueName: string; readonly now?: () => number; readonly exportId?: string },
): Promise<string | null> {
  const ns = await sql.one<{ id: number | string; username: string }>('SELECT id, username FROM "user" WHERE username = @name', { name: r.namespace });
  if (!ns) return null;
  let repo: { id: number | string; name: string } | null = null;
  if (r.repository !== null) {
    repo = await sql.one<{ id: number | string; name: string }>('SELECT id, name FROM repository WHERE namespace_user_id = @ns AND name = @name AND state <> @marked', {
      ns: Number(ns.id),
      name: r.repository,
      marked: MARKED_FOR_DELETION,
    });
    if (!repo) return null;
  }
  const exportId = o.exportId ?? randomUUID();
  const body = pythonJsonDumps({
    export_id: exportId,
    repository_id: repo ? Number(repo.id) : null,
    namespace_id: Number(ns.id),
    namespace_name: ns.username,
    repository_name: repo ? repo.name : null,
    start_time: r.startTime,
    end_time: r.endTime,
    callback_url: r.callbackUrl,
    callback_email: r.callbackEmail,
  });
  const queue = new WorkQueue(sql, o.queueName, { hasNamespace: true, ...(o.now ? { now: o.now } : {}) });
  await queue.put([r.namespace], body, { retries: 3 });
  return exportId;
}
