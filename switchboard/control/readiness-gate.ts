/**
 * The readiness gate: which capabilities a change would newly send to go
 * while go says it does not implement them. One pure function behind the
 * dashboard, the control API and `switchboard set`, so each refuses the same
 * changes for the same reason.
 *
 * "Newly sends to go" is read from the switches alone (route → capability →
 * family → default), not from the kill switch: a go switch set while the kill
 * switch is on sends its routes to go the moment the kill switch goes off.
 * A route reaches go more after a change when it was on python (or a canary
 * that selects nobody) and now is go or a canary that selects someone, when a
 * canary becomes go, or when a canary's percent rises or one of its lists
 * gains a name. Lowering a canary, rolling back and unsetting to python never
 * count.
 */
import type { RouteRow } from '../../owner-maps/index.js';
import { classifyKey } from '../config/keys.js';
import type { Setting, SwitchConfig } from '../config/parse.js';
import { compileOwnerMap, type Plan } from '../core/owner-map.js';
import type { Snapshot } from '../core/snapshot.js';
import { SwitchboardError } from '../errors.js';
import type { SwitchChange } from './switches.js';

export type ReadinessVerdict = 'yes' | 'no' | 'unknown';

/** What the gate needs of the go readiness poller (proxy/readiness.ts's ReadinessMonitor has it). */
export interface ReadinessView {
  implements(capability: string): ReadinessVerdict;
}

export interface GateFinding {
  readonly capability: string;
  readonly verdict: 'no' | 'unknown';
  /** The routes of the capability that would reach go more than they do now. */
  readonly routes: readonly string[];
}

export interface GateResult {
  /** go says it does not implement these: refused unless forced. */
  readonly blocked: readonly GateFinding[];
  /** go did not answer (or was never asked): nobody can tell; a warning, not a refusal. */
  readonly unverified: readonly GateFinding[];
}

/** How much of a route's traffic its switches can send to go. */
type Exposure =
  { readonly kind: 'none' } | { readonly kind: 'all' } | { readonly kind: 'canary'; readonly percent: number; readonly lists: readonly (ReadonlySet<string> | null)[] };

function exposure(p: Plan): Exposure {
  if (p.value === 'go') return { kind: 'all' };
  if (p.value !== 'canary' || !p.canary) return { kind: 'none' };
  const c = p.canary;
  const lists = [c.orgs.list, c.repos.list, c.users.list];
  const percent = c.percent.percent ?? 0;
  if (percent <= 0 && lists.every((l) => !l || l.size === 0)) return { kind: 'none' };
  return { kind: 'canary', percent, lists };
}

/**
 * How much of a capability's traffic its switches send to go (kill switch
 * ignored): none, a canary (the largest percent of its routes, and whether a
 * list selects anyone), or all of it on at least one route.
 */
export function capabilityExposure(s: Snapshot, capability: string): { kind: 'none' | 'canary' | 'all'; percent: number } {
  let kind: 'none' | 'canary' | 'all' = 'none';
  let percent = 0;
  for (const r of s.owner_map.inventory.routes) {
    if (r.capability !== capability) continue;
    const e = exposure(s.owner_map.routePlans[r.index]!);
    if (e.kind === 'all') return { kind: 'all', percent: 100 };
    if (e.kind === 'canary') {
      kind = 'canary';
      percent = Math.max(percent, e.percent);
    }
  }
  return { kind, percent };
}

/** True when `after` can send to go some request `before` could not. */
export function reachesGoMore(before: Plan, after: Plan): boolean {
  const a = exposure(before);
  const b = exposure(after);
  if (b.kind === 'none' || a.kind === 'all') return false;
  if (a.kind === 'none' || b.kind === 'all') return true;
  if (a.kind !== 'canary' || b.kind !== 'canary') return false;
  return b.percent > a.percent || b.lists.some((l, i) => l !== null && [...l].some((name) => !(a.lists[i]?.has(name) ?? false)));
}

/**
 * The switches of `s` with `changes` applied, compiled (kill switch ignored).
 * A key the environment sets is left alone: a file change does not move it.
 * Keys that are not switches are skipped (the write path refuses them).
 */
export function plansAfter(s: Snapshot, changes: readonly SwitchChange[]): readonly Plan[] {
  const inv = s.owner_map.inventory;
  const base = s.owner_map.config;
  const switches = new Map<string, Setting>(base?.switches ?? []);
  for (const c of changes) {
    if (switches.get(c.key)?.origin.source === 'env') continue;
    const spec = classifyKey(c.key, inv);
    if ('code' in spec) continue;
    if (c.value === null || c.value === undefined) switches.delete(c.key);
    else switches.set(c.key, { key: c.key, spec, value: c.value, origin: { source: 'file', file: s.source.file, line: 0 } });
  }
  const config: SwitchConfig = base
    ? { ...base, switches }
    : { switches, settings: s.settings, quay: { FEATURE_LIBRARY_SUPPORT: true, LIBRARY_NAMESPACE: 'library' }, digest: '', envOverrides: [], file: s.source.file };
  return compileOwnerMap(inv, config, null).routePlans;
}

/** The routes that would reach go more after `changes`, by capability. */
export function routesNewlyToGo(s: Snapshot, changes: readonly SwitchChange[]): Map<string, RouteRow[]> {
  const after = plansAfter(s, changes);
  const out = new Map<string, RouteRow[]>();
  for (const r of s.owner_map.inventory.routes) {
    if (!reachesGoMore(s.owner_map.routePlans[r.index]!, after[r.index]!)) continue;
    const list = out.get(r.capability) ?? [];
    list.push(r);
    out.set(r.capability, list);
  }
  return out;
}

/** The capabilities `changes` would newly send to go that go does not implement (blocked) or may not (unverified). */
export function readinessGate(s: Snapshot, changes: readonly SwitchChange[], readiness: ReadinessView): GateResult {
  const blocked: GateFinding[] = [];
  const unverified: GateFinding[] = [];
  for (const [capability, routes] of routesNewlyToGo(s, changes)) {
    const v = readiness.implements(capability);
    if (v === 'yes') continue;
    (v === 'no' ? blocked : unverified).push({ capability, verdict: v, routes: routes.map((r) => r.id) });
  }
  return { blocked, unverified };
}

/** One sentence naming what is blocked, for errors in every surface. */
export function blockedMessage(blocked: readonly GateFinding[]): string {
  const names = blocked.map((b) => `${b.capability} (${b.routes.length} route${b.routes.length === 1 ? '' : 's'})`).join(', ');
  return `go does not implement ${names}: this change would send ${blocked.length === 1 ? 'its' : 'their'} requests to go, where they would fail`;
}

/** A change refused by the gate (SWB_GO_NOT_IMPLEMENTED); `how` says how to force it on the surface at hand. */
export class GoNotImplementedError extends SwitchboardError {
  constructor(
    readonly blocked: readonly GateFinding[],
    how: string,
  ) {
    super('SWB_GO_NOT_IMPLEMENTED', `${blockedMessage(blocked)}; nothing written — ${how}`);
  }
}
