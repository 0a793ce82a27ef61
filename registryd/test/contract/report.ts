/**
 * The contract's results per /v2 capability (owner-maps/routes.tsv; each
 * recorded response belongs to the capability of the route its request
 * matches, found by the switchboard's own route table, so the report speaks
 * of what the switchboard routes), for `npm run fidelity` and the Quay test's
 * summary:
 *
 *   sequences   runs with at least one step of the capability
 *   steps       recorded responses (challenges and token answers included)
 *   identical   steps whose normalised fields are equal on both sides
 *   listed      steps that differ only as the expectation table lists
 *   unlisted    steps that differ otherwise (a defect, or a missing entry)
 *   cross       per direction (`quay→ts`: written through Quay, read through
 *               the TS side; `ts→quay` the reverse), in the cross-reading
 *               runs: proven / checked, counting the reader's steps (proven:
 *               the same answer as the writer gives, but for listed
 *               differences), the writer's steps on a repository the reader
 *               read (proven: every read of that repository so), and for
 *               V2_AUTH the writer's tokens the reader was sent (proven: a
 *               request carrying it was answered so).
 */
import { loadInventory } from '../../../owner-maps/index.js';
import { RouteTable } from '../../../owner-maps/route-table.js';
import { V2_VERDICTS } from '../../../quay/capabilities.js';
import type { StepDiff, Verdict } from './lib.js';
import type { SequenceRun } from './runner.js';
import { repositoryOf } from './session.js';

export interface Judged {
  readonly run: SequenceRun;
  readonly verdict: Verdict;
}

export interface CrossCount {
  proven: number;
  checked: number;
}

export interface CapabilityRow {
  readonly capability: string;
  /** Whether quay/capabilities.ts claims it. */
  readonly claimed: boolean;
  sequences: number;
  steps: number;
  identical: number;
  listed: number;
  unlisted: number;
  /** By direction, e.g. `quay→ts`. */
  readonly cross: Record<string, CrossCount>;
}

const NO_ROUTE = '(no route)';
const FALLBACK_METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE'];

let table: RouteTable | undefined;

/** The capability of a request: its route's, or (a method the path has no rule for) the capability of the path's routes. */
export function capabilityOf(method: string, path: string): string {
  table ??= RouteTable.compile(loadInventory().routes, { librarySupport: true });
  const m = table.match(method, path) ?? FALLBACK_METHODS.map((x) => table!.match(x, path)).find((x) => x !== null) ?? null;
  return m && m.route.family === 'REGISTRY_V2' ? m.route.capability : NO_ROUTE;
}

/** `[oracle→ours, ours→oracle]` direction names for a pair called [ours, oracle]. */
export const directions = (names: readonly [string, string]): [string, string] => [`${names[1]}→${names[0]}`, `${names[0]}→${names[1]}`];

export function capabilityReport(results: readonly Judged[], names: readonly [string, string]): CapabilityRow[] {
  const dirs = directions(names);
  const rows = new Map<string, CapabilityRow>();
  const row = (capability: string): CapabilityRow => {
    let r = rows.get(capability);
    if (!r) {
      r = {
        capability,
        claimed: V2_VERDICTS.some((v) => v.capability === capability && v.claimed),
        sequences: 0,
        steps: 0,
        identical: 0,
        listed: 0,
        unlisted: 0,
        cross: Object.fromEntries(dirs.map((d) => [d, { proven: 0, checked: 0 }])),
      };
      rows.set(capability, r);
    }
    return r;
  };
  for (const v of V2_VERDICTS) row(v.capability);
  for (const { run, verdict } of results) {
    const differing = new Set(run.diffs.map((d: StepDiff) => d.step));
    const unlisted = new Set(verdict.unlisted.map((d) => d.step));
    const seen = new Set<string>();
    const labels = new Set([...run.ours.meta.keys(), ...run.oracle.meta.keys()]);
    const capOf = (label: string): string => {
      const meta = run.ours.meta.get(label) ?? run.oracle.meta.get(label)!;
      return capabilityOf(meta.method, meta.path);
    };
    for (const label of labels) {
      const cap = capOf(label);
      const r = row(cap);
      if (!seen.has(cap)) {
        seen.add(cap);
        r.sequences++;
      }
      r.steps++;
      if (!differing.has(label)) r.identical++;
      else if (unlisted.has(label)) r.unlisted++;
      else r.listed++;
    }
    if (run.writer === undefined) continue;
    const reader = run.writer === 'oracle' ? run.ours : run.oracle;
    const direction = run.writer === 'oracle' ? dirs[0] : dirs[1];
    const provenTokens = new Set<string>();
    const checkedTokens = new Set<string>();
    // Per repository: did every read of it through the reader come back identical?
    const readBack = new Map<string, boolean>();
    for (const [label, meta] of reader.meta) {
      if (meta.kind === 'token' || meta.side !== reader.target.side) continue;
      const same = !unlisted.has(label);
      const repo = repositoryOf(meta.path);
      readBack.set(repo, (readBack.get(repo) ?? true) && same);
      const c = row(capOf(label)).cross[direction]!;
      c.checked++;
      if (same) c.proven++;
      if (meta.tokenLabel !== undefined) {
        checkedTokens.add(meta.tokenLabel);
        if (same) provenTokens.add(meta.tokenLabel);
      }
    }
    // A write through the writer (a push, an upload) is proven when what it wrote read back identically through the reader.
    for (const [label, meta] of reader.meta) {
      if (meta.kind === 'token' || meta.side === reader.target.side) continue;
      const ok = readBack.get(repositoryOf(meta.path));
      if (ok === undefined) continue;
      const c = row(capOf(label)).cross[direction]!;
      c.checked++;
      if (ok && !unlisted.has(label)) c.proven++;
    }
    const auth = row('V2_AUTH').cross[direction]!;
    auth.checked += checkedTokens.size;
    auth.proven += provenTokens.size;
  }
  return [...rows.values()].sort((a, b) => (a.capability === NO_ROUTE ? 1 : b.capability === NO_ROUTE ? -1 : a.capability.localeCompare(b.capability)));
}

/** The rows as a fixed-width text table. */
export function formatCapabilityTable(rows: readonly CapabilityRow[], names: readonly [string, string]): string {
  const dirs = directions(names);
  const head = ['capability', 'claimed', 'sequences', 'steps', 'identical', 'listed', 'unlisted', ...dirs.map((d) => `cross ${d}`)];
  const body = rows.map((r) => [
    r.capability,
    r.claimed ? 'yes' : 'no',
    String(r.sequences),
    String(r.steps),
    String(r.identical),
    String(r.listed),
    String(r.unlisted),
    ...dirs.map((d) => {
      const c = r.cross[d]!;
      return c.checked === 0 ? '-' : `${c.proven}/${c.checked}`;
    }),
  ]);
  const total = [
    'total',
    '',
    '',
    ...[3, 4, 5, 6].map((i) => String(body.reduce((n, b) => n + Number(b[i]), 0))),
    ...dirs.map((d) => {
      const p = rows.reduce((n, r) => n + r.cross[d]!.proven, 0);
      const c = rows.reduce((n, r) => n + r.cross[d]!.checked, 0);
      return `${p}/${c}`;
    }),
  ];
  const all = [head, ...body, total];
  const width = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(width[i]!) : c.padStart(width[i]!))).join('  ');
  return [line(head), width.map((w) => '-'.repeat(w)).join('  '), ...body.map(line), width.map((w) => '-'.repeat(w)).join('  '), line(total)].join('\n');
}
