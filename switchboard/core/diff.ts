/** What changes owner between two snapshots: routes, worker programs and the kill switch. */
import { decideWorker } from './decide.js';
import { summarize, type PlanSummary } from './describe.js';
import type { Snapshot } from './snapshot.js';

export interface RouteChange {
  route_id: string;
  method: string;
  pattern: string;
  capability: string;
  family: string;
  before: PlanSummary;
  after: PlanSummary;
}
export interface WorkerChange {
  program: string;
  before: string;
  after: string;
}

export function diffSnapshots(a: Snapshot, b: Snapshot): { routes: RouteChange[]; workers: WorkerChange[]; kill_switch: { before: boolean; after: boolean } } {
  const routes: RouteChange[] = [];
  for (const r of a.owner_map.inventory.routes) {
    const before = summarize(a, a.owner_map.routePlans[r.index]!);
    const after = summarize(b, b.owner_map.routePlans[r.index]!);
    if (before.effective !== after.effective) routes.push({ route_id: r.id, method: r.method, pattern: r.pattern, capability: r.capability, family: r.family, before, after });
  }
  const workers: WorkerChange[] = [];
  for (const w of a.owner_map.inventory.workers) {
    const x = decideWorker(a, w.program)!.owner;
    const y = decideWorker(b, w.program)!.owner;
    if (x !== y) workers.push({ program: w.program, before: x, after: y });
  }
  return { routes, workers, kill_switch: { before: a.owner_map.forcePython.value, after: b.owner_map.forcePython.value } };
}
