/**
 * The dashboard and the JSON control API, on the admin listener.
 *
 *   /dashboard                      families and capabilities: owner, canary, selectors, route
 *                                   counts; live figures per owner; snapshot version, age, last
 *                                   reload error; the kill switch
 *   /dashboard/capability/<CAP>     its routes, its actions, a decision trace for a typed request
 *   /dashboard/history              the audit log
 *   POST /dashboard/preview         an action → the keys it changes and the routes that change owner
 *   POST /dashboard/apply           writes it (compare-and-swap on the snapshot version), audits it
 *   /api/v1/...                     the same as JSON for scripts (README: "Control API")
 *
 * Every page needs a login; changes need the operator role; forms carry the
 * session's CSRF token. Nothing from the SWITCHBOARD section (upstream URLs,
 * Redis) or the rest of config.yaml is shown: only MIGRATION switches.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Inventory } from '../../owner-maps/index.js';
import type { FileSnapshotProvider } from '../config/provider.js';
import { isSwitchEnvName, SELECTORS, canaryKey, ownerKey } from '../config/keys.js';
import type { Env } from '../config/parse.js';
import { decide } from '../core/decide.js';
import type { Snapshot } from '../core/snapshot.js';
import type { TraceEntry } from '../core/types.js';
import { isSwitchboardError, SwitchboardError } from '../errors.js';
import { summarize, type PlanSummary } from '../cli/describe.js';
import type { Logger } from '../log.js';
import { actionFrom, effectivePercent, nextStep, planAction, RAMP_STEPS, switchValue, type Action } from './actions.js';
import type { DashboardAuth, Principal } from './auth.js';
import type { LiveStats } from './stats.js';
import { commitWrite, InvalidResultError, planWrite, readAudit, type SwitchChange, type WritePlan } from './switches.js';
import { previewKill, setKillSwitch } from './kill.js';
import { killFilePath } from '../config/kill-switch.js';

export interface ControlDeps {
  readonly provider: Pick<FileSnapshotProvider, 'current' | 'stats' | 'reload'>;
  readonly inventory: Inventory;
  readonly file: string;
  readonly env: Env;
  readonly auth: DashboardAuth | null;
  readonly stats: LiveStats;
  readonly log: Logger;
  /** The switchboard's STATE_DIR: the kill switch's state file and the fallback audit log live there. */
  readonly stateDir: string;
}

const MAX_BODY = 64 * 1024;

function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

class BodyTooLarge extends Error {}

/** A change list that is the kill switch: true/false (on/off), null when it is not; mixed with other keys, refused. */
function killIn(changes: readonly SwitchChange[]): boolean | null {
  if (!Array.isArray(changes) || !changes.some((c) => c && typeof c === 'object' && c.key === 'MIGRATION_FORCE_PYTHON')) return null;
  if (changes.length !== 1) throw new SwitchboardError('SWB_CLI_USAGE', 'the kill switch (MIGRATION_FORCE_PYTHON) is changed on its own, not with other keys');
  const v = changes[0]!.value;
  if (v !== true && v !== false && v !== null) throw new SwitchboardError('SWB_CLI_USAGE', `MIGRATION_FORCE_PYTHON takes true, false or null, not ${JSON.stringify(v)}`);
  return v === true;
}

/** A value as an operator writes it: (unset), go, 25, [a, b] — never null or JSON quotes. */
export function fmt(v: unknown): string {
  if (v === null || v === undefined) return '(unset)';
  if (Array.isArray(v)) return `[${v.map((x) => String(x)).join(', ')}]`;
  return String(v);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    let over = false;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (over) return;
      if (size > MAX_BODY) { over = true; chunks.length = 0; return; }
      chunks.push(c);
    });
    // Read to the end (so the client gets the answer, not a reset), then refuse.
    req.on('end', () => (over ? reject(new BodyTooLarge(`request body over ${MAX_BODY / 1024} KiB`)) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

async function fields(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  const type = String(req.headers['content-type'] ?? '');
  if (type.startsWith('application/json')) {
    try {
      const v = JSON.parse(text || '{}') as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch { /* below */ }
    throw new SwitchboardError('SWB_CLI_USAGE', 'the body is not a JSON object');
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/** Who owns what, per family and capability. */
export function ownership(s: Snapshot): { family: string; switch: unknown; capabilities: { capability: string; routes: number; owner: PlanSummary; switch: unknown; by_owner: Record<string, number> }[] }[] {
  const inv = s.owner_map.inventory;
  return inv.families.map((family) => {
    const caps = new Map<string, { capability: string; routes: number; owner: PlanSummary; switch: unknown; by_owner: Record<string, number> }>();
    for (const r of inv.routes) {
      if (r.family !== family) continue;
      const sum = summarize(s, s.owner_map.routePlans[r.index]!);
      let c = caps.get(r.capability);
      if (!c) { c = { capability: r.capability, routes: 0, owner: sum, switch: switchValue(s, ownerKey('capability', r.capability)), by_owner: {} }; caps.set(r.capability, c); }
      c.routes++;
      c.by_owner[sum.owner] = (c.by_owner[sum.owner] ?? 0) + 1;
    }
    return { family, switch: switchValue(s, ownerKey('family', family)), capabilities: [...caps.values()] };
  }).filter((f) => f.capabilities.length > 0);
}

function snapshotInfo(s: Snapshot, d: ControlDeps): Record<string, unknown> {
  const st = d.provider.stats();
  return {
    version: s.version, updated_at: s.updated_at, age_seconds: Math.round((Date.now() - Date.parse(s.updated_at)) / 1000),
    digest: s.source.digest, hard_failure: s.hard_failure, kill_switch: s.owner_map.forcePython.value,
    kill_switch_from_environment: s.owner_map.forcePython.origin.source === 'env',
    last_reload_error: st.last_error ? { at: st.last_error.at, issues: st.last_error.issues.map((i) => `${i.line ? `line ${i.line}: ` : ''}${i.key ? `${i.key}: ` : ''}${i.message}`) } : null,
    reload_failures_total: st.reload_failures_total,
  };
}

/** A POST from a page of this listener (or from a script): no Origin, or the same host; never a cross-site fetch. */
function sameOrigin(req: IncomingMessage): boolean {
  if (req.headers['sec-fetch-site'] === 'cross-site') return false;
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || origin === 'null') return origin !== 'null';
  try { return new URL(origin).host === req.headers.host; } catch { return false; }
}

// ---------------------------------------------------------------- HTML

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center;flex-wrap:wrap}
header a{color:#cfe3ff;text-decoration:none}header .who{margin-left:auto}
main{padding:16px 20px;max-width:1280px}
table{border-collapse:collapse;background:#fff;margin:8px 0 18px;width:100%}
th,td{border:1px solid #dde1e7;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eef1f5}
.python{color:#2458a6;font-weight:600}.go{color:#0a7d3b;font-weight:600}.canary{color:#a05a00;font-weight:600}
.box{background:#fff;border:1px solid #dde1e7;padding:10px 14px;margin:10px 0}
.kill-on{background:#b3261e;color:#fff;padding:6px 12px}.err{color:#b3261e}
form.inline{display:inline-flex;gap:4px;margin:0 6px 0 0;align-items:center}
button{cursor:pointer}input[type=number]{width:5em}.muted{color:#6b7280}code{font-size:12px}`;

function page(title: string, who: Principal | null, s: Snapshot | null, body: string): string {
  const nav = who ? `<a href="/dashboard">Owners</a><a href="/dashboard/history">History</a>` : '';
  const snap = s ? `<span>snapshot <b id="snapshot-version">v${s.version}</b></span>${s.owner_map.forcePython.value ? '<span class="kill-on" id="kill-banner">KILL SWITCH ON: everything on python</span>' : ''}` : '';
  const user = who ? `<span class="who">${esc(who.name)} (${who.role}) <form class="inline" method="post" action="/dashboard/logout"><input type="hidden" name="csrf" value="${esc(who.csrf ?? '')}"><button>Log out</button></form></span>` : '';
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)} · Switchboard</title><style>${CSS}</style></head>
<body><header><b>Switchboard</b>${nav}${snap}${user}</header><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

function ownerCell(o: string, text: string): string {
  return `<span class="${esc(o)}">${esc(text)}</span>`;
}

function csrfInput(who: Principal): string {
  return `<input type="hidden" name="csrf" value="${esc(who.csrf ?? '')}">`;
}

function actionForms(who: Principal, scope: string, s: Snapshot): string {
  if (who.role !== 'operator') return '<span class="muted">read-only</span>';
  const next = nextStep(effectivePercent(s, scope));
  const f = (inner: string, label: string, extra = ''): string =>
    `<form class="inline" method="post" action="/dashboard/preview">${csrfInput(who)}<input type="hidden" name="scope" value="${esc(scope)}">${inner}<button ${extra}>${label}</button></form>`;
  return [
    f(`<input type="hidden" name="action" value="ramp"><input type="hidden" name="percent" value="next">`, `Ramp to ${next}%`, `data-test="ramp-next-${esc(scope)}"`),
    f(`<input type="hidden" name="action" value="ramp"><input type="number" name="percent" min="0" max="100" step="0.01" placeholder="%" aria-label="percent for ${esc(scope)}">`, 'Set %', `data-test="ramp-typed-${esc(scope)}"`),
    f(`<input type="hidden" name="action" value="owner"><select name="value" aria-label="owner for ${esc(scope)}"><option>python</option><option>go</option><option>canary</option><option>unset</option></select>`, 'Set owner'),
    f(`<input type="hidden" name="action" value="rollback">`, 'Roll back to python', `data-test="rollback-${esc(scope)}"`),
  ].join('');
}

function figuresTable(f: Awaited<ReturnType<LiveStats['figures']>>): string {
  const ms = (v: number | null): string => (v === null ? '—' : `${(v * 1000).toFixed(1)} ms`);
  return `<table id="live"><tr><th>owner</th><th>requests/s</th><th>error rate</th><th>p50</th><th>p99</th><th>requests</th></tr>${f.owners.map((o) =>
    `<tr><td>${ownerCell(o.owner, o.owner)}</td><td>${o.requests_per_second.toFixed(1)}</td><td>${(o.error_rate * 100).toFixed(2)}%</td><td>${ms(o.p50_seconds)}</td><td>${ms(o.p99_seconds)}</td><td>${o.requests}</td></tr>`).join('')}</table>
<p class="muted">over the last ${f.window_seconds} s, from the switchboard's own metrics</p>`;
}

function traceTable(trace: readonly TraceEntry[]): string {
  return `<table id="trace"><tr><th>level</th><th>key</th><th>value</th><th>won</th></tr>${trace.map((e) =>
    `<tr><td>${esc(e.level)}</td><td>${esc(e.key)}</td><td>${esc(JSON.stringify(e.value))}${'selected_by' in e && e.selected_by ? ` (by ${esc(e.selected_by)})` : ''}</td><td>${e.won ? '✔' : ''}</td></tr>`).join('')}</table>`;
}

// ---------------------------------------------------------------- the handler

export class ControlPlane {
  constructor(private readonly d: ControlDeps) {}

  /** Handles /dashboard… and /api/v1…; false for any other path. */
  handles(path: string): boolean {
    return path === '/dashboard' || path.startsWith('/dashboard/') || path.startsWith('/api/v1/');
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    const api = path.startsWith('/api/');
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, {
        'content-type': type, 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store',
        'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'same-origin',
        ...(type.startsWith('text/html') ? { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'" } : {}),
        ...headers,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const json = (status: number, v: unknown): void => send(status, 'application/json', JSON.stringify(v, null, 2) + '\n');
    const html = (status: number, body: string, headers: Record<string, string> = {}): void => send(status, 'text/html; charset=utf-8', body, headers);
    const redirect = (to: string, headers: Record<string, string> = {}): void => { res.writeHead(303, { location: to, 'cache-control': 'no-store', ...headers }); res.end(); };
    try {
      if (!this.d.auth) {
        const msg = 'the dashboard is off: set SWITCHBOARD.DASHBOARD.ADMIN_TOKEN_FILE or USERS_FILE (nobody may change switches anonymously)';
        if (api) json(503, { error: msg }); else html(503, page('Dashboard off', null, null, `<p>${esc(msg)}</p>`));
        return;
      }
      if (req.method === 'POST' && !sameOrigin(req)) {
        // Forms posted from another site (login CSRF included): refused whatever the cookie.
        if (api) json(403, { error: 'cross-site request refused' }); else html(403, page('Refused', null, null, '<p>A form from another site may not post here.</p>'));
        return;
      }
      if (path === '/dashboard/login') {
        if (req.method === 'POST') {
          const f = await fields(req);
          const name = String(f.name ?? '');
          const who = await this.d.auth.login(name, String(f.password ?? ''));
          if (!who) { this.d.log.warn('dashboard login refused', { user: this.d.auth.knows(name) ? name : '(unknown name)' }); html(401, this.loginPage('Wrong name or password.')); return; }
          this.d.log.info('dashboard login', { user: who.name, role: who.role });
          redirect('/dashboard', { 'set-cookie': `sb_session=${this.d.auth.session(who)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.round(this.d.auth.files.sessionHours * 3600)}` });
          return;
        }
        html(200, this.loginPage(null));
        return;
      }
      const who = await this.d.auth.identify(req.headers);
      if (!who) {
        if (api) json(401, { error: 'log in: Authorization: Bearer <admin token>, or Basic credentials of a dashboard user' });
        else redirect('/dashboard/login');
        return;
      }
      if (req.method === 'POST') {
        if (who.role !== 'operator' && path !== '/dashboard/logout' && path !== '/api/v1/plan') {
          if (api) json(403, { error: `${who.name} is read-only` }); else html(403, page('Not allowed', who, null, `<p>${esc(who.name)} is read-only.</p>`));
          return;
        }
      } else if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(405, 'text/plain', 'method not allowed\n');
        return;
      }
      if (api) await this.api(req, path, url, who, json);
      else await this.dashboard(req, path, url, who, html, redirect);
    } catch (e) {
      const status = e instanceof BodyTooLarge ? 413 : isSwitchboardError(e) ? (e.code === 'SWB_CONFIG_CONFLICT' ? 409 : 400) : 500;
      // Internal errors are logged, not shown: their text may quote files.
      if (status === 500) this.d.log.error('dashboard request failed', { path, error: (e as Error).message });
      const message = status === 500 ? 'internal error: see the switchboard log' : (e as Error).message;
      const issues = e instanceof InvalidResultError ? e.issues : undefined;
      if (res.headersSent) { res.destroy(); return; }
      if (api) json(status, { error: message, ...(isSwitchboardError(e) ? { code: e.code } : {}), ...(issues ? { issues } : {}) });
      else html(status, page(status === 409 ? 'Conflict' : 'Refused', null, this.d.provider.current(), `<p class="err" id="error">${esc(message)}</p><p><a href="/dashboard">Back to the owners</a></p>`));
    }
  }

  private loginPage(error: string | null): string {
    return page('Log in', null, null, `${error ? `<p class="err">${esc(error)}</p>` : ''}
<form method="post" action="/dashboard/login" class="box"><p><label>Name <input name="name" autocomplete="username"></label></p>
<p><label>Password or admin token <input name="password" type="password" autocomplete="current-password"></label></p><button>Log in</button></form>`);
  }

  private checkCsrf(who: Principal, f: Record<string, unknown>): void {
    if (who.via === 'session' && f.csrf !== who.csrf) throw new SwitchboardError('SWB_CLI_USAGE', 'the form is stale or forged (CSRF token mismatch): reload the page');
  }

  /** A plan for changes, refused when the snapshot moved on or the file no longer matches it. */
  private plan(changes: readonly SwitchChange[], expectedVersion: number | null): { plan: WritePlan; env_overrides: string[] } {
    const s = this.d.provider.current();
    if (expectedVersion !== null && expectedVersion !== s.version) {
      throw new SwitchboardError('SWB_CONFIG_CONFLICT', `the configuration changed since you looked (snapshot v${expectedVersion} → v${s.version}): nothing written; look again`);
    }
    const plan = planWrite(this.d.file, changes, this.d.inventory);
    if (expectedVersion !== null && s.source.digest !== null && plan.sha256_before !== s.source.digest) {
      throw new SwitchboardError('SWB_CONFIG_CONFLICT', `${this.d.file} was edited since snapshot v${s.version} was loaded: nothing written; wait for it to load and look again`);
    }
    const envOverrides = changes.map((c) => c.key).filter((k) => isSwitchEnvName(k) && (this.d.env[k] ?? '').trim() !== '');
    return { plan, env_overrides: envOverrides };
  }

  /** The kill switch on or off through its state file (kill.ts), audited; waits for the snapshot that carries it. */
  private async applyKill(on: boolean, who: Principal, reason: string | null, via: string): Promise<Record<string, unknown>> {
    if (!reason || !reason.trim()) throw new SwitchboardError('SWB_CLI_USAGE', 'say why (reason): it goes to the audit log');
    const before = this.d.provider.current().version;
    const r = setKillSwitch({ file: this.d.file, stateDir: this.d.stateDir, on, inventory: this.d.inventory, env: this.d.env, snapshotVersion: before, who: { actor: who.name, via, reason: reason.trim() } });
    await this.d.provider.reload(via);
    const version = this.d.provider.current().version;
    this.d.log.warn(on ? 'kill switch turned ON' : 'kill switch turned off', { actor: who.name, via, reason: reason.trim(), snapshot_version: version, kill_file: r.kill_file, changed: r.changed });
    return { snapshot_version: version, kill_switch: this.d.provider.current().owner_map.forcePython.value, ...r };
  }

  private killPreview(who: Principal, s: Snapshot, on: boolean): string {
    const p = previewKill(s, on, killFilePath(this.d.stateDir));
    const envOn = (this.d.env.MIGRATION_FORCE_PYTHON ?? '').trim() !== '';
    return `<div class="box" id="preview">
<p>Against snapshot <b>v${s.version}</b>. <b>Kill switch: ${esc(fmt(s.owner_map.forcePython.value ? 'on' : 'off'))} → ${on ? 'ON' : 'off'}</b> ${on ? '(the state file, which works whatever state config.yaml is in)' : ''}</p>
<p id="moving"><b>${p.diff.routes.length}</b> route${p.diff.routes.length === 1 ? '' : 's'} change owner.</p>
${!on && envOn ? '<p class="err">MIGRATION_FORCE_PYTHON is set in the switchboard\'s environment: it stays on until the process is restarted without it.</p>' : ''}
<form method="post" action="/dashboard/apply">${csrfInput(who)}<input type="hidden" name="kill" value="${on}">
<p><label>Why (for the audit log) <input name="reason" size="60" required></label></p><button id="apply" ${p.changes.length ? '' : 'disabled'}>Apply</button> <a href="/dashboard">Cancel</a></form></div>`;
  }

  /** Writes, audits, and waits for the new snapshot. */
  private async apply(changes: readonly SwitchChange[], expectedVersion: number, who: Principal, reason: string | null, via: string): Promise<{ version: number; entries: ReturnType<typeof commitWrite>; plan: WritePlan }> {
    if (!reason || !reason.trim()) throw new SwitchboardError('SWB_CLI_USAGE', 'say why (reason): it goes to the audit log');
    const { plan } = this.plan(changes, expectedVersion);
    const entries = commitWrite(plan, { actor: who.name, via, reason: reason.trim() });
    await this.d.provider.reload(via);
    const version = this.d.provider.current().version;
    this.d.log.info('switches changed', { actor: who.name, via, reason, keys: entries.map((e) => e.key), snapshot_version: version, routes_changing_owner: plan.diff.routes.length });
    return { version, entries, plan };
  }

  private async api(req: IncomingMessage, path: string, url: URL, who: Principal, json: (status: number, v: unknown) => void): Promise<void> {
    const s = this.d.provider.current();
    if (req.method === 'GET' && path === '/api/v1/state') {
      json(200, { snapshot: snapshotInfo(s, this.d), you: { name: who.name, role: who.role }, ramp_steps: RAMP_STEPS, families: ownership(s) });
      return;
    }
    if (req.method === 'GET' && path === '/api/v1/stats') { json(200, await this.d.stats.figures()); return; }
    if (req.method === 'GET' && path === '/api/v1/history') { json(200, { entries: readAudit(this.d.file, s.owner_map.config, this.d.stateDir).reverse() }); return; }
    if (req.method === 'GET' && path === '/api/v1/explain') {
      const p = url.searchParams.get('path');
      if (!p || !p.startsWith('/')) throw new SwitchboardError('SWB_EXPLAIN_BAD_PATH', 'give ?path=/v2/... (and optionally method, user)');
      json(200, decide(s, { method: (url.searchParams.get('method') ?? 'GET').toUpperCase(), path: p, user: url.searchParams.get('user') ?? undefined, explain: true }));
      return;
    }
    const cap = /^\/api\/v1\/capabilities\/([A-Z0-9_]+)$/.exec(path);
    if (req.method === 'GET' && cap) {
      const c = cap[1]!;
      if (!this.d.inventory.capabilities.includes(c)) { json(404, { error: `no capability ${c}` }); return; }
      json(200, { capability: c, routes: this.d.inventory.routes.filter((r) => r.capability === c).map((r) => ({ route_id: r.id, method: r.method, pattern: r.pattern, ...summarize(s, s.owner_map.routePlans[r.index]!) })) });
      return;
    }
    if (req.method === 'POST' && (path === '/api/v1/plan' || path === '/api/v1/apply')) {
      const f = await fields(req);
      // A browser session must show its CSRF token (header or field); tokens and Basic credentials are not ambient.
      this.checkCsrf(who, { csrf: req.headers['x-csrf-token'] ?? f.csrf });
      const changes = Array.isArray(f.changes) ? (f.changes as SwitchChange[]) : planAction(actionFrom(f), s);
      const kill = killIn(changes);
      if (kill !== null) {
        // The kill switch is its own path: the state file, no compare-and-swap, whatever state config.yaml is in.
        if (path === '/api/v1/plan') {
          const p = previewKill(s, kill, killFilePath(this.d.stateDir));
          json(200, { snapshot_version: s.version, changes: p.changes, routes_changing_owner: p.diff.routes, kill_switch: p.diff.kill_switch, env_overrides: [], warnings: [] });
          return;
        }
        const r = await this.applyKill(kill, who, typeof f.reason === 'string' ? f.reason : null, 'api');
        json(200, r);
        return;
      }
      if (path === '/api/v1/plan') {
        const { plan, env_overrides } = this.plan(changes, null);
        json(200, { snapshot_version: s.version, changes: plan.changes, routes_changing_owner: plan.diff.routes, kill_switch: plan.diff.kill_switch, env_overrides, warnings: plan.warnings });
        return;
      }
      if (typeof f.expected_version !== 'number') throw new SwitchboardError('SWB_CLI_USAGE', 'give expected_version: the snapshot version your plan was made against (compare-and-swap)');
      const r = await this.apply(changes, f.expected_version, who, typeof f.reason === 'string' ? f.reason : null, 'api');
      json(200, { snapshot_version: r.version, audit: r.entries, routes_changing_owner: r.plan.diff.routes.length });
      return;
    }
    json(404, { error: 'not found: GET state, stats, history, explain, capabilities/<CAP>; POST plan, apply' });
  }

  private async dashboard(req: IncomingMessage, path: string, url: URL, who: Principal,
    html: (status: number, body: string, headers?: Record<string, string>) => void, redirect: (to: string, headers?: Record<string, string>) => void): Promise<void> {
    const s = this.d.provider.current();
    if (req.method === 'POST' && path === '/dashboard/logout') {
      this.checkCsrf(who, await fields(req));
      this.d.auth!.logout(typeof req.headers.cookie === 'string' ? req.headers.cookie : undefined);
      redirect('/dashboard/login', { 'set-cookie': 'sb_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0' });
      return;
    }
    if (req.method === 'POST' && path === '/dashboard/preview') {
      const f = await fields(req);
      this.checkCsrf(who, f);
      const action: Action = actionFrom(f);
      if (action.action === 'kill') { html(200, page('Preview', who, s, this.killPreview(who, s, action.on))); return; }
      const changes = planAction(action, s);
      const { plan, env_overrides } = this.plan(changes, null);
      const rows = plan.diff.routes.map((r) => `<tr><td>${esc(r.route_id)}</td><td>${esc(r.method)}</td><td><code>${esc(r.pattern)}</code></td><td>${esc(r.capability)}</td><td>${ownerCell(r.before.owner, r.before.text)} → ${ownerCell(r.after.owner, r.after.text)}</td></tr>`).join('');
      html(200, page('Preview', who, s, `<div class="box" id="preview">
<p>Against snapshot <b>v${s.version}</b>. These keys of <code>MIGRATION</code> change:</p>
<table id="changes"><tr><th>key</th><th>now</th><th>after</th></tr>${plan.changes.map((c) => `<tr><td><code>${esc(c.key)}</code></td><td>${esc(JSON.stringify(c.old))}</td><td>${esc(JSON.stringify(c.new))}</td></tr>`).join('') || '<tr><td colspan="3">nothing: already so</td></tr>'}</table>
${plan.diff.kill_switch.before !== plan.diff.kill_switch.after ? `<p><b>Kill switch: ${plan.diff.kill_switch.before} → ${plan.diff.kill_switch.after}</b></p>` : ''}
<p id="moving"><b>${plan.diff.routes.length}</b> route${plan.diff.routes.length === 1 ? '' : 's'} change owner:</p>
<table id="routes"><tr><th>route</th><th>method</th><th>pattern</th><th>capability</th><th>owner</th></tr>${rows}</table>
${env_overrides.length ? `<p class="err">The environment overrides ${env_overrides.map(esc).join(', ')}: the file change will not take effect while it is set.</p>` : ''}
${plan.warnings.length ? `<ul class="err" id="warnings">${plan.warnings.map((w) => `<li>Warning: ${esc(w.message)}</li>`).join('')}</ul>` : ''}
<form method="post" action="/dashboard/apply">${csrfInput(who)}<input type="hidden" name="changes" value="${esc(JSON.stringify(changes))}"><input type="hidden" name="expected_version" value="${s.version}">
<p><label>Why (for the audit log) <input name="reason" size="60" required></label></p><button id="apply" ${plan.changes.length ? '' : 'disabled'}>Apply</button> <a href="/dashboard">Cancel</a></form></div>`));
      return;
    }
    if (req.method === 'POST' && path === '/dashboard/apply') {
      const f = await fields(req);
      this.checkCsrf(who, f);
      if (f.kill === 'true' || f.kill === 'false') {
        const r = await this.applyKill(f.kill === 'true', who, typeof f.reason === 'string' ? f.reason : null, 'dashboard');
        redirect(`/dashboard?applied=${r.snapshot_version}`);
        return;
      }
      let changes: SwitchChange[];
      try { changes = JSON.parse(String(f.changes ?? '')) as SwitchChange[]; } catch { throw new SwitchboardError('SWB_CLI_USAGE', 'the form lost its changes: preview again'); }
      const r = await this.apply(changes, Number(f.expected_version), who, typeof f.reason === 'string' ? f.reason : null, 'dashboard');
      redirect(`/dashboard?applied=${r.version}`);
      return;
    }
    if (path === '/dashboard' || path === '/dashboard/') {
      const info = snapshotInfo(s, this.d);
      const applied = url.searchParams.get('applied');
      const err = info.last_reload_error as { at: string; issues: string[] } | null;
      const kill = s.owner_map.forcePython.value;
      const killForm = who.role === 'operator' ? `<form class="inline" method="post" action="/dashboard/preview">${csrfInput(who)}<input type="hidden" name="action" value="kill"><input type="hidden" name="on" value="${kill ? 'false' : 'true'}"><button id="kill-switch">${kill ? 'Turn the kill switch off' : 'KILL SWITCH: everything to python'}</button></form>` : '';
      const fams = ownership(s).map((f) => `<tr id="family-${esc(f.family)}"><th colspan="5">${esc(f.family)} <span class="muted">family switch: ${esc(JSON.stringify(f.switch))}</span></th><th>${actionForms(who, `FAMILY_${f.family}`, s)}</th></tr>${f.capabilities.map((c) => {
        const scope = `CAP_${c.capability}`;
        const sel = SELECTORS.map((x) => [x, switchValue(s, canaryKey(scope, x))] as const).filter(([, v]) => v !== null);
        return `<tr id="cap-${esc(c.capability)}"><td><a href="/dashboard/capability/${esc(c.capability)}">${esc(c.capability)}</a></td><td>${ownerCell(c.owner.owner, c.owner.text)}</td><td>${esc(c.owner.set_by)}</td><td>${sel.map(([x, v]) => `${x}: ${esc(JSON.stringify(v))}`).join('<br>')}</td><td>${c.routes} (${Object.entries(c.by_owner).map(([o, n]) => `${n} ${o}`).join(', ')})</td><td>${actionForms(who, scope, s)}</td></tr>`;
      }).join('')}`).join('');
      html(200, page('Owners', who, s, `${applied ? `<p class="box" id="applied">Applied: snapshot <b>v${esc(applied)}</b> is in force.</p>` : ''}
<div class="box"><p>Snapshot <b>v${s.version}</b>, loaded ${esc(s.updated_at)} (${info.age_seconds} s ago), sha256 <code>${esc(String(s.source.digest ?? '').slice(0, 12))}</code>${s.hard_failure ? ' — <b class="err">no valid config ever loaded: everything on python</b>' : ''}</p>
<p>Last reload error: ${err ? `<span class="err" id="reload-error">${esc(err.at)}: ${err.issues.map(esc).join('; ')}</span>` : '<span id="reload-error">none</span>'}</p>
<p>Kill switch: <b>${kill ? 'ON' : 'off'}</b>${info.kill_switch_from_environment ? ' (from the environment: the dashboard cannot turn it off)' : ''} ${killForm}</p></div>
<h2>Live, per owner</h2>${figuresTable(await this.d.stats.figures())}
<h2>Families and capabilities</h2><table id="owners"><tr><th>capability</th><th>owner</th><th>set by</th><th>canary selectors (scoped)</th><th>routes</th><th>actions</th></tr>${fams}</table>`));
      return;
    }
    const capm = /^\/dashboard\/capability\/([A-Z0-9_]+)$/.exec(path);
    if (capm && this.d.inventory.capabilities.includes(capm[1]!)) {
      const c = capm[1]!;
      const scope = `CAP_${c}`;
      const routes = this.d.inventory.routes.filter((r) => r.capability === c);
      const m = url.searchParams.get('method') ?? 'GET';
      const p = url.searchParams.get('path');
      const user = url.searchParams.get('user') ?? '';
      let trace = '';
      if (p) {
        if (!p.startsWith('/')) trace = '<p class="err">a request path starts with /</p>';
        else {
          const dec = decide(s, { method: m.toUpperCase(), path: p, user: user || undefined, explain: true });
          trace = `<p id="decision">${esc(m.toUpperCase())} ${esc(p)} → ${ownerCell(dec.owner, dec.owner)} (${esc(dec.reason)}, ${esc(dec.route_id ?? 'no row')}, snapshot v${dec.snapshot_version})</p>${traceTable(dec.trace)}${dec.canary ? `<table><tr><th>selector</th><th>key</th><th>subject</th><th>matched</th></tr>${dec.canary.checks.map((k) => `<tr><td>${esc(k.selector)}</td><td>${esc(k.key ?? '')}</td><td>${esc(k.subject ?? '')}${k.bucket !== undefined && k.bucket !== null ? ` (bucket ${k.bucket})` : ''}</td><td>${k.matched ? '✔' : ''}</td></tr>`).join('')}</table>` : ''}`;
        }
      }
      const lists = who.role === 'operator' ? (['orgs', 'repos', 'users'] as const).map((sel) => {
        const v = switchValue(s, canaryKey(scope, sel)) as string[] | null;
        return `<form class="inline" method="post" action="/dashboard/preview">${csrfInput(who)}<input type="hidden" name="action" value="lists"><input type="hidden" name="scope" value="${esc(scope)}"><input type="hidden" name="selector" value="${sel}"><label>${sel} <input name="values" size="30" value="${esc((v ?? []).join(', '))}"></label><button>Preview</button></form>`;
      }).join('<br>') : '';
      html(200, page(c, who, s, `<p>${actionForms(who, scope, s)}</p>${lists ? `<div class="box"><p>Canary lists of ${esc(scope)} (comma separated; empty removes):</p>${lists}</div>` : ''}
<h2>Routes</h2><table id="cap-routes"><tr><th>route</th><th>method</th><th>pattern</th><th>owner</th><th>set by</th><th>route switch</th></tr>${routes.map((r) => {
        const sum = summarize(s, s.owner_map.routePlans[r.index]!);
        const own = who.role === 'operator' ? `<form class="inline" method="post" action="/dashboard/preview">${csrfInput(who)}<input type="hidden" name="action" value="owner"><input type="hidden" name="scope" value="${esc(r.id)}"><select name="value" aria-label="owner for ${esc(r.id)}"><option>unset</option><option>python</option><option>go</option><option>canary</option></select><button>Set</button></form>` : '';
        return `<tr><td>${esc(r.id)}</td><td>${esc(r.method)}</td><td><code>${esc(r.pattern)}</code></td><td>${ownerCell(sum.owner, sum.text)}</td><td>${esc(sum.set_by)}</td><td>${own}</td></tr>`;
      }).join('')}</table>
<h2>Decision trace</h2><form method="get" class="box"><label>Method <input name="method" value="${esc(m)}" size="7"></label> <label>Path <input name="path" size="60" value="${esc(p ?? '')}"></label> <label>User <input name="user" value="${esc(user)}"></label> <button id="explain">Explain</button></form>${trace}`));
      return;
    }
    if (path === '/dashboard/history') {
      const entries = readAudit(this.d.file, s.owner_map.config, this.d.stateDir).reverse();
      html(200, page('History', who, s, `<table id="history"><tr><th>when</th><th>who</th><th>via</th><th>key</th><th>old → new</th><th>why</th><th>routes moved</th></tr>${entries.map((e) =>
        `<tr><td>${esc(e.time)}</td><td>${esc(e.actor)}</td><td>${esc(e.via ?? 'cli')}</td><td><code>${esc(e.key)}</code></td><td>${esc(JSON.stringify(e.old))} → ${esc(JSON.stringify(e.new))}</td><td>${esc(e.reason ?? '')}</td><td>${esc(e.routes_changing_owner)}</td></tr>`).join('')}</table>`));
      return;
    }
    html(404, page('Not found', who, s, '<p>No such page. <a href="/dashboard">Owners</a></p>'));
  }
}
