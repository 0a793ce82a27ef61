/**
 * Live figures per owner for the dashboard, read from the switchboard's own
 * Prometheus metrics: every few seconds the cumulative counters and the
 * duration histogram are sampled; figures over the last minutes are the
 * differences between the newest sample and the oldest one in the window.
 *   requests/s   switchboard_decisions_total
 *   error rate   (switchboard_upstream_errors_total + switchboard_upstream_5xx_responses_total) / requests
 *                (client aborts are their own metric)
 *   p50, p99     switchboard_upstream_request_duration_seconds, interpolated in its buckets
 *
 * Each sample keeps three cuts of the same series, keyed "<owner> <label>":
 * per owner, per owner and capability, per owner and family. Requests carry a
 * `capability` label; errors and durations are used per capability when their
 * series carry one, else per family (the capability's share of its family is
 * then unknown, and the figure says so: `errors_and_latency_of`).
 */
import type { Registry } from 'prom-client';

export interface OwnerSample {
  requests: number;
  errors: number;
  buckets: Map<number, number>;
  count: number;
}
export interface Sample {
  at: number;
  owners: Map<string, OwnerSample>;
  capabilities: Map<string, OwnerSample>;
  families: Map<string, OwnerSample>;
  /** Whether the error and duration series carry a capability label. */
  perCapability: { errors: boolean; durations: boolean };
}

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

export interface CapabilityFigures extends LiveFigures {
  readonly capability: string;
  readonly family: string;
  /** What error_rate and the percentiles measure: this capability, or (metrics without a capability label) its whole family. */
  readonly errors_and_latency_of: 'capability' | 'family';
}

type MetricValue = { labels: Record<string, string | number>; value: number; metricName?: string };

const OWNERS = ['python', 'go'] as const;

async function values(reg: Registry, name: string): Promise<MetricValue[]> {
  const m = reg.getSingleMetric(name);
  if (!m) return [];
  return ((await m.get()).values ?? []) as MetricValue[];
}

function series(o: Map<string, OwnerSample>, name: string): OwnerSample {
  let s = o.get(name);
  if (!s) {
    s = { requests: 0, errors: 0, buckets: new Map(), count: 0 };
    o.set(name, s);
  }
  return s;
}

export const EMPTY: OwnerSample = Object.freeze({ requests: 0, errors: 0, buckets: new Map<number, number>(), count: 0 });

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

/** The three cuts a metric value adds to: per owner, per owner and capability (when labelled), per owner and family. */
function cuts(s: Sample, v: MetricValue): OwnerSample[] {
  const owner = String(v.labels.owner);
  const out = [series(s.owners, owner)];
  if (v.labels.capability !== undefined) out.push(series(s.capabilities, `${owner} ${String(v.labels.capability)}`));
  if (v.labels.family !== undefined) out.push(series(s.families, `${owner} ${String(v.labels.family)}`));
  return out;
}

/** Requests, errors and latency of one owner's series between two cumulative samples. */
export function delta(a: OwnerSample, b: OwnerSample): { requests: number; errors: number; p50_seconds: number | null; p99_seconds: number | null } {
  const d = new Map([...b.buckets].map(([le, c]) => [le, c - (a.buckets.get(le) ?? 0)] as const));
  const count = b.count - a.count;
  return { requests: b.requests - a.requests, errors: b.errors - a.errors, p50_seconds: quantile(d, count, 0.5), p99_seconds: quantile(d, count, 0.99) };
}

/** Figures of one owner between two cumulative samples (errors and latency from `errorsOf`'s series, when given). */
function between(owner: string, a: OwnerSample, b: OwnerSample, secs: number, sameSample: boolean, errorsOf: { a: OwnerSample; b: OwnerSample } = { a, b }): OwnerFigures {
  const requests = b.requests - a.requests;
  const e = delta(errorsOf.a, errorsOf.b);
  return {
    owner,
    requests,
    requests_per_second: sameSample ? 0 : requests / secs,
    error_rate: e.requests > 0 ? e.errors / e.requests : 0,
    p50_seconds: e.p50_seconds,
    p99_seconds: e.p99_seconds,
  };
}

/** The cumulative counters and histogram of the proxy's metrics now, in the three cuts. */
export async function takeSample(registry: Registry, now: () => number = Date.now): Promise<Sample> {
  const s: Sample = { at: 0, owners: new Map(), capabilities: new Map(), families: new Map(), perCapability: { errors: false, durations: false } };
  for (const v of await values(registry, 'switchboard_decisions_total')) for (const c of cuts(s, v)) c.requests += v.value;
  for (const name of ['switchboard_upstream_errors_total', 'switchboard_upstream_5xx_responses_total']) {
    for (const v of await values(registry, name)) {
      if (v.labels.capability !== undefined) s.perCapability.errors = true;
      for (const c of cuts(s, v)) c.errors += v.value;
    }
  }
  for (const v of await values(registry, 'switchboard_upstream_request_duration_seconds')) {
    if (v.labels.capability !== undefined) s.perCapability.durations = true;
    const bucket = v.metricName?.endsWith('_bucket');
    if (!bucket && !v.metricName?.endsWith('_count')) continue;
    const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
    for (const c of cuts(s, v)) {
      if (bucket) c.buckets.set(le, (c.buckets.get(le) ?? 0) + v.value);
      else c.count += v.value;
    }
  }
  s.at = now();
  return s;
}

export class LiveStats {
  private readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | null = null;

  /** `registry`: the proxy's metrics (the dashboard registers its own few there too). */
  constructor(
    readonly registry: Registry,
    readonly windowSeconds = 300,
    private readonly everyMs = 5000,
    private readonly now = () => Date.now(),
  ) {}

  start(): void {
    void this.sample();
    this.timer = setInterval(() => {
      void this.sample();
    }, this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async sample(): Promise<void> {
    const s = await takeSample(this.registry, this.now);
    this.samples.push(s);
    while (this.samples.length > 2 && this.samples[1]!.at <= s.at - this.windowSeconds * 1000) this.samples.shift();
  }

  /** The oldest kept sample and a fresh one (taken at most once a second, however often pages are loaded). */
  private async window(): Promise<{ first: Sample; last: Sample; secs: number }> {
    const lastAt = this.samples[this.samples.length - 1]?.at;
    if (lastAt === undefined || this.now() - lastAt >= 1000) await this.sample();
    const last = this.samples[this.samples.length - 1]!;
    const first = this.samples[0]!;
    return { first, last, secs: Math.max((last.at - first.at) / 1000, 0.001) };
  }

  /** Figures per owner over the window. */
  async figures(): Promise<LiveFigures> {
    const { first, last, secs } = await this.window();
    return {
      window_seconds: first === last ? 0 : Math.round(secs),
      owners: OWNERS.map((o) => between(o, first.owners.get(o) ?? EMPTY, last.owners.get(o) ?? EMPTY, secs, first === last)),
    };
  }

  /** Figures per owner for one capability (of `family`) over the window. */
  async capabilityFigures(capability: string, family: string): Promise<CapabilityFigures> {
    const { first, last, secs } = await this.window();
    const exact = last.perCapability.errors && last.perCapability.durations;
    const owners = OWNERS.map((o) => {
      const cap = { a: first.capabilities.get(`${o} ${capability}`) ?? EMPTY, b: last.capabilities.get(`${o} ${capability}`) ?? EMPTY };
      const fam = { a: first.families.get(`${o} ${family}`) ?? EMPTY, b: last.families.get(`${o} ${family}`) ?? EMPTY };
      return between(o, cap.a, cap.b, secs, first === last, exact ? cap : fam);
    });
    return { capability, family, errors_and_latency_of: exact ? 'capability' : 'family', window_seconds: first === last ? 0 : Math.round(secs), owners };
  }
}
