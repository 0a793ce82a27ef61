/**
 * The CLI and the running proxy: `owners --explain` and `owners list` read the
 * file with their own environment, which can disagree with what a running
 * `serve` has in force (another environment, a kill file, a newer snapshot).
 *
 * - `--server URL` (the admin listener) asks the running proxy instead:
 *   GET /control/v1/explain and /control/v1/state with the admin token
 *   (`--token-file F`, else $SWITCHBOARD_ADMIN_TOKEN, else the config's
 *   DASHBOARD.ADMIN_TOKEN_FILE).
 * - Without it, a `serve` running on the same STATE_DIR is found through
 *   STATE_DIR/switchboard.json and its /status compared with the local
 *   snapshot: a different digest or kill switch is said out loud. With
 *   SWITCHBOARD.ADMIN_STATUS_AUTH on, /status is read with the config's
 *   DASHBOARD.ADMIN_TOKEN_FILE.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { request } from 'undici';
import { RUNNING_FILE } from '../config/kill-switch.js';
import { parseConfig, type Env } from '../config/parse.js';
import { loadInventory } from '../../owner-maps/index.js';
import type { Snapshot } from '../core/snapshot.js';
import { SwitchboardError } from '../errors.js';

export interface LiveStatus {
  readonly admin: string;
  readonly pid: number | null;
  readonly version: number;
  readonly digest: string | null;
  readonly kill_switch: boolean;
}

async function getJson(url: string, headers: Record<string, string>, timeoutMs: number, post?: unknown): Promise<{ status: number; body: any }> {
  const r = await request(
    url,
    post === undefined
      ? { method: 'GET', headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs }
      : { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(post), headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
  );
  const text = await r.body.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = { error: text.slice(0, 200) };
  }
  return { status: r.statusCode, body };
}

/** The running serve on this STATE_DIR, if its record names a live process. */
export function runningServe(stateDir: string): { admin: string; pid: number } | null {
  let rec: { pid?: unknown; admin?: unknown };
  try {
    rec = JSON.parse(readFileSync(join(stateDir, RUNNING_FILE), 'utf8')) as typeof rec;
  } catch {
    return null;
  }
  if (typeof rec.pid !== 'number' || typeof rec.admin !== 'string') return null;
  // EPERM: the process exists, under another user (serve's), which is the usual case for an operator's shell.
  try {
    process.kill(rec.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  return { admin: rec.admin, pid: rec.pid };
}

/** /status of a running proxy (with the admin token when given); null when it does not answer within the timeout, or refuses. */
export async function liveStatus(admin: string, pid: number | null, timeoutMs = 1000, token: string | null = null): Promise<LiveStatus | null> {
  try {
    const r = await getJson(new URL('/status', admin).href, token ? { authorization: `Bearer ${token}` } : {}, timeoutMs);
    if (r.status !== 200) return null;
    const s = r.body.snapshot as { version: number; digest: string | null; kill_switch: boolean };
    return { admin, pid, version: s.version, digest: s.digest, kill_switch: s.kill_switch };
  } catch {
    return null;
  }
}

/** A line saying how the running proxy differs from the local snapshot, or null when they agree. */
export function disagreement(local: Snapshot, live: LiveStatus): string | null {
  const diffs: string[] = [];
  if (live.digest !== local.source.digest) diffs.push(`its config digest ${String(live.digest).slice(0, 12)} differs from this file's ${String(local.source.digest).slice(0, 12)}`);
  if (live.kill_switch !== local.owner_map.forcePython.value)
    diffs.push(`its kill switch is ${live.kill_switch ? 'ON' : 'off'} (here: ${local.owner_map.forcePython.value ? 'ON' : 'off'})`);
  if (diffs.length === 0) return null;
  return `note: the running switchboard${live.pid ? ` (pid ${live.pid}` : ' ('}, snapshot v${live.version}) disagrees: ${diffs.join('; ')} — add --server ${live.admin} to explain through it`;
}

/** The note for a local answer: asks the serve running on this config's STATE_DIR, if any. */
export async function localNote(stateDir: string, local: Snapshot): Promise<string | null> {
  const run = runningServe(stateDir);
  if (!run) return null;
  const auth = local.settings.ADMIN_STATUS_AUTH;
  const token = auth ? statusToken(local) : null;
  if (auth && !token) {
    return `note: a switchboard is running (pid ${run.pid}) and its /status needs the admin token (SWITCHBOARD.ADMIN_STATUS_AUTH), which cannot be read here — add --server ${run.admin} --token-file FILE to explain through it`;
  }
  const live = await liveStatus(run.admin, run.pid, 1000, token);
  return live ? disagreement(local, live) : null;
}

/** The config's admin token (DASHBOARD.ADMIN_TOKEN_FILE, beside the config file), or null when there is none or it cannot be read. */
function statusToken(local: Snapshot): string | null {
  const f = local.settings.DASHBOARD?.ADMIN_TOKEN_FILE;
  if (!f) return null;
  try {
    return readToken(resolve(dirname(local.source.file), f));
  } catch {
    return null;
  }
}

/** The admin token for --server: --token-file, $SWITCHBOARD_ADMIN_TOKEN, else the config's DASHBOARD.ADMIN_TOKEN_FILE. */
export function adminToken(o: { tokenFile?: string | undefined; env: Env; cwd: string; configFile: string }): string {
  if (o.tokenFile) return readToken(resolve(o.cwd, o.tokenFile));
  const fromEnv = o.env.SWITCHBOARD_ADMIN_TOKEN;
  if (fromEnv && fromEnv.trim()) return fromEnv.trim();
  const fromConfig = configTokenFile(o.configFile);
  if (fromConfig) return readToken(resolve(dirname(o.configFile), fromConfig));
  throw new SwitchboardError('SWB_CLI_USAGE', '--server needs the admin token: --token-file FILE or $SWITCHBOARD_ADMIN_TOKEN');
}

/** DASHBOARD.ADMIN_TOKEN_FILE of the config, when it parses. */
function configTokenFile(file: string): string | undefined {
  try {
    const r = parseConfig(readFileSync(file, 'utf8'), file, loadInventory(), {});
    return r.ok ? r.config.settings.DASHBOARD?.ADMIN_TOKEN_FILE : undefined;
  } catch {
    return undefined;
  }
}

function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new SwitchboardError('SWB_CLI_USAGE', `cannot read the admin token file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  // Never quote the file: it is a secret, or the wrong file.
  if (!/^[\x21-\x7e]+$/.test(text)) throw new SwitchboardError('SWB_CLI_USAGE', `${file} does not hold one admin token (one line of printable characters)`);
  return text;
}

/** GET a control-API path of a running proxy; errors are clear SWB_ errors, never a stack. */
export async function serverGet(server: string, path: string, token: string): Promise<any> {
  let r: { status: number; body: any };
  try {
    r = await getJson(new URL(path, server).href, { authorization: `Bearer ${token}` }, 5000);
  } catch (e) {
    throw new SwitchboardError('SWB_CLI_USAGE', `cannot reach the switchboard at ${server}: ${(e as Error).message}`);
  }
  if (r.status === 401) throw new SwitchboardError('SWB_CLI_USAGE', `${server} refused the admin token (401)`);
  if (r.status === 503) throw new SwitchboardError('SWB_CLI_USAGE', `${server}: ${r.body?.error ?? 'the control API is off'}`);
  // A release before the control API moved from /api/v1 answers the new path with its listener's 404, which names the old one.
  if (r.status === 404 && String(r.body?.error ?? '').includes('/api/v1/state')) {
    throw new SwitchboardError('SWB_CLI_USAGE', `${server} serves the control API under /api/v1 only (an older release): upgrade it, or use the CLI of its release`);
  }
  if (r.status !== 200) throw new SwitchboardError('SWB_CLI_USAGE', `${server}${path}: ${r.status} ${r.body?.error ?? ''}`.trim());
  return r.body;
}

/**
 * POST JSON to a control-API path of a running proxy. A refusal is a SWB_ error with the
 * proxy's message, keeping SWB_GATE_COOLDOWN (the one a caller tells apart); others as usage errors.
 */
export async function serverPost(server: string, path: string, token: string, body: unknown): Promise<any> {
  let r: { status: number; body: any };
  try {
    r = await getJson(new URL(path, server).href, { authorization: `Bearer ${token}` }, 5000, body);
  } catch (e) {
    throw new SwitchboardError('SWB_CLI_USAGE', `cannot reach the switchboard at ${server}: ${(e as Error).message}`);
  }
  if (r.status !== 200) throw new SwitchboardError(r.body?.code === 'SWB_GATE_COOLDOWN' ? 'SWB_GATE_COOLDOWN' : 'SWB_CLI_USAGE', `${r.body?.error ?? r.status}`);
  return r.body;
}
