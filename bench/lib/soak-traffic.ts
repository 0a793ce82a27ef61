/**
 * The well-behaved side of the soak: normal traffic through the proxy (a few
 * keep-alive clients, each request checked to come back from the owner it
 * belongs to), and the figures read from the admin listener's /metrics.
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';

export type OwnerName = 'python' | 'go';

export interface NormalRequest {
  /** Short label for reports (`GET manifest`). */
  readonly what: string;
  readonly method: 'GET' | 'PUT' | 'PATCH';
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  /** The owner that must answer: its `x-upstream` header. */
  readonly owner: OwnerName;
  /** The status the owner answers with (200 unless said). */
  readonly status?: number;
  /** Checks the upstream answer's header instead of `x-upstream` when false (an owner that does not send it). */
  readonly checkUpstreamHeader?: boolean;
}

export interface TrafficResult {
  /** Latency per successful request, ms, in completion order. */
  readonly latencies: number[];
  ok: number;
  /** Failed requests: wrong status, wrong owner, or an error; a few examples kept. */
  failed: number;
  readonly failures: string[];
  readonly seconds: number;
}

/**
 * The default mix: a manifest GET and a 4 KiB upload chunk (owner go, with
 * V2_PULL and V2_UPLOAD on go), a repository GET and a small repository PUT
 * on /api/v1 (owner python).
 */
export function defaultMix(): NormalRequest[] {
  const chunk = Buffer.alloc(4096, 7);
  return [
    { what: 'GET manifest', method: 'GET', path: '/v2/acme/app/manifests/latest', owner: 'go', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } },
    {
      what: 'PATCH upload chunk',
      method: 'PATCH',
      path: `/v2/acme/app/blobs/uploads/${randomUUID()}`,
      owner: 'go',
      body: chunk,
      headers: { 'content-type': 'application/octet-stream', 'content-range': '0-4095' },
    },
    { what: 'GET repository', method: 'GET', path: '/api/v1/repository/acme/app', owner: 'python' },
    {
      what: 'PUT repository',
      method: 'PUT',
      path: '/api/v1/repository/acme/app',
      owner: 'python',
      body: '{"description":"soak"}',
      headers: { 'content-type': 'application/json' },
    },
  ];
}

export interface TrafficOptions {
  readonly clients: number;
  readonly seconds: number;
  /**
   * Requests per second over all clients, each client on its own fixed
   * schedule; 0: as fast as they go (a closed loop that saturates whatever is
   * slowest). With a rate, a latency counts from when the request was due,
   * not when it went out, so a stall is charged to every request it delayed
   * (no coordinated omission).
   */
  readonly rate?: number;
  /** A request not answered by then counts as failed (default 10 s). */
  readonly timeoutMs?: number;
}

/** `clients` keep-alive loops over one pool sending the mix's requests in turn; every answer checked for status and owner. */
export async function runNormalTraffic(port: number, mix: readonly NormalRequest[], o: TrafficOptions): Promise<TrafficResult> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  const pool = new Pool(`http://127.0.0.1:${port}`, {
    connections: o.clients,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const res: TrafficResult = { latencies: [], ok: 0, failed: 0, failures: [], seconds: o.seconds };
  const fail = (why: string): void => {
    res.failed++;
    if (res.failures.length < 10) res.failures.push(why);
  };
  const begin = performance.now();
  const end = begin + o.seconds * 1000;
  const interval = o.rate ? (1000 * o.clients) / o.rate : 0;
  const loop = async (k: number): Promise<void> => {
    for (let i = 0; ; i++) {
      const due = interval ? begin + (k / o.clients + i) * interval : performance.now();
      if (due >= end) return;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const r = mix[(k + i) % mix.length]!;
      try {
        const a = await pool.request({ method: r.method, path: r.path, headers: { host: 'registry.example.com', ...r.headers }, body: r.body ?? null });
        await a.body.dump({ limit: 1 << 20 });
        const ms = performance.now() - due;
        const from = a.headers['x-upstream'];
        if (a.statusCode !== (r.status ?? 200))
          fail(`${r.what}: status ${a.statusCode}${a.headers['x-switchboard-error'] ? ` (${String(a.headers['x-switchboard-error'])})` : ''}`);
        else if (r.checkUpstreamHeader !== false && from !== r.owner) fail(`${r.what}: answered by ${String(from)}, not ${r.owner}`);
        else {
          res.ok++;
          res.latencies.push(ms);
        }
      } catch (e) {
        fail(`${r.what}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.clients }, (_, k) => loop(k)));
  await pool.close();
  return res;
}

/** The p-th percentile (0–100) of `xs` (nearest rank); NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

// ---------------------------------------------------------------- /metrics

export async function scrapeMetrics(adminPort: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
  if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${(await r.text()).slice(0, 200)}`);
  return r.text();
}

export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Every sample of the exposition text whose metric name matches `name`. */
export function samples(text: string, name: RegExp): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)/.exec(line);
    if (!m || !name.test(m[1]!)) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** `name{labels}` of a sample, for reports. */
export function sampleKey(s: Sample, skip: readonly string[] = []): string {
  const l = Object.entries(s.labels)
    .filter(([k]) => !skip.includes(k))
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return l ? `${s.name}{${l}}` : s.name;
}

/** Sums samples by the key `key(sample)` returns. */
export function sumBy(ss: readonly Sample[], key: (s: Sample) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of ss) out.set(key(s), (out.get(key(s)) ?? 0) + s.value);
  return out;
}

/** after − before, per key, keeping only keys that moved. */
export function delta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const k of new Set([...before.keys(), ...after.keys()])) {
    const d = (after.get(k) ?? 0) - (before.get(k) ?? 0);
    if (d !== 0) out.set(k, d);
  }
  return out;
}

/** switchboard_upstream_errors_total summed per owner (python, go always present). */
export function upstreamErrorsByOwner(text: string): Map<string, number> {
  const m = sumBy(samples(text, /^switchboard_upstream_errors_total$/), (s) => s.labels.owner ?? '?');
  for (const o of ['python', 'go']) if (!m.has(o)) m.set(o, 0);
  return m;
}

/** switchboard_client_aborts_total per owner: clients that left before their answer (not owner failures). */
export function clientAbortsByOwner(text: string): Map<string, number> {
  return sumBy(samples(text, /^switchboard_client_aborts_total$/), (s) => s.labels.owner ?? '?');
}

/** switchboard_upstream_errors_total per owner and kind (`go/reset`). */
export function upstreamErrorsByKind(text: string): Map<string, number> {
  return sumBy(samples(text, /^switchboard_upstream_errors_total$/), (s) => `${s.labels.owner ?? '?'}/${s.labels.kind ?? '?'}`);
}

/** Counters of requests the edge refused itself, if the proxy exports any (`switchboard_*reject*`, `*refus*`), by name and labels. */
export function edgeRefusals(text: string): Map<string, number> {
  return sumBy(samples(text, /^switchboard_\w*(reject|refus)\w*$/), (s) => sampleKey(s));
}

/** switchboard_dashboard_login_failures_total by reason. */
export function loginFailures(text: string): Map<string, number> {
  return sumBy(samples(text, /^switchboard_dashboard_login_failures_total$/), (s) => s.labels.reason ?? '?');
}
