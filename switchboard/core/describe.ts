/** How plans, origins and canary settings read in CLI output: one wording for every command. */
import type { Origin } from '../config/parse.js';
import type { CanaryPlan, Plan } from './owner-map.js';
import type { Snapshot } from './snapshot.js';

export function origin(o: Origin | null): string {
  if (!o) return '';
  switch (o.source) {
    case 'file':
      return `${o.file}:${o.line}`;
    case 'env':
      return `env ${o.name}`;
    case 'state':
      return `${o.file} (${o.actor}, ${o.since}${o.reason ? `: ${o.reason}` : ''})`;
    case 'default':
      return 'default';
  }
}

/** "5% + orgs [test-org]", or "no selectors (nobody)" when nothing can select go. */
export function canarySelectors(c: CanaryPlan): string {
  const parts: string[] = [];
  if (c.percent.percent !== null) parts.push(`${c.percent.percent}%`);
  for (const sel of [c.orgs, c.repos, c.users]) {
    if (sel.listValue && sel.listValue.length > 0) parts.push(`${sel.selector} [${sel.listValue.join(', ')}]`);
  }
  return parts.length ? parts.join(' + ') : 'no selectors (nobody)';
}

export interface PlanSummary {
  /** python, go, or canary — or python (kill switch / hard failure) when those win. */
  readonly owner: string;
  /** One line: "canary 5% + orgs [test-org]" etc. */
  readonly text: string;
  /** What decides ownership, for comparisons: python under the kill switch whatever the switches say. */
  readonly effective: string;
  readonly set_by: string;
  readonly origin: string;
  readonly canary_percent: number | null;
}

export function summarize(s: Snapshot, plan: Plan): PlanSummary {
  if (s.hard_failure) return { owner: 'python', text: 'python (no valid config: hard failure)', effective: 'python', set_by: '', origin: '', canary_percent: null };
  const kill = s.owner_map.forcePython;
  if (kill.value) return { owner: 'python', text: 'python (kill switch)', effective: 'python', set_by: kill.key, origin: origin(kill.origin), canary_percent: null };
  const w = plan.winner;
  const base = { set_by: w.origin?.source === 'default' ? '(default)' : w.key, origin: origin(w.origin) };
  if (plan.value === 'canary' && plan.canary) {
    const text = `canary ${canarySelectors(plan.canary)}`;
    return { ...base, owner: 'canary', text, effective: text, canary_percent: plan.canary.percent.percent ?? 0 };
  }
  return { ...base, owner: plan.value, text: plan.value, effective: plan.value, canary_percent: null };
}
