/**
 * The two series every proxied request updates — decisions and upstream
 * duration — kept as plain numbers in cells the proxy holds on to, and turned
 * into Prometheus values only when the registry is read (a scrape, the
 * dashboard's sampler, the gates). prom-client would hash the label values
 * on every increment and observation; these cost a counter bump (and a short
 * bucket scan) per request. They register in a prom-client Registry like its
 * own metrics: the exposition, `getSingleMetric(name).get()`, `merge` and
 * `resetMetrics` see no difference.
 */
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

interface MetricValue {
  labels: Labels;
  value: number;
  metricName?: string;
}

interface MetricDump {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

/** Registers `m` in `registry` (prom-client accepts any object with its metric shape). */
function register(registry: Registry, m: object): void {
  (registry as unknown as { registerMetric(m: object): void }).registerMetric(m);
}

/** A metric's cells by label values, made on first use; its callers keep the cells they get. */
abstract class Cells<C> {
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';
  protected readonly cells = new Map<string, { labels: Labels; cell: C }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    register(registry, this);
  }

  protected abstract fresh(): C;

  cell(values: readonly string[]): C {
    const key = values.join('\u0000');
    let e = this.cells.get(key);
    if (!e) {
      e = { labels: labelsOf(this.labelNames, values), cell: this.fresh() };
      this.cells.set(key, e);
    }
    return e.cell;
  }

  protected dump(values: MetricValue[]): Promise<MetricDump> {
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }
}

export interface CounterCell {
  value: number;
}

/** A counter whose label sets are cells: `cell(values)` once, then `cell.value++` per event. */
export class HotCounter extends Cells<CounterCell> {
  readonly type = 'counter';

  protected fresh(): CounterCell {
    return { value: 0 };
  }

  get(): Promise<MetricDump> {
    return this.dump([...this.cells.values()].map((e) => ({ labels: { ...e.labels }, value: e.cell.value })));
  }

  /** Back to zero; cells held by callers stay valid. */
  reset(): void {
    for (const e of this.cells.values()) e.cell.value = 0;
  }
}

export interface HistogramCell {
  /** Observations per bucket (not cumulative); the last is above every bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** A histogram with the same cells: `observe(cell, v)` per event. */
export class HotHistogram extends Cells<HistogramCell> {
  readonly type = 'histogram';

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    super(name, help, labelNames, registry);
  }

  protected fresh(): HistogramCell {
    return { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }

  observe(cell: HistogramCell, v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    cell.counts[i]!++;
    cell.sum += v;
    cell.count++;
  }

  /** As prom-client exposes a histogram: cumulative `_bucket` series with `le` first, then `_sum` and `_count`. */
  get(): Promise<MetricDump> {
    const values: MetricValue[] = [];
    for (const { labels, cell } of this.cells.values()) {
      let acc = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        acc += cell.counts[i]!;
        values.push({ labels: { le: i < this.bounds.length ? String(this.bounds[i]) : '+Inf', ...labels }, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...labels }, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...labels }, value: cell.count, metricName: `${this.name}_count` });
    }
    return this.dump(values);
  }

  reset(): void {
    for (const { cell } of this.cells.values()) {
      cell.counts.fill(0);
      cell.sum = 0;
      cell.count = 0;
    }
  }
}

function labelsOf(names: readonly string[], values: readonly string[]): Labels {
  const out: Labels = {};
  names.forEach((n, i) => (out[n] = values[i] ?? ''));
  return out;
}
