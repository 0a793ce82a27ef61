/**
 * endpoints/api log_action for /api/v1 writes: one `logentry3` row through
 * the data tier's action-log writer (the one the registry uses), as Quay
 * fills it:
 *
 *   account     the namespace named (Quay's User.get by username: a name
 *               that does not exist fails the call, a 500 as in Quay)
 *   performer   the signed-in user; repository  the one given, if any
 *   ip          the request's remote address after Werkzeug's ProxyFix
 *               (PROXY_COUNT 1: the last X-Forwarded-For entry), else the peer
 *   metadata    as given, then, for an OAuth token, oauth_token_id,
 *               oauth_token_application_id and oauth_token_application
 *
 * The registry writes its rows through the same data-tier writer
 * (registryd/service/activity.ts) with the same two config keys.
 */
import type { IncomingMessage } from 'node:http';
import type { PyJson } from '../../lib/python-json.js';
import { pythonJsonDumps } from '../../lib/python-json.js';
import type { ApiCall } from './context.js';

/** request.remote_addr behind Quay's ProxyFix (one proxy): the last X-Forwarded-For entry, else the socket's peer. */
export function requestIp(req: IncomingMessage): string | null {
  const xff = req.headers['x-forwarded-for'];
  const last = typeof xff === 'string' ? xff.split(',').pop()!.trim() : '';
  const addr = last || req.socket.remoteAddress || '';
  const v4 = addr.toLowerCase().startsWith('::ffff:') ? addr.slice(7) : addr;
  return v4 || null;
}

/** A namespace that does not exist: Quay's log_action raises User.DoesNotExist (a 500). */
export class NoSuchLogAccount extends Error {
  constructor(readonly namespace: string) {
    super(`no user or organisation named ${namespace} to log against`);
    this.name = 'NoSuchLogAccount';
  }
}

/** A config key holding namespaces: a list's items, or a mapping's keys (Python's `in` on either). */
function names(v: unknown): readonly string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return v !== null && typeof v === 'object' ? Object.keys(v) : [];
}

/**
 * log_action(kind, namespace, metadata, repo=…): resolved once the row is
 * written. None for a namespace in DISABLED_FOR_AUDIT_LOGS (Quay's
 * should_skip_logging); with ALLOW_WITHOUT_STRICT_LOGGING a failed write is
 * logged and the call goes on, as Quay's log model does.
 */
export async function logAction(c: ApiCall, kind: string, namespace: string, metadata: Record<string, PyJson>, o: { readonly repositoryId?: number | null } = {}): Promise<void> {
  const keys = c.svc.settings.keys;
  if (names(keys.DISABLED_FOR_AUDIT_LOGS).includes(namespace)) return;
  try {
    await writeRow(c, kind, namespace, metadata, o.repositoryId ?? null);
  } catch (e) {
    if (keys.ALLOW_WITHOUT_STRICT_LOGGING !== true || e instanceof NoSuchLogAccount) throw e;
    c.svc.log.error('api: action log write failed', { kind, namespace, err: String(e) });
  }
}

async function writeRow(c: ApiCall, kind: string, namespace: string, metadata: Record<string, PyJson>, repositoryId: number | null): Promise<void> {
  const meta: Record<string, PyJson> = { ...metadata };
  const token = c.caller.via === 'oauth' ? c.caller.token : null;
  if (token) {
    const app = await c.svc.sql.one<{ client_id: string; name: string }>('SELECT client_id, name FROM oauthapplication WHERE id = @id', { id: token.applicationId });
    meta.oauth_token_id = token.id;
    meta.oauth_token_application_id = app?.client_id ?? null;
    meta.oauth_token_application = app?.name ?? null;
  }
  const account = await c.svc.sql.one<{ id: number | string }>('SELECT id FROM "user" WHERE username = @name', { name: namespace });
  if (!account) throw new NoSuchLogAccount(namespace);
  await c.svc.dal.logs.logAction({
    kind,
    accountId: Number(account.id),
    performerId: c.caller.user?.id ?? null,
    repositoryId,
    ip: requestIp(c.req),
    metadataJson: pythonJsonDumps(meta),
    nowMs: c.svc.now(),
  });
}
