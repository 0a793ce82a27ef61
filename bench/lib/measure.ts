/**
 * Batch timing for nanosecond-scale operations. A single hrtime read costs
 * tens of nanoseconds, so operations are timed in batches and each batch
 * yields one ns/op sample; medians and tails are taken over batches.
 */

export interface Sampled {
  /** ns per operation, one entry per batch. */
  readonly samples: Float64Array;
  readonly ops: number;
  readonly totalNs: number;
  /** Whatever the operations produced, summed, so the work cannot be optimized away. */
  readonly sink: number;
}

export interface Summary {
  readonly batches: number;
  readonly ops: number;
  readonly medianNs: number;
  readonly p99Ns: number;
  readonly meanNs: number;
  readonly seconds: number;
}

/**
 * Times `op` over `items` (cyclically) in batches of `batch` until `budgetMs`
 * of wall-clock time has passed. Before each batch, `prepare` turns the next
 * items into what `op` gets, untimed: a benchmark uses it to hand `op` objects
 * it has never seen (as a server gets a new request string for every request)
 * without timing their creation. `op` returns a number summed into the sink.
 */
export function runBatches<T, U>(items: readonly T[], prepare: (item: T) => U, op: (arg: U) => number, batch: number, budgetMs: number): Sampled {
  if (items.length === 0) throw new Error('runBatches: no items');
  const end = process.hrtime.bigint() + BigInt(Math.round(budgetMs * 1e6));
  const scratch: U[] = [];
  let samples = new Float64Array(4096);
  let n = 0;
  let sink = 0;
  let idx = 0;
  const len = items.length;
  let spent = 0n;
  for (;;) {
    for (let i = 0; i < batch; i++) {
      scratch[i] = prepare(items[idx] as T);
      if (++idx === len) idx = 0;
    }
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) sink += op(scratch[i] as U);
    const t1 = process.hrtime.bigint();
    spent += t1 - t0;
    if (n === samples.length) {
      const s = new Float64Array(n * 2);
      s.set(samples);
      samples = s;
    }
    samples[n++] = Number(t1 - t0) / batch;
    if (t1 >= end) break;
  }
  return { samples: samples.subarray(0, n), ops: n * batch, totalNs: Number(spent), sink };
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

export function summarize(s: Sampled): Summary {
  const sorted = Float64Array.from(s.samples).sort();
  return {
    batches: sorted.length,
    ops: s.ops,
    medianNs: quantile(sorted, 0.5),
    p99Ns: quantile(sorted, 0.99),
    meanNs: s.totalNs / s.ops,
    seconds: s.totalNs / 1e9,
  };
}

/** Milliseconds taken by `fn`, and its result. */
export function timeMs<R>(fn: () => R): { ms: number; value: R } {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, value };
}

/** Left- or right-aligned text columns. */
export function table(rows: readonly (readonly string[])[], rightAligned: readonly boolean[]): string {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  return rows
    .map((r) =>
      r
        .map((c, i) => (rightAligned[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
