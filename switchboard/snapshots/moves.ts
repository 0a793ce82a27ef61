/**
 * What moved between two snapshots, for the provider's reload log line: the
 * keys that changed, the routes whose owner changed (by capability), and the
 * owners that serve traffic whose upstream changed or went away. Pure.
 */
import type { Plan } from '../core/owner-map.js';
import { routesByOwner, type Snapshot } from '../core/snapshot.js';
import type { Owner } from '../config/schema.js';

export interface UpstreamMove {
  readonly owner: Owner;
  /** Routes the owner serves in the snapshot before the change (a canary route counts for both owners). */
  readonly routes: number;
  readonly before: string | null;
  readonly after: string | null;
}

export interface Moves {
  readonly keys: readonly string[];
  readonly routes: number;
  readonly byCapability: Readonly<Record<string, number>>;
  readonly upstreams: readonly UpstreamMove[];
}

/** The owner a route really has: python under the kill switch or a hard failure; canary with its selectors. */
function effective(s: Snapshot, p: Plan): string {
  if (s.hard_failure || s.owner_map.forcePython.value) return 'python';
  if (p.value !== 'canary' || !p.canary) return p.value;
  const c = p.canary;
  return `canary ${c.scope} ${c.percent.percent ?? ''} ${[c.orgs, c.repos, c.users].map((x) => x.listValue?.join(',') ?? '').join('|')}`;
}

function keyValues(s: Snapshot): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of s.owner_map.config?.switches ?? []) out.set(`MIGRATION.${k}`, JSON.stringify(v.value));
  if (!s.hard_failure) for (const [k, v] of Object.entries(s.settings)) out.set(`SWITCHBOARD.${k}`, JSON.stringify(v));
  const q = s.owner_map.config?.quay;
  if (q) for (const [k, v] of Object.entries(q)) out.set(k, JSON.stringify(v));
  const kill = s.owner_map.forcePython;
  if (kill.origin.source === 'state') out.set('kill file', kill.origin.file);
  return out;
}

export function describeMoves(before: Snapshot, after: Snapshot): Moves {
  const a = keyValues(before);
  const b = keyValues(after);
  const keys = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
  const byCapability: Record<string, number> = {};
  let routes = 0;
  for (const r of after.owner_map.inventory.routes) {
    const x = before.owner_map.routePlans[r.index];
    const y = after.owner_map.routePlans[r.index];
    if (!x || !y || effective(before, x) === effective(after, y)) continue;
    routes++;
    byCapability[r.capability] = (byCapability[r.capability] ?? 0) + 1;
  }
  const upstreams: UpstreamMove[] = [];
  if (!before.hard_failure && !after.hard_failure) {
    const served = routesByOwner(before);
    for (const owner of ['python', 'go'] as const) {
      const x = before.settings.UPSTREAMS?.[owner] ?? null;
      const y = after.settings.UPSTREAMS?.[owner] ?? null;
      if (x === y || x === null) continue;
      const n = served[owner];
      if (n > 0) upstreams.push({ owner, routes: n, before: x, after: y });
    }
  }
  return { keys, routes, byCapability, upstreams };
}
