/**
 * Load from wrk against the peers of the registry and auth benchmarks,
 * alternating between them, with the CPU time each peer's process spent.
 */
import { cpuSeconds, wrk } from './procs.js';
import type { Peer } from './peers.js';

/**
 * wrk's figures for one peer over the rounds: mean requests/s and p50, worst
 * p99, errors summed, and the CPU time the peer's process spent per request
 * (its database server's, where it has one, not included).
 */
export interface LoadFigures {
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  cpuUsPerRequest: number;
}

/** wrk's `-H` arguments for the peer's headers. */
export function wrkHeaders(p: Peer): string[] {
  return Object.entries(p.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);
}

/**
 * `wrk -c connections` on `path` of every peer: an untimed warm-up of
 * `warmSeconds` each, then two halves of `seconds` each, alternating between
 * the peers so that drift in the machine's load hits all of them. wrk's
 * timeout is 10 s, so a slow answer counts in the latencies, not as an error.
 */
export function wrkAlternating(
  peers: readonly Peer[],
  path: string,
  seconds: number,
  connections: number,
  extra: readonly string[] = [],
  warmSeconds = 2,
): Map<string, LoadFigures> {
  const run = (p: Peer, s: number): ReturnType<typeof wrk> => wrk(`${p.base}${path}`, s, connections, ['--timeout', '10s', ...wrkHeaders(p), ...extra]);
  for (const p of peers) run(p, warmSeconds);
  const got = new Map(peers.map((p) => [p.name, { rps: 0, p50ms: 0, p99ms: 0, errors: 0, cpuUsPerRequest: 0, cpu: 0, requests: 0 }]));
  for (let half = 0; half < 2; half++) {
    for (const p of peers) {
      const cpu0 = cpuSeconds(p.pid);
      const w = run(p, seconds / 2);
      const f = got.get(p.name)!;
      f.cpu += cpuSeconds(p.pid) - cpu0;
      f.requests += w.requests;
      f.rps += w.rps / 2;
      f.p50ms += w.p50ms / 2;
      f.p99ms = Math.max(f.p99ms, w.p99ms);
      f.errors += w.errors;
      process.stderr.write('.');
    }
  }
  return new Map([...got].map(([name, { cpu, requests, ...f }]) => [name, { ...f, cpuUsPerRequest: (cpu / requests) * 1e6 }]));
}
