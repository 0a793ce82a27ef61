/**
 * Who owns what, per family and capability, as the owners page and
 * GET /control/v1/state show it: the first route's owner summary, the
 * capability's own switch, route counts by owner, go's readiness verdict when
 * known, and under the kill switch what the switches say (what comes back
 * when it goes off).
 */
import { ownerKey } from '../config/keys.js';
import type { Plan } from '../core/owner-map.js';
import type { Snapshot } from '../core/snapshot.js';
import { canarySelectors, summarize, type PlanSummary } from '../core/describe.js';
import { switchValue } from './actions.js';
import type { ReadinessView } from './readiness-gate.js';

export type CapabilityOwnership = {
  capability: string;
  routes: number;
  owner: PlanSummary;
  switch: unknown;
  by_owner: Record<string, number>;
  implemented_on_go?: string;
  /** Under the kill switch: what the switches say (what comes back when it goes off). */
  switches_say?: { text: string; set_by: string };
};

/** What a plan's switches say, the kill switch aside. */
function switchesSay(p: Plan): { text: string; set_by: string } {
  const text = p.value === 'canary' && p.canary ? `canary ${canarySelectors(p.canary)}` : p.value;
  return { text, set_by: p.winner.origin?.source === 'default' ? '(default)' : p.winner.key };
}

/** Who owns what, per family and capability (with go's readiness verdict when known). */
export function ownership(s: Snapshot, readiness?: ReadinessView): { family: string; switch: unknown; capabilities: CapabilityOwnership[] }[] {
  const inv = s.owner_map.inventory;
  return inv.families
    .map((family) => {
      const caps = new Map<string, CapabilityOwnership>();
      for (const r of inv.routes) {
        if (r.family !== family) continue;
        const sum = summarize(s, s.owner_map.routePlans[r.index]!);
        let c = caps.get(r.capability);
        if (!c) {
          c = {
            capability: r.capability,
            routes: 0,
            owner: sum,
            switch: switchValue(s, ownerKey('capability', r.capability)),
            by_owner: {},
            ...(readiness ? { implemented_on_go: readiness.implements(r.capability) } : {}),
            ...(s.owner_map.forcePython.value && !s.hard_failure ? { switches_say: switchesSay(s.owner_map.routePlans[r.index]!) } : {}),
          };
          caps.set(r.capability, c);
        }
        c.routes++;
        c.by_owner[sum.owner] = (c.by_owner[sum.owner] ?? 0) + 1;
      }
      return { family, switch: switchValue(s, ownerKey('family', family)), capabilities: [...caps.values()] };
    })
    .filter((f) => f.capabilities.length > 0);
}
