/**
 * The dashboard's cutover-gates parts: the panel on a capability's page
 * (each gate with its evidence and age, the recent windows, the last
 * automatic rollback and the re-arm form) and the block a preview shows
 * when a ramp would pass a failing gate.
 */
import type { Checklist, CutoverFinding } from './gate-checklist.js';
import type { CapabilityState } from './gate-state.js';
import type { OwnerWindow } from './gate-budget.js';
import type { ShadowDiff } from '../contract/compare.js';
import type { Principal } from './auth.js';
import { csrfInput, esc } from './dashboard-pages.js';

const MARK: Record<string, string> = { pass: '✔ pass', fail: '✘ FAIL', none: '– no evidence', warn: '! warn' };

function age(s: number | null): string {
  if (s === null) return '';
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

function side(w: OwnerWindow): string {
  const rate = w.requests ? `${((w.errors / w.requests) * 100).toFixed(2)}%` : '—';
  return `${w.requests} req, ${rate} err, p99 ${w.p99_ms === null ? '—' : `${w.p99_ms.toFixed(1)} ms`}`;
}

export function gatesPanel(who: Principal, c: Checklist, st: CapabilityState | null): string {
  const rows = c.gates
    .map(
      (g) =>
        `<tr class="gate-${g.status}" data-gate="${g.gate}"><td>${esc(g.gate)}</td><td class="nowrap">${MARK[g.status] ?? esc(g.status)}</td><td>${esc(g.evidence)}</td><td class="nowrap">${age(g.age_seconds)}</td></tr>`,
    )
    .join('');
  const recent = (st?.recent ?? []).slice(-8).reverse();
  const windows = recent.length
    ? `<table id="gate-windows" class="compact"><tr><th>window end</th><th>verdict</th><th>go</th><th>python</th><th>why</th></tr>${recent
        .map(
          (w) =>
            `<tr class="gate-${w.verdict === 'insufficient' ? 'none' : w.verdict}"><td class="nowrap">${esc(new Date(w.at).toISOString())}</td><td>${esc(w.verdict)}</td><td>${side(w.go)}</td><td>${side(w.python)}${w.baseline === 'earlier_window' ? ' (earlier window)' : ''}</td><td>${esc(w.reasons.join('; '))}</td></tr>`,
        )
        .join('')}</table>`
    : '<p>No window judged yet.</p>';
  const rb = st?.rollback;
  const rollback = rb
    ? `<p class="err" id="gate-rollback"><b>Rolled back to python automatically</b> at ${esc(new Date(rb.at).toISOString())} (snapshot v${rb.snapshot_version}${rb.written_here ? '' : ', written by another switchboard node'}): ${esc(rb.reason)}</p>`
    : '';
  const arm =
    st && !st.armed && who.role === 'operator'
      ? `<form method="post" action="/dashboard/arm" id="arm-form">${csrfInput(who)}<input type="hidden" name="capability" value="${esc(c.capability)}"><label>Why (for the audit log) <input name="reason" size="50" required></label> <button id="arm">Re-arm automatic rollback</button></form>`
      : '';
  const verdict = c.passed
    ? '<p id="gates-verdict">Gates pass: a ramp step is allowed.</p>'
    : `<p class="err" id="gates-verdict">Gates failing: ${c.blocking.map(esc).join(', ')} — a ramp needs an override with a reason.</p>`;
  return `<div class="box" id="gates">${verdict}<table id="gate-lines" class="compact"><tr><th>gate</th><th>status</th><th>evidence</th><th>age</th></tr>${rows}</table>${rollback}${arm}<h3>Recent windows</h3>${windows}</div>`;
}

/** What a preview shows when a ramp passes failing gates. */
export function cutoverBlock(found: readonly CutoverFinding[]): string {
  if (!found.length) return '';
  return `<div class="err" id="gates-failing"><p><b>Cutover gates failing:</b></p><ul>${found
    .map((f) => `<li>${esc(f.capability)}: ${f.lines.map((l) => `${esc(l.gate)} (${esc(l.evidence)})`).join('; ')}</li>`)
    .join('')}</ul></div>`;
}

const short = (v: unknown): string => {
  const t = v === undefined ? '(none)' : JSON.stringify(v);
  return t.length > 160 ? `${t.slice(0, 157)}…` : t;
};

/** The last shadow comparisons that differed: the request, where, and both values. */
export function shadowPanel(diffs: readonly ShadowDiff[]): string {
  if (!diffs.length) return '';
  return `<h3>Shadow diffs (newest first)</h3><table id="shadow-diffs" class="compact"><tr><th>when</th><th>request</th><th>answered / shadow</th><th>where</th><th>python</th><th>go</th></tr>${[
    ...diffs,
  ]
    .reverse()
    .map((d) =>
      d.differences
        .slice(0, 3)
        .map(
          (x, i) =>
            `<tr>${i === 0 ? `<td class="nowrap" rowspan="${Math.min(3, d.differences.length)}">${esc(d.at)}</td><td rowspan="${Math.min(3, d.differences.length)}"><code>${esc(d.method)} ${esc(d.path)}</code></td><td rowspan="${Math.min(3, d.differences.length)}">${esc(d.owner)} / ${esc(d.shadow_owner)}</td>` : ''}<td><code>${esc(x.where)}</code></td><td><code>${esc(short(x.python))}</code></td><td><code>${esc(short(x.go))}</code></td></tr>`,
        )
        .join(''),
    )
    .join('')}</table>`;
}
