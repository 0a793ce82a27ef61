/**
 * The dashboard and the JSON control API, on the admin listener.
 *
 *   /dashboard                      one compact row per family and capability: owner, who set it,
 *                                   canary selectors, route counts, readiness on go, one menu of
 *                                   actions; live figures per owner; snapshot version, age, last
 *                                   reload error; the kill switch
 *   /dashboard/capability/<CAP>     its summary (owner, who set it, canary, readiness, live figures
 *                                   per owner for it alone), its actions and routes, a decision trace
 *   /dashboard/history              the audit log
 *   POST /dashboard/preview         an action → the keys it changes, the routes that change owner,
 *                                   what go's readiness says of it
 *   POST /dashboard/apply           writes it (compare-and-swap on the snapshot version), audits it,
 *                                   and goes back to the changed row
 *   /control/v1/...                 the same as JSON for scripts (docs/dashboard.md, "Control API"); the old
 *                                   /api/v1/... paths answer 308 to it for one release (legacy-prefix.ts)
 *
 * Every page needs a login; changes need the operator role; forms carry the
 * session's CSRF token; failed logins are rate-limited per name and address.
 * Nothing from the SWITCHBOARD section (upstream URLs, Redis) or the rest of
 * config.yaml is shown: only MIGRATION switches. The HTML is in
 * dashboard-pages.ts, who-owns-what in ownership.ts, the readiness gate in
 * readiness-gate.ts, the login limiter in login-limiter.ts, request bodies
 * in request-input.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter } from 'prom-client';
import type { Inventory } from '../../owner-maps/index.js';
import type { FileSnapshotProvider } from '../snapshots/provider.js';
import { canaryKey, isSwitchEnvName } from '../config/keys.js';
import type { Env } from '../config/parse.js';
import { decide } from '../core/decide.js';
import type { Snapshot } from '../core/snapshot.js';
import { isSwitchboardError, SwitchboardError } from '../errors.js';
import { summarize } from '../core/describe.js';
import { LogSampler, type Logger } from '../../lib/log.js';
import { actionFrom, planAction, RAMP_STEPS, switchValue, type Action } from './actions.js';
import { basicCredentials, type DashboardAuth, type Principal } from './auth.js';
import type { LiveStats } from './stats.js';
import { commitWrite, InvalidResultError, planWrite, readAudit, type SwitchChange, type WritePlan } from './switches.js';
import { previewKill, setKillSwitch } from './kill.js';
import { killFilePath } from '../config/kill-switch.js';
import { capabilityExposure, GoNotImplementedError, readinessGate, routesNewlyToGo, type GateResult } from './readiness-gate.js';
import { GateFailedError, type CutoverFinding } from './gate-checklist.js';
import type { GateKeeper } from './gate-keeper.js';
import { cutoverBlock, gatesPanel, shadowPanel } from './gates-panel.js';
import { LoginLimiter } from './login-limiter.js';
import { ownership } from './ownership.js';
import { CONTROL_API_PREFIX, LEGACY_CONTROL_API_PREFIX, LegacyPrefixRedirects } from './legacy-prefix.js';
import { BodyTooLarge, fields, sameOrigin } from './request-input.js';
import {
  actionForms,
  capabilitySummary,
  changesTable,
  csrfInput,
  esc,
  figuresTable,
  fmt,
  gateBlock,
  historyTable,
  loginPage,
  movingRoutes,
  ownerCell,
  ownersTable,
  page,
  readinessLine,
  routesTable,
  traceTable,
  type HistoryEntry,
} from './dashboard-pages.js';

export { fmt } from './dashboard-pages.js';
export { ownership } from './ownership.js';

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
  /**
   * What the go upstream says it implements (proxy/readiness.ts's poller). Absent: readiness is
   * shown as "not checked" and no change is gated on it.
   */
  readonly readiness?: {
    implements(capability: string): 'yes' | 'no' | 'unknown';
    current(): { reachable: boolean; checked_at: string | null; error?: string | null };
  };
  /** The cutover gates (control/gate-keeper.ts): ramps are refused while one fails, unless overridden with a reason. */
  readonly gates?: GateKeeper;
}

const LOGIN_FAILURES = 'switchboard_dashboard_login_failures_total';
type LoginFailure = 'wrong_password' | 'unknown_name' | 'rate_limited';

/** A change list that is the kill switch: true/false (on/off), null when it is not; mixed with other keys, refused. */
function killIn(changes: readonly SwitchChange[]): boolean | null {
  if (!Array.isArray(changes) || !changes.some((c) => c && typeof c === 'object' && c.key === 'MIGRATION_FORCE_PYTHON')) return null;
  if (changes.length !== 1) throw new SwitchboardError('SWB_CLI_USAGE', 'the kill switch (MIGRATION_FORCE_PYTHON) is changed on its own, not with other keys');
  const v = changes[0]!.value;
  if (v !== true && v !== false && v !== null) throw new SwitchboardError('SWB_CLI_USAGE', `MIGRATION_FORCE_PYTHON takes true, false or null, not ${JSON.stringify(v)}`);
  return v === true;
}

function snapshotInfo(s: Snapshot, d: ControlDeps): Record<string, unknown> {
  const st = d.provider.stats();
  return {
    version: s.version,
    updated_at: s.updated_at,
    age_seconds: Math.round((Date.now() - Date.parse(s.updated_at)) / 1000),
    digest: s.source.digest,
    hard_failure: s.hard_failure,
    kill_switch: s.owner_map.forcePython.value,
    kill_switch_from_environment: s.owner_map.forcePython.origin.source === 'env',
    last_reload_error: st.last_error
      ? { at: st.last_error.at, issues: st.last_error.issues.map((i) => `${i.line ? `line ${i.line}: ` : ''}${i.key ? `${i.key}: ` : ''}${i.message}`) }
      : null,
    reload_failures_total: st.reload_failures_total,
  };
}

/** The owners-page row an action's scope belongs to ('cap-X', 'family-F'), for going back to it after apply. */
function rowOf(scope: unknown, inv: Inventory): string {
  if (typeof scope !== 'string') return '';
  if (scope.startsWith('CAP_') && inv.capabilities.includes(scope.slice(4))) return `cap-${scope.slice(4)}`;
  if (scope.startsWith('FAMILY_') && inv.families.includes(scope.slice(7))) return `family-${scope.slice(7)}`;
  const route = inv.byId.get(scope);
  return route ? `cap-${route.capability}` : '';
}

const ROW = /^(cap|family)-[A-Z0-9_]+$/;

// ---------------------------------------------------------------- the handler

export class ControlPlane {
  private readonly limiter = new LoginLimiter();
  private refusedLog: LogSampler | null = null;
  private readonly loginFailures: Counter<'reason'>;
  private readonly legacy: LegacyPrefixRedirects;

  constructor(private readonly d: ControlDeps) {
    // On the proxy's registry (serve's /metrics); one counter however many control planes share it.
    const reg = d.stats.registry;
    this.loginFailures =
      (reg.getSingleMetric(LOGIN_FAILURES) as Counter<'reason'> | undefined) ??
      new Counter({
        name: LOGIN_FAILURES,
        help: 'Refused dashboard and control API logins, by reason (wrong_password, unknown_name, rate_limited)',
        labelNames: ['reason'],
        registers: [reg],
      });
    this.legacy = new LegacyPrefixRedirects(d.log);
  }

  /** Handles /dashboard…, /control/v1… and the old /api/v1… (redirected); false for any other path. */
  handles(path: string): boolean {
    return path === '/dashboard' || path.startsWith('/dashboard/') || path.startsWith(`${CONTROL_API_PREFIX}/`) || path.startsWith(`${LEGACY_CONTROL_API_PREFIX}/`);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    // Before any login: the redirect says nothing the README does not, and the new path asks for one.
    if (this.legacy.redirect(req, res, url)) return;
    const api = path.startsWith(`${CONTROL_API_PREFIX}/`);
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, {
        'content-type': type,
        'content-length': String(Buffer.byteLength(body)),
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'same-origin',
        ...(type.startsWith('text/html') ? { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'" } : {}),
        ...headers,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const json = (status: number, v: unknown, headers: Record<string, string> = {}): void => send(status, 'application/json', JSON.stringify(v, null, 2) + '\n', headers);
    const html = (status: number, body: string, headers: Record<string, string> = {}): void => send(status, 'text/html; charset=utf-8', body, headers);
    const redirect = (to: string, headers: Record<string, string> = {}): void => {
      res.writeHead(303, { location: to, 'cache-control': 'no-store', ...headers });
      res.end();
    };
    try {
      if (!this.d.auth) {
        const msg = 'the dashboard is off: set SWITCHBOARD.DASHBOARD.ADMIN_TOKEN_FILE or USERS_FILE (nobody may change switches anonymously)';
        if (api) json(503, { error: msg });
        else html(503, page('Dashboard off', null, null, `<p>${esc(msg)}</p>`));
        return;
      }
      if (req.method === 'POST' && !sameOrigin(req)) {
        // Forms posted from another site (login CSRF included): refused whatever the cookie.
        if (api) json(403, { error: 'cross-site request refused' });
        else html(403, page('Refused', null, null, '<p>A form from another site may not post here.</p>'));
        return;
      }
      const address = req.socket.remoteAddress ?? 'unknown';
      if (path === '/dashboard/login') {
        if (req.method === 'POST') await this.login(await fields(req), address, html, redirect);
        else html(200, loginPage(null, ''));
        return;
      }
      // Basic credentials are a login on every request: the same limiter as the form.
      const basic = basicCredentials(typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined);
      if (basic) {
        const refusal = this.limiter.check(address, basic.name);
        if (refusal) {
          this.refused(basic.name, address, 'rate_limited', { by: refusal.by, via: 'basic' });
          const headers = { 'retry-after': String(refusal.retryAfterSeconds) };
          if (api) json(429, { error: refusal.message }, headers);
          else html(429, page('Too many failed logins', null, null, `<p class="err">${esc(refusal.message)}</p>`), headers);
          return;
        }
      }
      const who = await this.d.auth.identify(req.headers);
      if (basic) {
        if (who) this.limiter.succeeded(basic.name);
        else {
          this.limiter.failed(address, basic.name);
          this.refused(basic.name, address, this.d.auth.knows(basic.name) ? 'wrong_password' : 'unknown_name', { via: 'basic' });
        }
      }
      if (!who) {
        if (api) json(401, { error: 'log in: Authorization: Bearer <admin token>, or Basic credentials of a dashboard user' });
        else redirect('/dashboard/login');
        return;
      }
      if (req.method === 'POST') {
        if (who.role !== 'operator' && path !== '/dashboard/logout' && path !== `${CONTROL_API_PREFIX}/plan`) {
          if (api) json(403, { error: `${who.name} is read-only` });
          else html(403, page('Not allowed', who, null, `<p>${esc(who.name)} is read-only.</p>`));
          return;
        }
      } else if (req.method !== 'GET' && req.method !== 'HEAD') {
        send(405, 'text/plain', 'method not allowed\n');
        return;
      }
      if (api) await this.api(req, path.slice(CONTROL_API_PREFIX.length), url, who, json);
      else await this.dashboard(req, path, url, who, html, redirect);
    } catch (e) {
      const conflict =
        isSwitchboardError(e) && (e.code === 'SWB_CONFIG_CONFLICT' || e.code === 'SWB_GO_NOT_IMPLEMENTED' || e.code === 'SWB_GATE_FAILED' || e.code === 'SWB_GATE_COOLDOWN');
      const status = e instanceof BodyTooLarge ? 413 : isSwitchboardError(e) ? (conflict ? 409 : 400) : 500;
      // Internal errors are logged, not shown: their text may quote files.
      if (status === 500) this.d.log.error('dashboard request failed', { path, error: (e as Error).message });
      const message = status === 500 ? 'internal error: see the switchboard log' : (e as Error).message;
      const issues = e instanceof InvalidResultError ? e.issues : undefined;
      const blocked = e instanceof GoNotImplementedError ? e.blocked : undefined;
      const failing = e instanceof GateFailedError ? e.failing : undefined;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (api)
        json(status, {
          error: message,
          ...(isSwitchboardError(e) ? { code: e.code } : {}),
          ...(issues ? { issues } : {}),
          ...(blocked ? { not_implemented_on_go: blocked } : {}),
          ...(failing ? { failing_gates: failing } : {}),
        });
      else
        html(
          status,
          page(
            status === 409 ? 'Conflict' : 'Refused',
            null,
            this.d.provider.current(),
            `<p class="err" id="error">${esc(message)}</p><p><a href="/dashboard">Back to the owners</a></p>`,
          ),
        );
    }
  }

  /** A refused login: counted, and logged with the client's address (never the password; unknown names not spelled out). */
  private refused(name: string, address: string, reason: LoginFailure, extra: Record<string, unknown> = {}): void {
    this.loginFailures.inc({ reason });
    const user = name === '' ? 'admin-token' : this.d.auth!.knows(name) ? name : '(unknown name)';
    (this.refusedLog ??= new LogSampler(this.d.log, 'dashboard login refused')).warn({ user, client_address: address, reason, ...extra });
  }

  private async login(
    f: Record<string, unknown>,
    address: string,
    html: (status: number, body: string, headers?: Record<string, string>) => void,
    redirect: (to: string, headers?: Record<string, string>) => void,
  ): Promise<void> {
    const auth = this.d.auth!;
    const name = String(f.name ?? '');
    const refusal = this.limiter.check(address, name);
    if (refusal) {
      this.refused(name, address, 'rate_limited', { by: refusal.by });
      html(429, loginPage(refusal.message, name), { 'retry-after': String(refusal.retryAfterSeconds) });
      return;
    }
    const who = await auth.login(name, String(f.password ?? ''));
    if (!who) {
      this.limiter.failed(address, name);
      this.refused(name, address, name === '' || auth.knows(name) ? 'wrong_password' : 'unknown_name');
      html(401, loginPage('Wrong name or password.', name));
      return;
    }
    this.limiter.succeeded(name);
    this.d.log.info('dashboard login', { user: who.name, role: who.role, client_address: address });
    redirect('/dashboard', { 'set-cookie': `sb_session=${auth.session(who)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.round(auth.files.sessionHours * 3600)}` });
  }

  private checkCsrf(who: Principal, f: Record<string, unknown>): void {
    if (who.via === 'session' && f.csrf !== who.csrf) throw new SwitchboardError('SWB_CLI_USAGE', 'the form is stale or forged (CSRF token mismatch): reload the page');
  }

  /** A plan for changes, refused when the snapshot moved on or the file no longer matches it; with what go's readiness says of it. */
  private plan(changes: readonly SwitchChange[], expectedVersion: number | null): { plan: WritePlan; env_overrides: string[]; gate: GateResult | null; cutover: CutoverFinding[] } {
    const s = this.d.provider.current();
    if (expectedVersion !== null && expectedVersion !== s.version) {
      throw new SwitchboardError('SWB_CONFIG_CONFLICT', `the configuration changed since you looked (snapshot v${expectedVersion} → v${s.version}): nothing written; look again`);
    }
    const plan = planWrite(this.d.file, changes, this.d.inventory);
    if (expectedVersion !== null && s.source.digest !== null && plan.sha256_before !== s.source.digest) {
      throw new SwitchboardError('SWB_CONFIG_CONFLICT', `${this.d.file} was edited since snapshot v${s.version} was loaded: nothing written; wait for it to load and look again`);
    }
    const envOverrides = changes.map((c) => c.key).filter((k) => isSwitchEnvName(k) && (this.d.env[k] ?? '').trim() !== '');
    return { plan, env_overrides: envOverrides, gate: this.d.readiness ? readinessGate(s, changes, this.d.readiness) : null, cutover: this.cutoverGates(s, changes) };
  }

  /** The cutover gates (control/gate-checklist.ts) that block the capabilities `changes` send more of to go; readiness has its own gate above. */
  private cutoverGates(s: Snapshot, changes: readonly SwitchChange[]): CutoverFinding[] {
    const keeper = this.d.gates;
    if (!keeper) return [];
    const out: CutoverFinding[] = [];
    for (const capability of routesNewlyToGo(s, changes).keys()) {
      const c = keeper.checklist(capability);
      const gates = c.blocking.filter((g) => g !== 'readiness');
      if (gates.length) out.push({ capability, gates, lines: c.gates.filter((l) => (gates as readonly string[]).includes(l.gate)) });
    }
    return out;
  }

  /** Refuses a change the cutover gates block, unless overridden with a reason; returns the gates overridden. */
  private enforceCutover(found: readonly CutoverFinding[], force: boolean, reason: string | null, how: string): string[] {
    if (!found.length) return [];
    if (force && reason && reason.trim()) return found.flatMap((f) => f.gates.map((g) => `${f.capability} ${g}`));
    throw new GateFailedError(found, force ? 'an override needs a reason (it goes to the audit log)' : how);
  }

  /** Refuses a change the readiness gate blocks, unless forced with a reason. */
  private enforceGate(gate: GateResult | null, force: boolean, reason: string | null, how: string): void {
    if (!gate?.blocked.length) return;
    if (force && reason && reason.trim()) return;
    throw new GoNotImplementedError(gate.blocked, force ? 'a forced change needs a reason (it goes to the audit log)' : how);
  }

  /**
   * The kill switch on or off through its state file (kill.ts), audited; waits for the snapshot that carries it.
   * Off is a compare-and-swap when the caller says which snapshot it looked at (the preview's form does): a
   * kill switch turned off and on again since (another incident) is never undone from a stale view. On never is.
   */
  private async applyKill(on: boolean, who: Principal, reason: string | null, via: string, expectedVersion: number | null): Promise<Record<string, unknown>> {
    if (!reason || !reason.trim()) throw new SwitchboardError('SWB_CLI_USAGE', 'say why (reason): it goes to the audit log');
    const before = this.d.provider.current().version;
    if (!on && expectedVersion !== null && expectedVersion !== before) {
      const k = this.d.provider.stats().kill_file;
      throw new SwitchboardError(
        'SWB_CONFIG_CONFLICT',
        `the configuration changed since you looked (snapshot v${expectedVersion} → v${before})${k ? `; the kill switch is on since ${k.since || '(unknown)'} by ${k.actor}${k.reason ? `: ${k.reason}` : ''}` : ''}: the kill switch was not turned off; look again`,
      );
    }
    const r = setKillSwitch({
      file: this.d.file,
      stateDir: this.d.stateDir,
      on,
      inventory: this.d.inventory,
      env: this.d.env,
      snapshotVersion: before,
      who: { actor: who.name, via, reason: reason.trim() },
    });
    await this.d.provider.reload(via);
    const version = this.d.provider.current().version;
    this.d.log.warn(on ? 'kill switch turned ON' : 'kill switch turned off', {
      actor: who.name,
      via,
      reason: reason.trim(),
      snapshot_version: version,
      kill_file: r.kill_file,
      changed: r.changed,
    });
    return { snapshot_version: version, kill_switch: this.d.provider.current().owner_map.forcePython.value, ...r };
  }

  private killPreview(who: Principal, s: Snapshot, on: boolean): string {
    const p = previewKill(s, on, killFilePath(this.d.stateDir));
    const envOn = (this.d.env.MIGRATION_FORCE_PYTHON ?? '').trim() !== '';
    return `<div class="box" id="preview">
<p>Against snapshot <b>v${s.version}</b>. <b>Kill switch: ${esc(fmt(s.owner_map.forcePython.value ? 'on' : 'off'))} → ${on ? 'ON' : 'off'}</b> ${on ? '(the state file, which works whatever state config.yaml is in)' : ''}</p>
<p id="moving"><b>${p.diff.routes.length}</b> route${p.diff.routes.length === 1 ? '' : 's'} change owner.</p>
${!on && envOn ? '<p class="err">MIGRATION_FORCE_PYTHON is set in the switchboard\'s environment: it stays on until the process is restarted without it.</p>' : ''}
<form method="post" action="/dashboard/apply">${csrfInput(who)}<input type="hidden" name="kill" value="${on}"><input type="hidden" name="expected_version" value="${s.version}">
<p><label>Why (for the audit log) <input name="reason" size="60" required></label></p><button id="apply" ${p.changes.length ? '' : 'disabled'}>Apply</button> <a href="/dashboard">Cancel</a></form></div>`;
  }

  /** Writes, audits, and waits for the new snapshot. A change the readiness gate blocks needs `force` and a reason. */
  private async apply(
    changes: readonly SwitchChange[],
    expectedVersion: number,
    who: Principal,
    reason: string | null,
    via: string,
    force: boolean,
    how: string,
  ): Promise<{ version: number; entries: ReturnType<typeof commitWrite>; plan: WritePlan }> {
    if (!reason || !reason.trim()) throw new SwitchboardError('SWB_CLI_USAGE', 'say why (reason): it goes to the audit log');
    const { plan, gate, cutover } = this.plan(changes, expectedVersion);
    this.enforceGate(gate, force, reason, how);
    const overridden = this.enforceCutover(cutover, force, reason, how);
    const entries = commitWrite(plan, { actor: who.name, via, reason: reason.trim(), snapshotVersion: expectedVersion, overriddenGates: overridden });
    if (overridden.length)
      this.d.log.warn('switches changed past FAILING cutover gates (overridden)', {
        actor: who.name,
        via,
        reason,
        overridden_gates: overridden,
        snapshot_version: expectedVersion,
      });
    await this.d.provider.reload(via);
    const version = this.d.provider.current().version;
    const logged = { actor: who.name, via, reason, keys: entries.map((e) => e.key), snapshot_version: version, routes_changing_owner: plan.diff.routes.length };
    if (gate?.blocked.length) {
      this.d.log.warn('switches changed, FORCED past the readiness gate: go does not implement these capabilities', {
        ...logged,
        forced: true,
        not_implemented_on_go: gate.blocked.map((b) => b.capability),
      });
    } else this.d.log.info('switches changed', logged);
    return { version, entries, plan };
  }

  /** endpoint: the path under CONTROL_API_PREFIX ('/state', '/plan', ...). */
  private async api(req: IncomingMessage, endpoint: string, url: URL, who: Principal, json: (status: number, v: unknown) => void): Promise<void> {
    const s = this.d.provider.current();
    const readiness = this.d.readiness;
    if (req.method === 'GET' && endpoint === '/state') {
      json(200, {
        snapshot: snapshotInfo(s, this.d),
        you: { name: who.name, role: who.role },
        ramp_steps: RAMP_STEPS,
        go_readiness: readiness?.current() ?? null,
        families: ownership(s, readiness),
      });
      return;
    }
    if (req.method === 'GET' && endpoint === '/stats') {
      json(200, await this.d.stats.figures());
      return;
    }
    if (req.method === 'GET' && endpoint === '/history') {
      json(200, { entries: readAudit(this.d.file, s.owner_map.config, this.d.stateDir).reverse() });
      return;
    }
    if (req.method === 'GET' && endpoint === '/explain') {
      const p = url.searchParams.get('path');
      if (!p || !p.startsWith('/')) throw new SwitchboardError('SWB_EXPLAIN_BAD_PATH', 'give ?path=/v2/... (and optionally method, user)');
      const pin = url.searchParams.get('pin');
      json(
        200,
        decide(s, {
          method: (url.searchParams.get('method') ?? 'GET').toUpperCase(),
          path: p,
          user: url.searchParams.get('user') ?? undefined,
          explain: true,
          clientAddress: url.searchParams.get('client_ip') ?? undefined,
          uploadPin: pin === 'python' || pin === 'go' ? pin : undefined,
        }),
      );
      return;
    }
    const cap = /^\/capabilities\/([A-Z0-9_]+)$/.exec(endpoint);
    if (req.method === 'GET' && cap) {
      const c = cap[1]!;
      const routes = this.d.inventory.routes.filter((r) => r.capability === c);
      if (!routes.length) {
        json(404, { error: `no capability ${c}` });
        return;
      }
      json(200, {
        capability: c,
        family: routes[0]!.family,
        implemented_on_go: readiness?.implements(c) ?? null,
        live: await this.d.stats.capabilityFigures(c, routes[0]!.family),
        routes: routes.map((r) => ({ route_id: r.id, method: r.method, pattern: r.pattern, ...summarize(s, s.owner_map.routePlans[r.index]!) })),
      });
      return;
    }
    const sh = /^\/shadow\/([A-Z0-9_]+)$/.exec(endpoint);
    if (req.method === 'GET' && sh) {
      // Answers of other users' requests: operators only, even redacted.
      if (who.role !== 'operator') {
        json(403, { error: `${who.name} is read-only: shadow diffs are for operators` });
        return;
      }
      const shadow = this.d.gates?.shadow;
      json(200, { capability: sh[1], record: shadow?.record(sh[1]!) ?? null, diffs: shadow?.recent(sh[1]!) ?? [] });
      return;
    }
    if (endpoint === '/gates' || endpoint.startsWith('/gates/')) {
      await this.gatesApi(req, endpoint, who, json);
      return;
    }
    if (req.method === 'POST' && (endpoint === '/plan' || endpoint === '/apply')) {
      const f = await fields(req);
      // A browser session must show its CSRF token (header or field); tokens and Basic credentials are not ambient.
      this.checkCsrf(who, { csrf: req.headers['x-csrf-token'] ?? f.csrf });
      const changes = Array.isArray(f.changes) ? (f.changes as SwitchChange[]) : planAction(actionFrom(f), s);
      const reason = typeof f.reason === 'string' ? f.reason : null;
      const force = f.force === true;
      const kill = killIn(changes);
      if (kill !== null) {
        // The kill switch is its own path: the state file, no compare-and-swap, whatever state config.yaml is in.
        if (endpoint === '/plan') {
          const p = previewKill(s, kill, killFilePath(this.d.stateDir));
          json(200, { snapshot_version: s.version, changes: p.changes, routes_changing_owner: p.diff.routes, kill_switch: p.diff.kill_switch, env_overrides: [], warnings: [] });
          return;
        }
        json(200, await this.applyKill(kill, who, reason, 'api', typeof f.expected_version === 'number' ? f.expected_version : null));
        return;
      }
      const how = 'to do it anyway, send "force": true with a "reason"';
      if (endpoint === '/plan') {
        const { plan, env_overrides, gate, cutover } = this.plan(changes, null);
        this.enforceGate(gate, force, reason, how);
        this.enforceCutover(cutover, force, reason, how);
        json(200, {
          snapshot_version: s.version,
          changes: plan.changes,
          routes_changing_owner: plan.diff.routes,
          kill_switch: plan.diff.kill_switch,
          env_overrides,
          warnings: plan.warnings,
          readiness: gate ? { not_implemented_on_go: gate.blocked, unknown_on_go: gate.unverified, forced: gate.blocked.length > 0 } : null,
          gates: { failing: cutover, overridden: cutover.length > 0 },
        });
        return;
      }
      if (typeof f.expected_version !== 'number')
        throw new SwitchboardError('SWB_CLI_USAGE', 'give expected_version: the snapshot version your plan was made against (compare-and-swap)');
      const r = await this.apply(changes, f.expected_version, who, reason, 'api', force, how);
      json(200, { snapshot_version: r.version, audit: r.entries, routes_changing_owner: r.plan.diff.routes.length });
      return;
    }
    json(404, { error: 'not found: GET state, stats, history, explain, capabilities/<CAP>, gates, gates/<CAP>; POST plan, apply, gates/<CAP>/arm' });
  }

  /**
   * GET /gates: the checklist of every capability go serves or has a gate record;
   * GET /gates/<CAP>: one checklist with its recent windows and last rollback;
   * POST /gates/<CAP>/arm {reason}: re-arms automatic rollback (audited).
   */
  private async gatesApi(req: IncomingMessage, endpoint: string, who: Principal, json: (status: number, v: unknown) => void): Promise<void> {
    const keeper = this.d.gates;
    if (!keeper) {
      json(503, { error: 'the cutover gates are not running in this process' });
      return;
    }
    const s = this.d.provider.current();
    if (req.method === 'GET' && endpoint === '/gates') {
      const caps = [...keeper.capabilities.keys()].filter((c) => keeper.store.caps.has(c) || capabilityExposure(s, c).kind !== 'none');
      json(200, { snapshot_version: s.version, capabilities: caps.map((c) => ({ ...keeper.checklist(c), exposure: capabilityExposure(s, c) })) });
      return;
    }
    const m = /^\/gates\/([A-Z0-9_]+)(\/arm)?$/.exec(endpoint);
    if (!m || !keeper.capabilities.has(m[1]!)) {
      json(404, { error: m ? `no capability ${m[1]}` : 'not found: GET gates, gates/<CAP>; POST gates/<CAP>/arm' });
      return;
    }
    const cap = m[1]!;
    if (req.method === 'POST' && m[2]) {
      const f = await fields(req);
      this.checkCsrf(who, { csrf: req.headers['x-csrf-token'] ?? f.csrf });
      const entry = keeper.arm(cap, who.name, typeof f.reason === 'string' ? f.reason : '', 'api');
      json(200, { armed: true, audit: entry });
      return;
    }
    if (req.method === 'GET' && !m[2]) {
      const st = keeper.store.caps.get(cap) ?? null;
      json(200, {
        ...keeper.checklist(cap),
        exposure: capabilityExposure(s, cap),
        recent: st?.recent ?? [],
        baseline: st?.baseline ?? null,
        rollback: st?.rollback ?? null,
        armed_by: st?.armed_by ?? null,
      });
      return;
    }
    json(405, { error: 'GET gates/<CAP>, POST gates/<CAP>/arm' });
  }

  private async dashboard(
    req: IncomingMessage,
    path: string,
    url: URL,
    who: Principal,
    html: (status: number, body: string, headers?: Record<string, string>) => void,
    redirect: (to: string, headers?: Record<string, string>) => void,
  ): Promise<void> {
    const s = this.d.provider.current();
    const readiness = this.d.readiness ?? null;
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
      if (action.action === 'kill') {
        html(200, page('Preview', who, s, this.killPreview(who, s, action.on)));
        return;
      }
      const changes = planAction(action, s);
      const { plan, env_overrides, gate, cutover } = this.plan(changes, null);
      const back = rowOf(f.scope, this.d.inventory);
      const g = gateBlock(gate);
      if (cutover.length) {
        g.html += cutoverBlock(cutover);
        g.force ||= `<p><label class="err"><input type="checkbox" name="force" value="true" id="force"> Ramp anyway, past the failing gates (your reason goes to the audit log with the gates you overrode)</label></p>`;
      }
      html(
        200,
        page(
          'Preview',
          who,
          s,
          `<div class="box" id="preview">
<p>Against snapshot <b>v${s.version}</b>. These keys of <code>MIGRATION</code> change:</p>${changesTable(plan.changes)}
${plan.diff.kill_switch.before !== plan.diff.kill_switch.after ? `<p><b>Kill switch: ${plan.diff.kill_switch.before ? 'on' : 'off'} → ${plan.diff.kill_switch.after ? 'on' : 'off'}</b></p>` : ''}
${movingRoutes(plan.diff.routes)}${g.html}
${env_overrides.length ? `<p class="err">The environment overrides ${env_overrides.map(esc).join(', ')}: the file change will not take effect while it is set.</p>` : ''}
${plan.warnings.length ? `<ul class="err" id="warnings">${plan.warnings.map((w) => `<li>Warning: ${esc(w.message)}</li>`).join('')}</ul>` : ''}
<form method="post" action="/dashboard/apply">${csrfInput(who)}<input type="hidden" name="changes" value="${esc(JSON.stringify(changes))}"><input type="hidden" name="expected_version" value="${s.version}"><input type="hidden" name="back" value="${esc(back)}">
${g.force}<p><label>Why (for the audit log) <input name="reason" size="60" required></label></p><button id="apply" ${plan.changes.length ? '' : 'disabled'}>Apply</button> <a href="/dashboard${back ? `#${esc(back)}` : ''}">Cancel</a></form></div>`,
        ),
      );
      return;
    }
    if (req.method === 'POST' && path === '/dashboard/apply') {
      const f = await fields(req);
      this.checkCsrf(who, f);
      const reason = typeof f.reason === 'string' ? f.reason : null;
      if (f.kill === 'true' || f.kill === 'false') {
        const expected = typeof f.expected_version === 'string' && /^\d+$/.test(f.expected_version) ? Number(f.expected_version) : null;
        const r = await this.applyKill(f.kill === 'true', who, reason, 'dashboard', expected);
        redirect(`/dashboard?applied=${r.snapshot_version}`);
        return;
      }
      let changes: SwitchChange[];
      try {
        changes = JSON.parse(String(f.changes ?? '')) as SwitchChange[];
      } catch {
        throw new SwitchboardError('SWB_CLI_USAGE', 'the form lost its changes: preview again');
      }
      // The kill switch only ever goes through its state file, as in the API (never into config.yaml).
      const kill = killIn(changes);
      if (kill !== null) {
        const r = await this.applyKill(kill, who, reason, 'dashboard', Number.isInteger(Number(f.expected_version)) ? Number(f.expected_version) : null);
        redirect(`/dashboard?applied=${r.snapshot_version}`);
        return;
      }
      const r = await this.apply(changes, Number(f.expected_version), who, reason, 'dashboard', f.force === 'true', 'preview again and tick "send them to go anyway" to force it');
      const back = typeof f.back === 'string' && ROW.test(f.back) ? f.back : '';
      // Back to the row that changed, highlighted (?changed= for the server, #row for the browser's scroll).
      redirect(`/dashboard?applied=${r.version}${back ? `&changed=${back}#${back}` : ''}`);
      return;
    }
    if (req.method === 'POST' && path === '/dashboard/arm') {
      const f = await fields(req);
      this.checkCsrf(who, f);
      if (!this.d.gates) throw new SwitchboardError('SWB_CLI_USAGE', 'the cutover gates are not running in this process');
      const cap = typeof f.capability === 'string' ? f.capability : '';
      this.d.gates.arm(cap, who.name, typeof f.reason === 'string' ? f.reason : '', 'dashboard');
      redirect(`/dashboard/capability/${encodeURIComponent(cap)}?armed=1#gates`);
      return;
    }
    if (path === '/dashboard' || path === '/dashboard/') {
      html(200, await this.ownersPage(who, s, url));
      return;
    }
    const capm = /^\/dashboard\/capability\/([A-Z0-9_]+)$/.exec(path);
    if (capm && this.d.inventory.capabilities.includes(capm[1]!)) {
      html(200, await this.capabilityPage(who, s, capm[1]!, url));
      return;
    }
    if (path === '/dashboard/history') {
      const entries = readAudit(this.d.file, s.owner_map.config, this.d.stateDir).reverse() as HistoryEntry[];
      html(200, page('History', who, s, historyTable(entries)));
      return;
    }
    html(404, page('Not found', who, s, '<p>No such page. <a href="/dashboard">Owners</a></p>'));
  }

  private async ownersPage(who: Principal, s: Snapshot, url: URL): Promise<string> {
    const info = snapshotInfo(s, this.d);
    const applied = url.searchParams.get('applied');
    const changedParam = url.searchParams.get('changed');
    const changed = changedParam && ROW.test(changedParam) ? changedParam : null;
    const err = info.last_reload_error as { at: string; issues: string[] } | null;
    const kill = s.owner_map.forcePython.value;
    const killForm =
      who.role === 'operator'
        ? `<form class="inline" method="post" action="/dashboard/preview">${csrfInput(who)}<input type="hidden" name="action" value="kill"><input type="hidden" name="on" value="${kill ? 'false' : 'true'}"><button id="kill-switch">${kill ? 'Turn the kill switch off' : 'KILL SWITCH: everything to python'}</button></form>`
        : '';
    const readiness = this.d.readiness ?? null;
    return page(
      'Owners',
      who,
      s,
      `${applied ? `<p class="box" id="applied">Applied: snapshot <b>v${esc(applied)}</b> is in force.${changed ? ` <a href="#${esc(changed)}">${esc(changed.replace(/^(cap|family)-/, ''))}</a> is highlighted below.` : ''}</p>` : ''}
<div class="box"><p>Snapshot <b>v${s.version}</b>, loaded ${esc(s.updated_at)} (${info.age_seconds} s ago), sha256 <code>${esc(String(s.source.digest ?? '').slice(0, 12))}</code>${s.hard_failure ? ' — <b class="err">no valid config ever loaded: everything on python</b>' : ''}
· last reload error: ${err ? `<span class="err" id="reload-error">${esc(err.at)}: ${err.issues.map(esc).join('; ')}</span>` : '<span id="reload-error">none</span>'}</p>
<p>Kill switch: <b>${kill ? 'ON' : 'off'}</b>${info.kill_switch_from_environment ? ' (from the environment: the dashboard cannot turn it off)' : ''} ${killForm} · go readiness: ${readinessLine(readiness)}</p></div>
<h2>Live, per owner</h2>${figuresTable(await this.d.stats.figures())}
<h2>Families and capabilities</h2>${ownersTable(who, s, ownership(s), readiness, changed)}`,
    );
  }

  private async capabilityPage(who: Principal, s: Snapshot, c: string, url: URL): Promise<string> {
    const scope = `CAP_${c}`;
    const back = `cap-${c}`;
    const routes = this.d.inventory.routes.filter((r) => r.capability === c);
    const readiness = this.d.readiness ?? null;
    const goAllowed = readiness?.implements(c) !== 'no';
    const m = url.searchParams.get('method') ?? 'GET';
    const p = url.searchParams.get('path');
    const user = url.searchParams.get('user') ?? '';
    let trace = '';
    if (p) {
      if (!p.startsWith('/')) trace = '<p class="err">a request path starts with /</p>';
      else {
        const dec = decide(s, { method: m.toUpperCase(), path: p, user: user || undefined, explain: true });
        trace = `<p id="decision">${esc(m.toUpperCase())} ${esc(p)} → ${ownerCell(dec.owner, dec.owner)} (${esc(dec.reason)}, ${esc(dec.route_id ?? 'no row')}, snapshot v${dec.snapshot_version})</p>${traceTable(dec.trace)}${dec.canary ? `<table class="compact"><tr><th>selector</th><th>key</th><th>subject</th><th>matched</th></tr>${dec.canary.checks.map((k) => `<tr><td>${esc(k.selector)}</td><td>${esc(k.key ?? '')}</td><td>${esc(k.subject ?? '')}${k.bucket !== undefined && k.bucket !== null ? ` (bucket ${k.bucket})` : ''}</td><td>${k.matched ? '✔' : ''}</td></tr>`).join('')}</table>` : ''}`;
      }
    }
    const actions = actionForms(who, scope, s, { level: 'capability', target: c, goAllowed, back });
    const lists =
      who.role === 'operator' && goAllowed
        ? (['orgs', 'repos', 'users'] as const)
            .map((sel) => {
              const v = switchValue(s, canaryKey(scope, sel)) as string[] | null;
              return `<form class="inline" method="post" action="/dashboard/preview">${csrfInput(who)}<input type="hidden" name="back" value="${esc(back)}"><input type="hidden" name="action" value="lists"><input type="hidden" name="scope" value="${esc(scope)}"><input type="hidden" name="selector" value="${sel}"><label>${sel} <input name="values" size="30" value="${esc((v ?? []).join(', '))}"></label><button>Preview</button></form>`;
            })
            .join('<br>')
        : '';
    const gated = goAllowed ? '' : '<p class="err" id="gated">go does not implement this capability: ramps, go and canary are not offered (roll back or unset only).</p>';
    const live = await this.d.stats.capabilityFigures(c, routes[0]!.family);
    const gates = this.d.gates
      ? `<h2>Cutover gates</h2>${gatesPanel(who, this.d.gates.checklist(c), this.d.gates.store.caps.get(c) ?? null)}${shadowPanel(this.d.gates.shadow?.recent(c) ?? [])}`
      : '';
    return page(
      c,
      who,
      s,
      `${capabilitySummary(s, c, routes, readiness, live)}
${gates}
${actions.length ? `<h2>Actions</h2><div class="box" id="actions">${gated}<p>${actions.join('')}</p>${lists ? `<p>Canary lists of ${esc(scope)} (comma separated; empty removes):</p>${lists}` : ''}</div>` : ''}
<h2>Routes</h2>${routesTable(who, s, routes, goAllowed, back)}
<h2>Decision trace</h2><form method="get" class="box"><label>Method <input name="method" value="${esc(m)}" size="7"></label> <label>Path <input name="path" size="60" value="${esc(p ?? '')}"></label> <label>User <input name="user" value="${esc(user)}"></label> <button id="explain">Explain</button></form>${trace}`,
    );
  }
}
