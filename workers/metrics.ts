/**
 * The background programs' Prometheus metrics, registered in the registry
 * of the process that runs them (`quay serve`'s, or `quay worker`'s own):
 *
 *   workers_queue_items_total{program,outcome}    claimed, completed, retried, failed, returned
 *   workers_queue_depth{program,state}            available, running, spent (read after each pass)
 *   workers_queue_oldest_item_age_seconds{program}  how long the longest-waiting available item has waited
 *   workers_pass_total{program,result}            passes of every program, ok or error
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { QueueStats } from '../dal/portable/queue.js';

export type ItemOutcome = 'claimed' | 'completed' | 'retried' | 'failed' | 'returned';

export class WorkerMetrics {
  private readonly items: Counter<'program' | 'outcome'>;
  private readonly depth: Gauge<'program' | 'state'>;
  private readonly oldest: Gauge<'program'>;
  private readonly passes: Counter<'program' | 'result'>;

  constructor(
    /** The process's registry: a program with metrics of its own (globalpromstats) registers them here. */
    readonly registry: Registry,
    private readonly now: () => number = Date.now,
  ) {
    const registers = [registry];
    this.items = new Counter({
      name: 'workers_queue_items_total',
      help: 'Queue items handled by a program, by outcome: claimed, completed, retried (back on the queue after a failure), failed (no retries left, or unreadable), returned (given back by an unhealthy worker)',
      labelNames: ['program', 'outcome'],
      registers,
    });
    this.depth = new Gauge({
      name: 'workers_queue_depth',
      help: "Items in a program's queue by state (available, running, spent), as of its last pass",
      labelNames: ['program', 'state'],
      registers,
    });
    this.oldest = new Gauge({
      name: 'workers_queue_oldest_item_age_seconds',
      help: "How long the longest-waiting available item of a program's queue has been available, as of its last pass (0 when none)",
      labelNames: ['program'],
      registers,
    });
    this.passes = new Counter({
      name: 'workers_pass_total',
      help: 'Passes of a background program, by result (ok, error)',
      labelNames: ['program', 'result'],
      registers,
    });
  }

  item(program: string, outcome: ItemOutcome): void {
    this.items.inc({ program, outcome });
  }

  pass(program: string, ok: boolean): void {
    this.passes.inc({ program, result: ok ? 'ok' : 'error' });
  }

  queue(program: string, s: QueueStats): void {
    this.depth.set({ program, state: 'available' }, s.available);
    this.depth.set({ program, state: 'running' }, s.running);
    this.depth.set({ program, state: 'spent' }, s.spent);
    this.oldest.set({ program }, s.oldestAvailableMs === null ? 0 : Math.max(0, (this.now() - s.oldestAvailableMs) / 1000));
  }
}
