/**
 * Live figures per owner for the dashboard, read from the switchboard's own
 * Prometheus metrics: every few seconds the cumulative counters and the
 * duration histogram are sampled; figures over the last minutes are the
 * differences between the newest sample and the oldest one in the window.
 *   requests/s   switchboard_decisions_total
 *   error rate   switchboard_upstream_errors_total (client_abort excluded) / requests
 *   p50, p99     switchboard_upstream_request_duration_seconds, interpolated in its buckets
 */
import type { Registry } from 'prom-client';

interface OwnerSample { requests: number; errors: number; buckets: Map<number, number>; count: number }
interface Sample { at: number; owners: Map<string, OwnerSample> }

export interface OwnerFigures {
  readonly owner: string;
  readonly requests_per_second: number;
  readonly error_rate: number;
  readonly p50_seconds: number | null;
  readonly p99_seconds: number | null;
  readonly requests: number;
}

export interface LiveFigures {
  readonly window_seconds: number;
  readonly owners: readonly OwnerFigures[];
}

type MetricValue = { labels: Record<string, string | number>; value: number; metricName?: string };

async function values(reg: Registry, name: string): Promise<MetricValue[]> {
  const m = reg.getSingleMetric(name);
  if (!m) return [];
  return ((await m.get()).values ?? []) as MetricValue[];
}

function owner(o: Map<string, OwnerSample>, name: string): OwnerSample {
  let s = o.get(name);
  if (!s) { s = { requests: 0, errors: 0, buckets: new Map(), count: 0 }; o.set(name, s); }
  return s;
}

/** The q-quantile from cumulative bucket counts (upper bound → count), interpolated linearly inside a bucket. */
export function quantile(buckets: ReadonlyMap<number, number>, total: number, q: number): number | null {
  if (total <= 0) return null;
  const bounds = [...buckets.keys()].filter((b) => Number.isFinite(b)).sort((a, b) => a - b);
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const b of bounds) {
    const c = buckets.get(b)!;
    if (c >= rank) return c === prevCount ? b : prevBound + ((b - prevBound) * (rank - prevCount)) / (c - prevCount);
    prevBound = b;
    prevCount = c;
  }
  return bounds.length ? bounds[bounds.length - 1]! : null;
}

export class LiveStats {
  private readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly registry: Registry, readonly windowSeconds = 300, private readonly everyMs = 5000, private readonly now = () => Date.now()) {}

  start(): void {
    void this.sample();
    this.timer = setInterval(() => { void this.sample(); }, this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async sample(): Promise<void> {
    const owners = new Map<string, OwnerSample>();
    for (const v of await values(this.registry, 'switchboard_decisions_total')) owner(owners, String(v.labels.owner)).requests += v.value;
    for (const v of await values(this.registry, 'switchboard_upstream_errors_total')) {
      if (v.labels.kind !== 'client_abort') owner(owners, String(v.labels.owner)).errors += v.value;
    }
    for (const v of await values(this.registry, 'switchboard_upstream_request_duration_seconds')) {
      const o = owner(owners, String(v.labels.owner));
      if (v.metricName?.endsWith('_bucket')) {
        const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
        o.buckets.set(le, (o.buckets.get(le) ?? 0) + v.value);
      } else if (v.metricName?.endsWith('_count')) o.count += v.value;
    }
    const at = this.now();
    this.samples.push({ at, owners });
    while (this.samples.length > 2 && this.samples[1]!.at <= at - this.windowSeconds * 1000) this.samples.shift();
  }

  /** Figures over the window (from the oldest kept sample to a fresh one). */
  async figures(): Promise<LiveFigures> {
    // A fresh sample at most once a second, however often the page is loaded.
    const lastAt = this.samples[this.samples.length - 1]?.at;
    if (lastAt === undefined || this.now() - lastAt >= 1000) await this.sample();
    const last = this.samples[this.samples.length - 1]!;
    const first = this.samples[0]!;
    const secs = Math.max((last.at - first.at) / 1000, 0.001);
    const out: OwnerFigures[] = [];
    for (const name of ['python', 'go']) {
      const a = first.owners.get(name) ?? { requests: 0, errors: 0, buckets: new Map<number, number>(), count: 0 };
      const b = last.owners.get(name) ?? { requests: 0, errors: 0, buckets: new Map<number, number>(), count: 0 };
      const requests = b.requests - a.requests;
      const errors = b.errors - a.errors;
      const delta = new Map([...b.buckets].map(([le, c]) => [le, c - (a.buckets.get(le) ?? 0)] as const));
      const count = b.count - a.count;
      out.push({
        owner: name, requests, requests_per_second: first === last ? 0 : requests / secs,
        error_rate: requests > 0 ? errors / requests : 0,
        p50_seconds: quantile(delta, count, 0.5), p99_seconds: quantile(delta, count, 0.99),
      });
    }
    return { window_seconds: first === last ? 0 : Math.round(secs), owners: out };
  }
}
