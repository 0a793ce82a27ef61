/**
 * Prometheus metrics of the proxy (DESIGN §5), prefix `switchboard_`, units in
 * names. Label children are cached so the hot path does one map look-up.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Decision } from '../core/types.js';

export interface MetricsSources {
  snapshot(): { version: number; updated_at: string; hard_failure: boolean; kill_switch: boolean };
  reloads(): { reloads_total: number; reload_failures_total: number };
  pins(): Promise<number>;
  inflight(): number;
}

export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly decisions: Counter<'owner' | 'capability' | 'family' | 'reason'>;
  private readonly duration: Histogram<'owner' | 'family'>;
  private readonly errors: Counter<'owner' | 'family' | 'kind'>;
  private readonly pinsRecorded: Counter<'owner'>;
  private readonly refusals: Counter<'reason'>;
  private readonly clientAborts: Counter<'owner' | 'capability' | 'family'>;
  private readonly retries: Counter<'owner' | 'capability' | 'family'>;
  private readonly serverErrors: Counter<'owner' | 'capability' | 'family'>;
  private readonly serverErrorChildren = new Map<string, { inc(): void }>();
  private readonly refusalChildren = new Map<string, { inc(): void }>();
  private readonly decisionChildren = new Map<string, { inc(): void }>();
  private readonly durationChildren = new Map<string, { observe(v: number): void }>();

  constructor(src: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_process_' });
    this.decisions = new Counter({
      name: 'switchboard_decisions_total',
      help: 'Owner decisions, by owner, capability, family and reason',
      labelNames: ['owner', 'capability', 'family', 'reason'],
      registers,
    });
    this.duration = new Histogram({
      name: 'switchboard_upstream_request_duration_seconds',
      help: 'Time from forwarding a request to the end of the upstream response',
      labelNames: ['owner', 'capability', 'family'],
      registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    });
    this.errors = new Counter({
      name: 'switchboard_upstream_errors_total',
      help: 'Requests the upstream could not answer (refused, timeout, reset, unavailable); a client leaving is not one (switchboard_client_aborts_total)',
      labelNames: ['owner', 'capability', 'family', 'kind'],
      registers,
    });
    this.pinsRecorded = new Counter({
      name: 'switchboard_upload_pins_recorded_total',
      help: 'Upload sessions pinned to their owner',
      labelNames: ['owner'],
      registers,
    });
    this.retries = new Counter({
      name: 'switchboard_upstream_retries_total',
      help: 'Bodiless GET/HEAD requests sent once more on a fresh connection after the kept-alive one broke before any answer, by owner',
      labelNames: ['owner', 'capability', 'family'],
      registers,
    });
    this.serverErrors = new Counter({
      name: 'switchboard_upstream_5xx_responses_total',
      help: 'Answers with a 5xx status the owner sent (the proxy’s own 502/504 are switchboard_upstream_errors_total), by owner; with those errors, the error rate the cutover gates judge',
      labelNames: ['owner', 'capability', 'family'],
      registers,
    });
    this.clientAborts = new Counter({
      name: 'switchboard_client_aborts_total',
      help: 'Requests the client left before the answer was complete, by the owner they were forwarded to (not an owner failure)',
      labelNames: ['owner', 'capability', 'family'],
      registers,
    });
    this.refusals = new Counter({
      name: 'switchboard_edge_refusals_total',
      help: 'Requests and connections the proxy refused itself, charged to no owner (malformed, bad_target, bad_request, bad_expectation, body_timeout, too_many_connections, too_many_uploads, overloaded)',
      labelNames: ['reason'],
      registers,
    });
    new Gauge({
      name: 'switchboard_snapshot_version',
      help: 'Version of the config snapshot in force',
      registers,
      collect() {
        this.set(src.snapshot().version);
      },
    });
    new Gauge({
      name: 'switchboard_snapshot_age_seconds',
      help: 'Seconds since the snapshot in force was loaded',
      registers,
      collect() {
        this.set((Date.now() - Date.parse(src.snapshot().updated_at)) / 1000);
      },
    });
    new Gauge({
      name: 'switchboard_config_hard_failure',
      help: '1 while no valid config was ever loaded (everything goes to python)',
      registers,
      collect() {
        this.set(src.snapshot().hard_failure ? 1 : 0);
      },
    });
    new Gauge({
      name: 'switchboard_kill_switch',
      help: '1 while MIGRATION_FORCE_PYTHON is on',
      registers,
      collect() {
        this.set(src.snapshot().kill_switch ? 1 : 0);
      },
    });
    new Counter({
      name: 'switchboard_config_reloads_total',
      help: 'Config snapshots installed',
      registers,
      collect() {
        this.reset();
        this.inc(src.reloads().reloads_total);
      },
    });
    new Counter({
      name: 'switchboard_config_reload_failures_total',
      help: 'Config reloads refused (last-known-good kept)',
      registers,
      collect() {
        this.reset();
        this.inc(src.reloads().reload_failures_total);
      },
    });
    new Gauge({
      name: 'switchboard_upload_pins_active',
      help: 'Upload sessions currently pinned to an owner',
      registers,
      async collect() {
        this.set(await src.pins());
      },
    });
    new Gauge({
      name: 'switchboard_inflight_requests',
      help: 'Requests being proxied now',
      registers,
      collect() {
        this.set(src.inflight());
      },
    });
  }

  decision(d: Decision): void {
    const key = `${d.owner}|${d.route_id ?? d.family ?? ''}|${d.reason}`;
    let c = this.decisionChildren.get(key);
    if (!c) {
      c = this.decisions.labels(d.owner, d.capability ?? 'unknown', d.family ?? 'unknown', d.reason);
      this.decisionChildren.set(key, c);
    }
    c.inc();
  }

  /** `capability` is null for requests no inventory row matches (then "unknown", as in decisions_total). */
  upstreamDone(owner: string, family: string | null, seconds: number, capability: string | null = null): void {
    const key = `${owner}|${capability ?? ''}|${family ?? ''}`;
    let h = this.durationChildren.get(key);
    if (!h) {
      h = this.duration.labels(owner, capability ?? 'unknown', family ?? 'unknown');
      this.durationChildren.set(key, h);
    }
    h.observe(seconds);
  }

  /** The owner answered with a 5xx status. */
  serverError(owner: string, family: string | null, capability: string | null): void {
    const key = `${owner}|${capability ?? ''}|${family ?? ''}`;
    let c = this.serverErrorChildren.get(key);
    if (!c) {
      c = this.serverErrors.labels(owner, capability ?? 'unknown', family ?? 'unknown');
      this.serverErrorChildren.set(key, c);
    }
    c.inc();
  }

  upstreamError(owner: string, family: string | null, kind: string, capability: string | null = null): void {
    this.errors.labels(owner, capability ?? 'unknown', family ?? 'unknown', kind).inc();
  }

  upstreamRetry(owner: string, family: string | null, capability: string | null = null): void {
    this.retries.labels(owner, capability ?? 'unknown', family ?? 'unknown').inc();
  }

  clientAbort(owner: string, family: string | null, capability: string | null = null): void {
    this.clientAborts.labels(owner, capability ?? 'unknown', family ?? 'unknown').inc();
  }

  refused(reason: string): void {
    let c = this.refusalChildren.get(reason);
    if (!c) {
      c = this.refusals.labels(reason);
      this.refusalChildren.set(reason, c);
    }
    c.inc();
  }

  pinRecorded(owner: string): void {
    this.pinsRecorded.labels(owner).inc();
  }
}
