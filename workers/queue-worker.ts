/**
 * A queue program: Quay's QueueWorker (workers/queueworker.py) as a
 * WorkerProgram. Each pass claims items from its queue one at a time until
 * the queue has nothing available or the program stops being go's; an item
 * in flight always finishes first. Per item, as Quay:
 *  - processed: complete (the row is deleted);
 *  - JobError (Quay's JobException: the item is at fault): incomplete after
 *    `retryAfterSeconds`, the claim's retry not given back;
 *  - WorkerUnhealthyError (the worker is at fault): incomplete with the retry
 *    given back, and the pass ends;
 *  - any other error: as a JobError, logged at error (Quay leaves such an
 *    item claimed until its reservation expires, which comes to the same
 *    retry, later and without a log line saying why);
 *  - a body that is not JSON: spent at once (`WorkQueue.fail`), with a log
 *    line; Quay's worker would crash on it at every claim until the retries
 *    ran out.
 * As Quay's, a claim holds for the reservation and no longer: an item still
 * being processed when it ends may be claimed by another worker (at-least-once
 * delivery), and a program whose items can run long has a long reservation.
 */
import type { Logger } from '../lib/log.js';
import { pythonJsonLoads } from '../lib/python-json.js';
import type { ClaimedItem, WorkQueue } from '../dal/portable/queue.js';
import type { WorkerProgram } from './runner.js';
import type { WorkerMetrics } from './metrics.js';

/** Quay's JobException: this item cannot be processed now; retried after retry_after while it has retries. */
export class JobError extends Error {
  override name = 'JobError';
}

/** Quay's WorkerUnhealthyException: the worker cannot work; the item goes back with its retry. */
export class WorkerUnhealthyError extends Error {
  override name = 'WorkerUnhealthyError';
}

export interface QueueProgramSpec {
  /** The program's name in owner-maps/workers.tsv. */
  readonly program: string;
  readonly queue: WorkQueue;
  /** Quay's poll_period_seconds: how often an idle worker looks for items. */
  readonly pollSeconds: number;
  /** Quay's reservation_seconds: how long a claim holds before another worker may take the item. */
  readonly reservationSeconds: number;
  /** Quay's retry_after_seconds. */
  readonly retryAfterSeconds: number;
  /** The work of one item; `job` is its body as Python's json.loads reads it (floats stay PyFloat, keys in order). */
  process(job: Record<string, unknown>, item: ClaimedItem): Promise<void>;
}

export function queueProgram(spec: QueueProgramSpec, log: Logger, metrics: WorkerMetrics | null): WorkerProgram {
  const { program, queue } = spec;
  const count = (outcome: 'claimed' | 'completed' | 'retried' | 'failed' | 'returned'): void => metrics?.item(program, outcome);

  async function one(item: ClaimedItem): Promise<'completed' | 'retried' | 'failed' | 'returned' | 'unhealthy'> {
    const fields = { program, queue_item: item.id, queue_name: item.queueName, retries_remaining: item.retriesRemaining };
    let job: Record<string, unknown>;
    try {
      // As Python's json.loads reads it (NaN and Infinity included).
      const parsed = pythonJsonLoads(item.body) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
      job = parsed as Record<string, unknown>;
    } catch (e) {
      log.error('queue item body is not a JSON object: marked failed, not retried', { ...fields, error: (e as Error).message, body: item.body.slice(0, 200) });
      await queue.fail(item);
      return 'failed';
    }
    const t0 = performance.now();
    try {
      await spec.process(job, item);
      await queue.complete(item);
      log.info('queue item done', { ...fields, duration_seconds: (performance.now() - t0) / 1000 });
      return 'completed';
    } catch (e) {
      const unhealthy = e instanceof WorkerUnhealthyError;
      const left = await queue.incomplete(item, { retryAfterSeconds: spec.retryAfterSeconds, restoreRetry: unhealthy });
      const error = (e as Error)?.message ?? String(e);
      if (unhealthy) {
        log.error('worker unhealthy: item returned with its retry, pass ended', { ...fields, error });
        return 'unhealthy';
      }
      const level = e instanceof JobError ? 'warn' : 'error';
      log[level](left ? `queue item failed: retried in ${spec.retryAfterSeconds} s` : 'queue item failed: no retries left', { ...fields, error });
      return left ? 'retried' : 'failed';
    }
  }

  return {
    program,
    everyMs: spec.pollSeconds * 1000,
    async run(active) {
      const did = { completed: 0, retried: 0, failed: 0 };
      while (active()) {
        const item = await queue.get({ processingSeconds: spec.reservationSeconds });
        if (item === null) break;
        count('claimed');
        const r = await one(item);
        if (r === 'unhealthy') {
          count('returned');
          break;
        }
        count(r);
        did[r as keyof typeof did]++;
      }
      if (metrics) metrics.queue(program, await queue.stats());
      return did.completed + did.retried + did.failed > 0 ? did : null;
    },
  };
}
