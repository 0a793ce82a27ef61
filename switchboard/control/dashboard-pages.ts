/**
 * The dashboard's HTML: server-rendered pages, no framework and no script
 * (the CSP allows none). Pure functions from what the handler looked up
 * (snapshot, figures, readiness, audit entries) to markup; every value is
 * shown as operators write it (fmt) and escaped (esc).
 *
 *   page()           the frame: header, snapshot version, kill banner, who
 *   ownersTable()    one row per family and capability, one control per row
 *   capabilitySummary()  owner, who set it, canary, readiness, live figures
 *   actionForms()    ramp / percent / owner / rollback for one scope
 *   previewBody()    the keys that change, the routes that move, the gate
 *   historyTable()   the audit log
 */
import type { RouteRow } from '../../owner-maps/index.js';
import { canaryKey, ownerKey, SELECTORS, type SwitchLevel } from '../config/keys.js';
import type { CanaryPlan } from '../core/owner-map.js';
import type { Snapshot } from '../core/snapshot.js';
import type { TraceEntry } from '../core/types.js';
import { summarize, type PlanSummary } from '../core/describe.js';
import { effectivePercent, nextStep, switchValue } from './actions.js';
import type { Principal } from './auth.js';
import type { GateResult, ReadinessVerdict } from './readiness-gate.js';
import type { CapabilityFigures, LiveFigures } from './stats.js';
import type { AuditEntry, PlannedChange } from './switches.js';
import type { RouteChange } from '../core/diff.js';

/** Error rates above this are shown in red (1 %). */
export const ERROR_RATE_ALERT = 0.01;

export function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A value as an operator writes it: (unset), go, 25, [a, b] — never null or JSON quotes. */
export function fmt(v: unknown): string {
  if (v === null || v === undefined) return '(unset)';
  if (Array.isArray(v)) return `[${v.map((x) => String(x)).join(', ')}]`;
  return String(v);
}

/** Text from outside (an upstream's error) without addresses: the dashboard never shows upstream URLs. */
export function scrub(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '(upstream)').replace(/\[?[0-9a-f:.]*[0-9a-f]\]?:\d{2,5}\b/gi, '(upstream)');
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:center;flex-wrap:wrap}
header a{color:#cfe3ff;text-decoration:none}header .who{margin-left:auto}
main{padding:12px 20px;max-width:1400px}h1{margin:4px 0 10px;font-size:22px}h2{font-size:17px;margin:14px 0 4px}
table{border-collapse:collapse;background:#fff;margin:6px 0 14px;width:100%}
th,td{border:1px solid #dde1e7;padding:4px 8px;text-align:left;vertical-align:top}th{background:#eef1f5}
table.compact{font-size:13px;line-height:1.25}table.compact th,table.compact td{padding:2px 6px;vertical-align:middle}
table.compact td.nowrap,.nowrap{white-space:nowrap}
tr.family th{background:#dfe5ee;font-size:13px}tr.family th .muted{font-weight:400}
tr.changed>td,tr.changed>th,tr:target>td,tr:target>th{background:#fff1b8}
tr[id]{scroll-margin-top:120px}
.python{color:#2458a6;font-weight:600}.go{color:#0a7d3b;font-weight:600}.canary{color:#a05a00;font-weight:600}
.box{background:#fff;border:1px solid #dde1e7;padding:8px 14px;margin:8px 0}.box p{margin:4px 0}
.kill-on{background:#b3261e;color:#fff;padding:6px 12px;font-weight:700}.err{color:#b3261e}.warn{color:#8a5a00}
.hot{color:#fff;background:#b3261e;font-weight:700;padding:0 4px;border-radius:3px}
.ready-yes{color:#0a7d3b}.ready-no{color:#8a6d6d}.ready-no.live{color:#b3261e;font-weight:700}.ready-unknown{color:#6b7280}
form.inline{display:inline-flex;gap:4px;margin:0 6px 0 0;align-items:center}
details.menu{position:relative;display:inline-block}
details.menu>summary{cursor:pointer;color:#2458a6;list-style:none;white-space:nowrap;padding:0 4px;font-size:12px;line-height:15px;border:1px solid #b9c3d3;border-radius:3px;background:#f3f6fb}
details.menu>summary::-webkit-details-marker{display:none}
details.menu[open]>summary{background:#dfe8f7}
details.menu>div{position:absolute;right:0;top:1.7em;z-index:5;background:#fff;border:1px solid #9aa6b8;box-shadow:0 6px 18px rgba(0,0,0,.18);padding:8px 10px;width:max-content;display:flex;flex-direction:column;gap:6px;align-items:flex-start}
dl.summary{display:grid;grid-template-columns:max-content 1fr;gap:3px 16px;margin:4px 0}dl.summary dt{font-weight:600;color:#4b5563}dl.summary dd{margin:0}
dl.summary ul{margin:0;padding-left:18px}
tr.gate-pass>td:nth-child(2){color:#0a7d3b;font-weight:600}tr.gate-fail>td{background:#fde8e6}tr.gate-fail>td:nth-child(2){color:#b3261e;font-weight:700}
tr.gate-none>td:nth-child(2){color:#6b7280}tr.gate-warn>td:nth-child(2){color:#8a5a00}h3{font-size:14px;margin:10px 0 2px}
button{cursor:pointer}input[type=number]{width:5em}.muted{color:#6b7280}code{font-size:12px}`;

export function page(title: string, who: Principal | null, s: Snapshot | null, body: string): string {
  const nav = who ? `<a href="/dashboard">Owners</a><a href="/dashboard/history">History</a>` : '';
  const snap = s
    ? `<span>snapshot <b id="snapshot-version">v${s.version}</b></span>${s.owner_map.forcePython.value ? '<span class="kill-on" id="kill-banner">KILL SWITCH ON: everything on python</span>' : ''}`
    : '';
  const user = who
    ? `<span class="who">${esc(who.name)} (${who.role}) <form class="inline" method="post" action="/dashboard/logout"><input type="hidden" name="csrf" value="${esc(who.csrf ?? '')}"><button>Log out</button></form></span>`
    : '';
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)} · Switchboard</title><style>${CSS}</style></head>
<body><header><b>Switchboard</b>${nav}${snap}${user}</header><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

export function loginPage(error: string | null, name: string): string {
  return page(
    'Log in',
    null,
    null,
    `${error ? `<p class="err" id="login-error">${esc(error)}</p>` : ''}
<form method="post" action="/dashboard/login" class="box"><p><label>Name <input name="name" autocomplete="username" value="${esc(name)}"></label>
<span class="muted">leave it empty to log in with the admin token</span></p>
<p><label>Password or admin token <input name="password" type="password" autocomplete="current-password"></label></p><button>Log in</button></form>`,
  );
}

export function ownerCell(o: string, text: string): string {
  return `<span class="${esc(o)}">${esc(text)}</span>`;
}

export function csrfInput(who: Principal): string {
  return `<input type="hidden" name="csrf" value="${esc(who.csrf ?? '')}">`;
}

// ---------------------------------------------------------------- readiness

/** The go readiness as the dashboard shows it; null when no poller is wired (nothing checked). */
export interface ReadinessShown {
  implements(capability: string): ReadinessVerdict;
  current(): { reachable: boolean; checked_at: string | null; error?: string | null };
}

const READY_TEXT: Record<ReadinessVerdict, string> = {
  yes: 'implemented on go',
  no: 'not implemented on go',
  unknown: 'go upstream not reachable: unknown',
};

/** `sendsToGo`: some of its routes are on go or canary now; "not implemented" is then an alarm, in red. */
export function readinessCell(r: ReadinessShown | null, capability: string, sendsToGo = false): string {
  if (!r) return '<span class="ready-unknown">not checked</span>';
  const v = r.implements(capability);
  const alarm = v === 'no' && sendsToGo;
  return `<span class="ready-${v}${alarm ? ' live' : ''}"${alarm ? ' title="routes of it are sent to go now"' : ''}>${READY_TEXT[v]}</span>`;
}

export function readinessLine(r: ReadinessShown | null): string {
  if (!r) return '<span class="muted">not checked (no readiness poller)</span>';
  const c = r.current();
  if (c.reachable) return `<span class="ready-yes">go answers its readiness document</span> <span class="muted">(checked ${esc(c.checked_at ?? '')})</span>`;
  return `<span class="ready-unknown">go upstream not reachable: every capability unknown</span>${c.error ? ` <span class="muted">(${esc(scrub(c.error))}${c.checked_at ? `, ${esc(c.checked_at)}` : ''})</span>` : ''}`;
}

// ---------------------------------------------------------------- actions

/** The owner switch's own value at a scope, as the owner select names it. */
function ownValue(s: Snapshot, level: SwitchLevel, target: string): string {
  const v = switchValue(s, ownerKey(level, target));
  return typeof v === 'string' ? v : 'unset';
}

function ownerSelect(label: string, current: string, goAllowed: boolean): string {
  const options = goAllowed ? ['python', 'go', 'canary', 'unset'] : ['python', 'unset'];
  // The switch in force but no longer offered (go or canary where go lacks the capability): shown, not submittable.
  const shown = options.includes(current) ? '' : `<option value="" selected disabled>${esc(current)} (now)</option>`;
  return `<select name="value" aria-label="owner for ${esc(label)}"${shown ? ' required' : ''}>${shown}${options.map((o) => `<option${o === current ? ' selected' : ''}>${o}</option>`).join('')}</select>`;
}

/**
 * The actions of one scope (CAP_X, FAMILY_F, ROUTE_nnnn): forms that lead to
 * a preview. `goAllowed` false (go does not implement the capability) leaves
 * out ramps and the go and canary owners: rollback and unset stay.
 */
export function actionForms(who: Principal, scope: string, s: Snapshot, o: { level: SwitchLevel; target: string; goAllowed: boolean; back: string }): string[] {
  if (who.role !== 'operator') return [];
  const f = (inner: string, label: string, extra = ''): string =>
    `<form class="inline" method="post" action="/dashboard/preview">${csrfInput(who)}<input type="hidden" name="scope" value="${esc(scope)}"><input type="hidden" name="back" value="${esc(o.back)}">${inner}<button ${extra}>${label}</button></form>`;
  const out: string[] = [];
  if (o.goAllowed) {
    const next = nextStep(effectivePercent(s, scope));
    out.push(f(`<input type="hidden" name="action" value="ramp"><input type="hidden" name="percent" value="next">`, `Ramp to ${next}%`, `data-test="ramp-next-${esc(scope)}"`));
    out.push(
      f(
        `<input type="hidden" name="action" value="ramp"><input type="number" name="percent" min="0" max="100" step="0.01" placeholder="%" aria-label="percent for ${esc(scope)}">`,
        'Set %',
        `data-test="ramp-typed-${esc(scope)}"`,
      ),
    );
  }
  out.push(
    f(`<input type="hidden" name="action" value="owner">${ownerSelect(scope, ownValue(s, o.level, o.target), o.goAllowed)}`, 'Set owner', `data-test="owner-${esc(scope)}"`),
  );
  out.push(f(`<input type="hidden" name="action" value="rollback">`, 'Roll back to python', `data-test="rollback-${esc(scope)}"`));
  return out;
}

/** One control for a row: a menu that opens on the row's actions. */
function menu(label: string, items: readonly string[], scope: string): string {
  return `<details class="menu" data-test="menu-${esc(scope)}"><summary>${esc(label)}</summary><div>${items.join('')}</div></details>`;
}

// ---------------------------------------------------------------- figures

function ms(v: number | null): string {
  return v === null ? '—' : `${(v * 1000).toFixed(1)} ms`;
}

function rate(r: number): string {
  const text = `${(r * 100).toFixed(2)}%`;
  return r > ERROR_RATE_ALERT ? `<span class="hot" title="above ${ERROR_RATE_ALERT * 100}%">${text}</span>` : text;
}

export function figuresTable(f: LiveFigures, id = 'live'): string {
  return `<table id="${esc(id)}" class="compact"><tr><th>owner</th><th>requests/s</th><th>error rate</th><th>p50</th><th>p99</th><th>requests</th></tr>${f.owners
    .map(
      (o) =>
        `<tr data-owner="${esc(o.owner)}"><td>${ownerCell(o.owner, o.owner)}</td><td>${o.requests_per_second.toFixed(1)}</td><td>${rate(o.error_rate)}</td><td>${ms(o.p50_seconds)}</td><td>${ms(o.p99_seconds)}</td><td>${o.requests}</td></tr>`,
    )
    .join('')}</table>`;
}

// ---------------------------------------------------------------- owners page

export interface CapabilityRow {
  readonly capability: string;
  readonly routes: number;
  readonly owner: PlanSummary;
  readonly switch: unknown;
  readonly by_owner: Record<string, number>;
  readonly switches_say?: { readonly text: string; readonly set_by: string };
}

export interface FamilyRows {
  readonly family: string;
  readonly switch: unknown;
  readonly capabilities: readonly CapabilityRow[];
}

/** A scope's own canary selectors, set ones only: "percent 25 · orgs [a, b]". */
function ownSelectors(s: Snapshot, scope: string): string {
  return SELECTORS.map((x) => [x, switchValue(s, canaryKey(scope, x))] as const)
    .filter(([, v]) => v !== null)
    .map(([x, v]) => `${x} ${esc(fmt(v))}`)
    .join(' · ');
}

function byOwner(n: number, counts: Record<string, number>): string {
  return `${n} <span class="muted">(${Object.entries(counts)
    .map(([o, k]) => `${k} ${esc(o)}`)
    .join(', ')})</span>`;
}

export function ownersTable(who: Principal, s: Snapshot, fams: readonly FamilyRows[], readiness: ReadinessShown | null, changed: string | null): string {
  const rows = fams
    .map((f) => {
      const scope = `FAMILY_${f.family}`;
      const id = `family-${f.family}`;
      const famActions = actionForms(who, scope, s, { level: 'family', target: f.family, goAllowed: true, back: id });
      const famSel = ownSelectors(s, scope);
      const head = `<tr class="family${changed === id ? ' changed' : ''}" id="${esc(id)}"><th colspan="6">${esc(f.family)} <span class="muted">family switch ${esc(ownerKey('family', f.family))}: ${esc(fmt(f.switch))}${famSel ? ` · canary ${famSel}` : ''}</span></th><th>${famActions.length ? menu('Family…', famActions, scope) : ''}</th></tr>`;
      return (
        head +
        f.capabilities
          .map((c) => {
            const cs = `CAP_${c.capability}`;
            const cid = `cap-${c.capability}`;
            const goAllowed = readiness?.implements(c.capability) !== 'no';
            const items = actionForms(who, cs, s, { level: 'capability', target: c.capability, goAllowed, back: cid });
            items.push(`<a href="/dashboard/capability/${esc(c.capability)}">routes, canary lists, trace →</a>`);
            const control = who.role === 'operator' ? menu('Change…', items, cs) : `<a href="/dashboard/capability/${esc(c.capability)}">details</a>`;
            // Under the kill switch every row is python; what the switches say is what comes back when it goes off.
            const owner = c.switches_say
              ? `${ownerCell('python', 'python')} <span class="muted" title="the kill switch is on">(kill; switches: ${esc(c.switches_say.text)})</span>`
              : ownerCell(c.owner.owner, c.owner.text);
            const setBy = c.switches_say ? esc(c.switches_say.set_by) : `<span title="${esc(c.owner.origin)}">${esc(c.owner.set_by)}</span>`;
            return `<tr id="${esc(cid)}"${changed === cid ? ' class="changed"' : ''}><td class="nowrap"><a href="/dashboard/capability/${esc(c.capability)}">${esc(c.capability)}</a></td><td>${owner}</td><td class="nowrap">${setBy}</td><td>${ownSelectors(s, cs)}</td><td class="nowrap">${byOwner(c.routes, c.by_owner)}</td><td class="nowrap">${readinessCell(readiness, c.capability, (c.by_owner.go ?? 0) + (c.by_owner.canary ?? 0) > 0)}</td><td>${control}</td></tr>`;
          })
          .join('')
      );
    })
    .join('');
  return `<table id="owners" class="compact"><tr><th>capability</th><th>owner</th><th>set by</th><th>canary selectors (own)</th><th>routes</th><th>on go</th><th></th></tr>${rows}</table>`;
}

// ---------------------------------------------------------------- capability page

function canaryText(c: CanaryPlan): string {
  const part = (sel: (typeof SELECTORS)[number]): string => {
    const p = c[sel];
    const v = sel === 'percent' ? p.percent : p.listValue;
    const inherited = p.key !== null && p.key !== canaryKey(c.scope, sel);
    return `<li>${sel} ${esc(fmt(v))}${p.key ? ` <span class="muted">(${esc(p.key)}${inherited ? ', inherited' : ''})</span>` : ''}</li>`;
  };
  return `scope <code>${esc(c.scope)}</code><ul>${SELECTORS.map(part).join('')}</ul>`;
}

/**
 * What an operator needs before touching a capability: its owner (per group
 * of routes when route switches split it), who set it, its canary, whether go
 * implements it, and live figures per owner for it alone.
 */
export function capabilitySummary(s: Snapshot, capability: string, routes: readonly RouteRow[], readiness: ReadinessShown | null, live: CapabilityFigures): string {
  const plans = routes.map((r) => s.owner_map.routePlans[r.index]!);
  const groups = new Map<string, { sum: PlanSummary; n: number }>();
  for (const p of plans) {
    const sum = summarize(s, p);
    const k = `${sum.text}\0${sum.set_by}\0${sum.origin}`;
    const g = groups.get(k);
    if (g) g.n++;
    else groups.set(k, { sum, n: 1 });
  }
  const all = [...groups.values()];
  const setBy = (x: PlanSummary): string =>
    `<code>${esc(x.set_by || '(none)')}</code>${x.origin && x.origin !== 'default' ? ` at ${esc(x.origin)}` : x.origin === 'default' ? ' (nothing set: python)' : ''}`;
  const owner =
    all.length === 1
      ? `<dt>Owner</dt><dd id="cap-owner">${ownerCell(all[0]!.sum.owner, all[0]!.sum.text)} <span class="muted">(all ${routes.length} route${routes.length === 1 ? '' : 's'})</span></dd><dt>Set by</dt><dd id="cap-set-by">${setBy(all[0]!.sum)}</dd>`
      : `<dt>Owner</dt><dd id="cap-owner">mixed<ul>${all.map((g) => `<li>${g.n} route${g.n === 1 ? '' : 's'}: ${ownerCell(g.sum.owner, g.sum.text)}</li>`).join('')}</ul></dd><dt>Set by</dt><dd id="cap-set-by"><ul>${all.map((g) => `<li>${ownerCell(g.sum.owner, g.sum.owner)}: ${setBy(g.sum)}</li>`).join('')}</ul></dd>`;
  const canary = plans.find((p) => p.value === 'canary' && p.canary)?.canary;
  const own = ownSelectors(s, `CAP_${capability}`);
  const canaryDd =
    s.owner_map.forcePython.value && canary
      ? `not in force (kill switch); configured: ${canaryText(canary)}`
      : canary
        ? canaryText(canary)
        : own
          ? `not a canary; its own selectors (no effect now): ${own}`
          : 'not a canary';
  const r = readiness?.current();
  const ready = `${readinessCell(
    readiness,
    capability,
    plans.some((p) => summarize(s, p).owner !== 'python'),
  )}${r?.checked_at ? ` <span class="muted">(checked ${esc(r.checked_at)})</span>` : ''}`;
  const note =
    live.errors_and_latency_of === 'family'
      ? `requests of ${esc(capability)} alone; error rate and latency of its whole family ${esc(live.family)} (the proxy labels those by family only)`
      : `requests, error rate and latency of ${esc(capability)} alone`;
  return `<div class="box" id="summary"><dl class="summary">${owner}
<dt>Canary</dt><dd id="cap-canary">${canaryDd}</dd>
<dt>On go</dt><dd id="cap-readiness">${ready}</dd>
<dt>Family</dt><dd>${esc(live.family)}</dd></dl>
<h2>Live, per owner, for this capability</h2>${figuresTable(live, 'cap-live')}
<p class="muted">over the last ${live.window_seconds} s: ${note}; error rates above ${ERROR_RATE_ALERT * 100}% in red</p></div>`;
}

export function routesTable(who: Principal, s: Snapshot, routes: readonly RouteRow[], goAllowed: boolean, back: string): string {
  return `<table id="cap-routes" class="compact"><tr><th>route</th><th>method</th><th>pattern</th><th>owner</th><th>set by</th><th>route switch</th></tr>${routes
    .map((r) => {
      const sum = summarize(s, s.owner_map.routePlans[r.index]!);
      const own =
        who.role === 'operator'
          ? `<form class="inline" method="post" action="/dashboard/preview">${csrfInput(who)}<input type="hidden" name="back" value="${esc(back)}"><input type="hidden" name="action" value="owner"><input type="hidden" name="scope" value="${esc(r.id)}">${ownerSelect(r.id, ownValue(s, 'route', r.id), goAllowed)}<button>Set</button></form>`
          : esc(fmt(switchValue(s, ownerKey('route', r.id))));
      return `<tr><td>${esc(r.id)}</td><td>${esc(r.method)}</td><td><code>${esc(r.pattern)}</code></td><td>${ownerCell(sum.owner, sum.text)}</td><td><span title="${esc(sum.origin)}">${esc(sum.set_by)}</span></td><td>${own}</td></tr>`;
    })
    .join('')}</table>`;
}

export function traceTable(trace: readonly TraceEntry[]): string {
  return `<table id="trace" class="compact"><tr><th>level</th><th>key</th><th>value</th><th>won</th></tr>${trace
    .map(
      (e) =>
        `<tr><td>${esc(e.level)}</td><td>${esc(e.key)}</td><td>${esc(fmt(e.value))}${'selected_by' in e && e.selected_by ? ` (by ${esc(e.selected_by)})` : ''}</td><td>${e.won ? '✔' : ''}</td></tr>`,
    )
    .join('')}</table>`;
}

// ---------------------------------------------------------------- preview

export function changesTable(changes: readonly PlannedChange[]): string {
  return `<table id="changes" class="compact"><tr><th>key</th><th>now</th><th>after</th></tr>${changes.map((c) => `<tr><td><code>${esc(c.key)}</code></td><td>${esc(fmt(c.old))}</td><td>${esc(fmt(c.new))}</td></tr>`).join('') || '<tr><td colspan="3">nothing: already so</td></tr>'}</table>`;
}

export function movingRoutes(routes: readonly RouteChange[]): string {
  return `<p id="moving"><b>${routes.length}</b> route${routes.length === 1 ? '' : 's'} change owner:</p>
<table id="routes" class="compact"><tr><th>route</th><th>method</th><th>pattern</th><th>capability</th><th>owner</th></tr>${routes.map((r) => `<tr><td>${esc(r.route_id)}</td><td>${esc(r.method)}</td><td><code>${esc(r.pattern)}</code></td><td>${esc(r.capability)}</td><td>${ownerCell(r.before.owner, r.before.text)} → ${ownerCell(r.after.owner, r.after.text)}</td></tr>`).join('')}</table>`;
}

/** What the readiness gate says of a change, and the force box when it blocks. */
export function gateBlock(gate: GateResult | null): { html: string; force: string } {
  if (!gate) return { html: '', force: '' };
  const unverified = gate.unverified.length
    ? `<p class="warn" id="gate-unknown">go upstream not reachable: nobody can tell whether go implements ${gate.unverified.map((g) => esc(g.capability)).join(', ')}.</p>`
    : '';
  if (!gate.blocked.length) return { html: unverified, force: '' };
  return {
    html: `<div class="err" id="gate"><p><b>Not implemented on go:</b> ${gate.blocked.map((g) => `${esc(g.capability)} (${g.routes.length} route${g.routes.length === 1 ? '' : 's'})`).join(', ')}. This change would send their requests to go, where they would fail.</p></div>${unverified}`,
    force: `<p><label class="err"><input type="checkbox" name="force" value="true" id="force"> Send them to go anyway (forced: the switchboard log says so; your reason goes to the audit log)</label></p>`,
  };
}

// ---------------------------------------------------------------- history

/** An audit line as read: the write path's entries, and hand edits of config.yaml (actor "(file)", via "file edit", the keys edited). */
export type HistoryEntry = Partial<AuditEntry> & { readonly time: string };

/** A write names the snapshot it was made on; a hand edit, the snapshot that loaded it. */
function snapshotOf(e: HistoryEntry): string {
  if (e.snapshot_version === undefined || e.snapshot_version === null) return '—';
  return e.action === 'edit' || e.via === 'file edit' ? `became v${esc(e.snapshot_version)}` : `on v${esc(e.snapshot_version)}`;
}

export function historyTable(entries: readonly HistoryEntry[]): string {
  const keys = (e: HistoryEntry): string => (e.keys?.length ? e.keys : e.key ? [e.key] : []).map((k) => `<code>${esc(k)}</code>`).join(', ');
  // A hand edit names its keys, not their values (the file's diff has those).
  const change = (e: HistoryEntry): string => (e.keys?.length || e.action === 'edit' || !e.key ? '—' : `${esc(fmt(e.old))} → ${esc(fmt(e.new))}`);
  return `<table id="history" class="compact"><tr><th>when</th><th>who</th><th>via</th><th>snapshot</th><th>key</th><th>old → new</th><th>why</th><th>routes moved</th></tr>${entries
    .map(
      (e) =>
        `<tr><td class="nowrap">${esc(e.time)}</td><td>${esc(e.actor ?? '')}</td><td>${esc(e.via ?? 'cli')}</td><td class="nowrap">${snapshotOf(e)}</td><td>${keys(e)}</td><td>${change(e)}</td><td>${esc(e.reason ?? '')}</td><td>${esc(e.routes_changing_owner ?? '—')}</td></tr>`,
    )
    .join('')}</table>`;
}
