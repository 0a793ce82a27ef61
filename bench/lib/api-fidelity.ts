/**
 * The /api/v1 part of `npm run fidelity`: the sweep of every GET row
 * (test/lib/api-sweep.ts) as every contract identity, against real Quay and
 * the go side on one database, counted per API capability: requests,
 * identical answers (status, content type, normalized body, key order),
 * listed differences (still occurring) and unlisted ones.
 */
import { checkParity, startApiPair, EVERYONE } from '../../test/lib/api-contract.js';
import { sweepKnown, sweepRows } from '../../test/lib/api-sweep.js';
import type { TLike } from '../../test/lib/proc.js';

export interface ApiFidelityRow {
  readonly capability: string;
  readonly rows: number;
  readonly requests: number;
  readonly identical: number;
  readonly listed: number;
  readonly unlisted: number;
  readonly skipped: number;
}

export interface ApiFidelityReport {
  readonly capabilities: readonly ApiFidelityRow[];
  /** `ROUTE_x as identity: first difference`. */
  readonly unlisted: readonly string[];
}

const IDENTITIES = EVERYONE;
export async function runApiFidelity(t: TLike, progress: (line: string) => void): Promise<ApiFidelityReport> {
  progress('api: starting real Quay and the go side on one database');
  const pair = await startApiPair(t);
  const rows = await sweepRows(pair.quay.database);
  const by = new Map<string, { rows: number; requests: number; identical: number; listed: number; unlisted: number; skipped: number }>();
  const unlisted: string[] = [];
  for (const row of rows) {
    const c = by.get(row.capability) ?? { rows: 0, requests: 0, identical: 0, listed: 0, unlisted: 0, skipped: 0 };
    by.set(row.capability, c);
    c.rows++;
    if (row.outside) {
      c.skipped += IDENTITIES.length;
      continue;
    }
    const known = sweepKnown(row.route);
    let failures: string[] = [];
    const sink = {
      ok: (v: unknown, m: string) => {
        c.requests++;
        if (v) c.listed++;
        else failures.push(`stale: ${m}`);
      },
      same: (found: unknown, _wanted: unknown, m: string) => {
        c.requests++;
        const diffs = found as string[];
        if (diffs.length === 0) c.identical++;
        else failures.push(`${m}: ${diffs[0]}`);
      },
    };
    await checkParity(sink, pair, [row.path], IDENTITIES, { known });
    c.unlisted += failures.length;
    unlisted.push(...failures.map((f) => `${row.route} ${f}`));
    failures = [];
    progress(`api: ${row.route} ${row.handler}`);
  }
  return { capabilities: [...by.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([capability, c]) => ({ capability, ...c })), unlisted };
}

export function formatApiFidelity(r: ApiFidelityReport): string {
  const lines = ['', '/api/v1 (one request per GET row × 11 identities, real Quay vs the go side):', ''];
  const head = ['capability', 'rows', 'requests', 'identical', 'listed', 'unlisted', 'not compared'];
  const table = [head, ...r.capabilities.map((c) => [c.capability, c.rows, c.requests, c.identical, c.listed, c.unlisted, c.skipped].map(String))];
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) lines.push(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
  const total = r.capabilities.reduce((s, c) => s + c.requests, 0);
  const same = r.capabilities.reduce((s, c) => s + c.identical + c.listed, 0);
  lines.push('', `${same} of ${total} requests answered as real Quay answers (identical or a listed difference); ${r.unlisted.length} unlisted`);
  for (const u of r.unlisted.slice(0, 40)) lines.push(`  ${u}`);
  return `${lines.join('\n')}\n`;
}
