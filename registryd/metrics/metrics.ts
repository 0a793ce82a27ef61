/**
 * Prometheus metrics of registryd, prefix `registryd_`, units in names:
 * requests by inventory route id, method and status; their duration; tokens
 * issued; bytes of blobs received and sent.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class RegistryMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'route_id' | 'method' | 'status'>;
  private readonly duration: Histogram<'route_id' | 'method'>;
  readonly tokensIssued: Counter<'entity_kind'>;
  private readonly children = new Map<string, { inc(): void }>();
  private readonly durations = new Map<string, { observe(v: number): void }>();

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'registryd_process_' });
    this.requests = new Counter({
      name: 'registryd_http_requests_total',
      help: '/v2 requests answered, by inventory route id, method and status',
      labelNames: ['route_id', 'method', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'registryd_http_request_duration_seconds',
      help: 'Time from request to the end of the response, by route id and method',
      labelNames: ['route_id', 'method'],
      registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    });
    this.tokensIssued = new Counter({
      name: 'registryd_auth_tokens_issued_total',
      help: 'Registry bearer tokens issued by /v2/auth, by entity kind',
      labelNames: ['entity_kind'],
      registers,
    });
  }

  observe(routeId: string, method: string, status: number, seconds: number): void {
    const k = `${routeId}\0${method}\0${status}`;
    let c = this.children.get(k);
    if (!c) {
      c = this.requests.labels(routeId, method, String(status));
      this.children.set(k, c);
    }
    c.inc();
    const dk = `${routeId}\0${method}`;
    let d = this.durations.get(dk);
    if (!d) {
      d = this.duration.labels(routeId, method);
      this.durations.set(dk, d);
    }
    d.observe(seconds);
  }
}
