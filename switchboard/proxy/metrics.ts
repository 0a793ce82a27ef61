/**
 * Prometheus metrics of the proxy (DESIGN §5), prefix `switchboard_`, units in
 * names. The two series every request updates (decisions, duration) are
 * hot-metrics cells found by the decision's route; the rest, updated on
 * failures and rarities, are prom-client's own.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Decision } from '../core/types.js';
import { HotCounter, HotHistogram, type CounterCell, type HistogramCell } from './hot-metrics.js';

/** One route's cells (or one family's, for paths no route matches), per owner: python 0, go 1. */
interface RouteCells {
  readonly decisions: [Map<string, CounterCell>, Map<string, CounterCell>];
  readonly duration: [HistogramCell | null, HistogramCell | null];
}

export interface MetricsSources {
  snapshot(): { version: number; updated_at: string; hard_failure: boolean; kill_switch: boolean };
  reloads(): { reloads_total: number; reload_failures_total: number };
  pins(): Promise<number>;
  inflight(): number;
}

export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly decisions: HotCounter;
  private readonly duration: HotHistogram;
  private readonly routes = new Map<string, RouteCells>();
  private readonly errors: Counter<'owner' | 'family' | 'kind'>;
  private readonly pinsRecorded: Counter<'owner'>;
  private readonly refusals: Counter<'reason'>;
  private readonly clientAborts: Counter<'owner' | 'capability' | 'family'>;
  private readonly retries: Counter<'owner' | 'capability' | 'family'>;
  private readonly serverErrors: Counter<'owner' | 'capability' | 'family'>;
  private readonly serverErrorChildren = new Map<string, { inc(): void }>();
  private readonly refusalChildren = new Map<string, { inc(): void }>();

  constructor(src: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'switchboard_process_' });
    this.decisions = new HotCounter(
      'switchboard_decisions_total',
      'Owner decisions, by owner, capability, family and reason',
      ['owner', 'capability', 'family', 'reason'],
      this.registry,
    );
    this.duration = new HotHistogram(
      'switchboard_upstream_request_duration_seconds',
      'Time from forwarding a request to the end of the upstream response',
      ['owner', 'capability', 'family'],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      this.registry,
    );
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

  private cellsOf(d: Decision): RouteCells {
    // Route ids and family names are the inventory's own strings: their hashes are cached.
    const key = d.route_id ?? d.family ?? '';
    let r = this.routes.get(key);
    if (r === undefined) {
      r = { decisions: [new Map(), new Map()], duration: [null, null] };
      this.routes.set(key, r);
    }
    return r;
  }

  decision(d: Decision): void {
    const byReason = this.cellsOf(d).decisions[d.owner === 'go' ? 1 : 0];
    let c = byReason.get(d.reason);
    if (c === undefined) {
      c = this.decisions.cell([d.owner, d.capability ?? 'unknown', d.family ?? 'unknown', d.reason]);
      byReason.set(d.reason, c);
    }
    c.value++;
  }

  /** The upstream request decided by `d` ended after `seconds` (unmatched paths count as capability "unknown"). */
  upstreamDone(d: Decision, seconds: number): void {
    const r = this.cellsOf(d);
    const o = d.owner === 'go' ? 1 : 0;
    let h = r.duration[o];
    if (h === null) {
      h = this.duration.cell([d.owner, d.capability ?? 'unknown', d.family ?? 'unknown']);
      r.duration[o] = h;
    }
    this.duration.observe(h, seconds);
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
