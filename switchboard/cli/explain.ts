/** `switchboard owners --explain [METHOD] PATH`: why a request goes where it goes. */
import { SwitchboardError } from '../errors.js';
import { decide } from '../core/decide.js';
import type { CanaryCheck, Decision, DecisionRequest, TraceEntry } from '../core/types.js';
import type { Owner } from '../config/schema.js';
import { args, configPath, json, loadSnapshot, table, type Io, EXIT_OK } from './common.js';
import { origin } from '../core/describe.js';
import { adminToken, localNote, serverGet } from './live.js';
import { loadInventory } from '../../owner-maps/index.js';
import { CONTROL_API_PREFIX } from '../control/legacy-prefix.js';

export const EXPLAIN_USAGE = `Usage: switchboard owners --explain [METHOD] PATH [options]

Shows which implementation owns a request and why: the matched route, every
switch level and which one won, canary selectors and bucket, the kill switch.

Options:
  --config FILE      config.yaml to read (default $SWITCHBOARD_CONFIG or ./config.yaml)
  --user NAME        the authenticated user, for ROUTE_CANARY_USERS and percent subjects
  --client-ip ADDR   the client address (percent subject of last resort)
  --pin OWNER        pretend the upload session in PATH is pinned to OWNER
  --json             print the decision as JSON
  --server URL       explain through a running switchboard (its admin listener,
                     e.g. http://127.0.0.1:9180): its snapshot, its environment,
                     its kill file
  --token-file FILE  the admin token for --server (default $SWITCHBOARD_ADMIN_TOKEN,
                     else the config's DASHBOARD.ADMIN_TOKEN_FILE)
  -h, --help         show this help

Without --server the file is read with this shell's environment; when a
switchboard runs on the same STATE_DIR and its snapshot differs (another digest,
its kill switch), a note on stderr says so.`;

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Accepts `/v2/...`, or a full URL an operator pasted from a log. */
function requestPath(raw: string): string {
  if (raw.startsWith('/')) return raw;
  const m = /^https?:\/\/[^/]+(\/.*)?$/.exec(raw);
  if (m) return m[1] ?? '/';
  throw new SwitchboardError('SWB_EXPLAIN_BAD_PATH', `"${raw}" is not a request path: give one starting with "/", e.g. /v2/org/repo/manifests/latest`);
}

function levelLine(e: TraceEntry): string[] {
  const mark = e.won ? '▶' : ' ';
  switch (e.level) {
    case 'kill_switch':
      return [mark, 'kill switch', e.key, String(e.value), origin(e.origin)];
    case 'upload_pin':
      return [mark, 'upload pin', `upload ${e.key}`, e.value, 'pin store'];
    case 'canary':
      return [mark, 'canary', e.key, e.value, e.selected_by ? `selected by ${e.selected_by}` : 'no selector matched'];
    default:
      return [mark, e.level, e.key, e.value ?? '(unset)', origin(e.origin)];
  }
}

function checkLine(c: CanaryCheck): string[] {
  const source = c.key ?? '(unset)';
  if (c.selector === 'percent') {
    const subject = c.subject === null ? 'no subject' : `${c.subject_kind} "${c.subject}"`;
    const value = c.value === null ? '—' : `${c.value}%`;
    const bucket = c.bucket === null || c.bucket === undefined ? '' : `bucket ${c.bucket.toFixed(2)}`;
    const verdict = c.value === null ? 'not set' : c.matched ? `in (bucket < ${c.value})` : `out (needs bucket < ${c.value})`;
    return [c.selector, value, source, `${subject} ${bucket}`.trim(), verdict];
  }
  const value = c.value === null ? '—' : `[${(c.value as readonly string[]).join(', ')}]`;
  const subject = c.subject === null ? 'none' : `"${c.subject}"`;
  return [c.selector, value, source, `subject ${subject}`, c.value === null ? 'not set' : c.matched ? 'match' : 'no match'];
}

export function renderExplain(d: Decision, req: DecisionRequest, ctx: { pattern: string | null; file: string; digest: string | null; allowed: string[] }): string {
  const lines: string[] = [];
  lines.push(`${req.method} ${req.path}`);
  lines.push('');
  const rows: string[][] = [];
  if (d.route_id) {
    rows.push(['route', `${d.route_id}  ${ctx.pattern ?? ''}${d.slash_redirect ? '  (matched with a trailing slash: the owner answers with a redirect)' : ''}`]);
  } else {
    rows.push(['route', `none: no inventory row matches ${req.method} on this path${ctx.allowed.length ? ` (the path exists for ${ctx.allowed.join(', ')})` : ''}`]);
  }
  rows.push(['family', d.family ?? '(none: no family prefix matches)']);
  rows.push(['capability', d.capability ?? '—']);
  const params = Object.entries(d.params)
    .map(([k, v]) => `${k}=${v}`)
    .join('  ');
  if (params) rows.push(['params', params]);
  lines.push(table(rows, '  '));
  lines.push('');
  lines.push('  switches (highest first; the first one set wins)');
  lines.push(table(d.trace.map(levelLine), '  '));
  if (d.canary) {
    lines.push('');
    lines.push(`  canary scope ${d.canary.scope} (scoped selectors override global ones)`);
    lines.push(table(d.canary.checks.map(checkLine), '    '));
  }
  lines.push('');
  lines.push(`  owner     ${d.owner}`);
  lines.push(`  reason    ${d.reason}`);
  lines.push(`  snapshot  version ${d.snapshot_version} from ${ctx.file}${ctx.digest ? ` (sha256 ${ctx.digest.slice(0, 12)})` : ''}`);
  return lines.join('\n');
}

export async function explainCommand(argv: string[], io: Io): Promise<number> {
  const a = args(
    argv,
    {
      explain: { type: 'boolean' },
      config: { type: 'string' },
      user: { type: 'string' },
      'client-ip': { type: 'string' },
      pin: { type: 'string' },
      json: { type: 'boolean' },
      server: { type: 'string' },
      'token-file': { type: 'string' },
    },
    EXPLAIN_USAGE,
  );
  if (a.values.help) {
    io.out(EXPLAIN_USAGE);
    return EXIT_OK;
  }
  const pos = a.positionals;
  let method = 'GET';
  let rawPath: string | undefined;
  if (pos.length === 2 && METHODS.has((pos[0] as string).toUpperCase())) {
    method = (pos[0] as string).toUpperCase();
    rawPath = pos[1];
  } else if (pos.length === 1) rawPath = pos[0];
  else if (pos.length === 2) throw new SwitchboardError('SWB_CLI_USAGE', `"${pos[0]}" is not an HTTP method (${[...METHODS].join(', ')})\n\n${EXPLAIN_USAGE}`);
  else throw new SwitchboardError('SWB_CLI_USAGE', `give one request: [METHOD] PATH\n\n${EXPLAIN_USAGE}`);
  const path = requestPath(rawPath as string);
  const pin = a.values.pin as string | undefined;
  if (pin !== undefined && pin !== 'python' && pin !== 'go') throw new SwitchboardError('SWB_CLI_USAGE', `--pin takes python or go, not "${pin}"`);
  const file = configPath(a.values.config as string | undefined, io);
  if (a.values.server)
    return explainRemote(
      a.values.server as string,
      a.values['token-file'] as string | undefined,
      file,
      { method, path, pin, user: a.values.user as string | undefined, clientIp: a.values['client-ip'] as string | undefined, json: a.values.json === true },
      io,
    );
  const { snapshot, stateDir } = loadSnapshot(file, io);
  const req: DecisionRequest = {
    method,
    path,
    user: a.values.user as string | undefined,
    clientAddress: a.values['client-ip'] as string | undefined,
    uploadPin: pin as Owner | undefined,
    explain: true,
  };
  const d = decide(snapshot, req);
  const route = d.route_id ? snapshot.owner_map.inventory.byId.get(d.route_id) : undefined;
  const allowed = d.route_id ? [] : snapshot.owner_map.table.allowedMethods(path);
  if (a.values.json) {
    json(io, {
      request: { method, path, user: req.user ?? null, client_ip: req.clientAddress ?? null },
      pattern: route?.pattern ?? null,
      allowed_methods: allowed,
      snapshot: { version: snapshot.version, file: snapshot.source.file, digest: snapshot.source.digest },
      decision: d,
    });
  } else {
    io.out(renderExplain(d, req, { pattern: route ? `${route.method} ${route.pattern}` : null, file: snapshot.source.file, digest: snapshot.source.digest, allowed }));
  }
  const note = await localNote(stateDir, snapshot);
  if (note) io.err(note);
  return EXIT_OK;
}

/** The same explanation, decided by a running switchboard on its own snapshot. */
async function explainRemote(
  server: string,
  tokenFile: string | undefined,
  file: string,
  q: { method: string; path: string; pin: string | undefined; user: string | undefined; clientIp: string | undefined; json: boolean },
  io: Io,
): Promise<number> {
  const token = adminToken({ tokenFile, env: io.env, cwd: io.cwd, configFile: file });
  const params = new URLSearchParams({ method: q.method, path: q.path });
  if (q.user) params.set('user', q.user);
  if (q.clientIp) params.set('client_ip', q.clientIp);
  if (q.pin) params.set('pin', q.pin);
  const d = (await serverGet(server, `${CONTROL_API_PREFIX}/explain?${params}`, token)) as Decision;
  const state = (await serverGet(server, `${CONTROL_API_PREFIX}/state`, token)) as { snapshot: { version: number; digest: string | null } };
  const route = d.route_id ? loadInventory().byId.get(d.route_id) : undefined;
  if (q.json) {
    json(io, {
      request: { method: q.method, path: q.path, user: q.user ?? null, client_ip: q.clientIp ?? null },
      pattern: route?.pattern ?? null,
      server,
      snapshot: state.snapshot,
      decision: d,
    });
    return EXIT_OK;
  }
  io.out(
    renderExplain(
      d,
      { method: q.method, path: q.path, ...(q.user ? { user: q.user } : {}) },
      {
        pattern: route ? `${route.method} ${route.pattern}` : null,
        file: `the switchboard at ${server}`,
        digest: state.snapshot.digest,
        allowed: [],
      },
    ),
  );
  return EXIT_OK;
}
