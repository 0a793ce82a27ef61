/** Small arithmetic and formatting shared by the reports of the peer benchmarks. */
import { cpus, loadavg } from 'node:os';
import { columns, taskset } from './procs.js';

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** a ÷ b as `1.23×` (`68×` from 10 up, where decimals are noise; two digits below 0.1, `0.0045×`). */
export function ratio(a: number, b: number): string {
  const r = a / b;
  if (!Number.isFinite(r)) return '—';
  return `${r >= 10 ? r.toFixed(0) : r >= 0.1 || r === 0 ? r.toFixed(2) : r.toPrecision(2)}×`;
}

/** A rate with as many digits as mean something. */
export function rate(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

export function ms(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** The header line every peer benchmark prints: Node, the CPU, pinning and the machine's load now. */
export function machineLine(): string {
  const l = loadavg();
  return (
    `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${taskset ? 'registries pinned to cpu 1, clients on cpu 0' : 'no CPU pinning'}; ` +
    `load average ${l.map((x) => x.toFixed(2)).join(' ')}`
  );
}

/** Progress on stderr, so stdout is the report alone. */
export function progress(text: string): void {
  process.stderr.write(text);
}

/**
 * The table of a bench that times real Quay's code and ours on the same work in
 * alternating rounds: each one's median rate, its rounds, and TS ÷ Quay.
 */
export function versusQuayTable(
  what: string,
  unit: string,
  quay: { readonly label: string; readonly rounds: readonly number[] },
  ts: { readonly label: string; readonly rounds: readonly number[] },
): string {
  const q = median(quay.rounds);
  const t = median(ts.rounds);
  const rounds = (xs: readonly number[]): string => xs.map((x) => x.toFixed(0)).join(' ');
  return columns([
    [what, `${unit} (median)`, 'rounds', 'TS ÷ Quay'],
    [quay.label, q.toFixed(0), rounds(quay.rounds), ''],
    [ts.label, t.toFixed(0), rounds(ts.rounds), ratio(t, q)],
  ]);
}
