/**
 * The fidelity run behind `npm run fidelity` (bench/fidelity.ts): every
 * sequence against the Quay tier, judged against expectations-quay.ts with
 * the runner and judge the contract test uses, summed up per capability
 * (report.ts). The test (quay-oracle.test.ts) asserts the same verdicts.
 */
import { CATEGORIES, asTableEntry, showValue, type Category } from './lib.js';
import { judgeRun, runSequence } from './runner.js';
import { capabilityReport, directions, formatCapabilityTable, type CapabilityRow, type Judged } from './report.js';
import { QUAY_EXPECTED, QUAY_RULES } from './expectations-quay.js';
import type { QuayTier } from './quay-tier.js';
import type { Sequence } from './session.js';

export const QUAY_TABLE = { steps: QUAY_EXPECTED, rules: QUAY_RULES };

export interface RunSummary {
  readonly id: string;
  readonly steps: number;
  readonly identical: number;
  readonly listed: number;
  readonly unlisted: number;
}

export interface UnlistedDeviation {
  readonly run: string;
  readonly step: string;
  readonly fields: readonly { readonly field: string; readonly ts: string | null; readonly quay: string | null }[];
  /** The entry to add to expectations-quay.ts once the difference is understood. */
  readonly entry: string;
}

export interface FidelityReport {
  readonly oracle: 'quay';
  readonly sides: { readonly ours: string; readonly oracle: string };
  readonly durationMs: number;
  readonly sequences: number;
  readonly runs: readonly RunSummary[];
  readonly capabilities: readonly CapabilityRow[];
  /** Field differences explained, by category (rules and step entries). */
  readonly listedFields: Record<Category, number>;
  readonly unlisted: readonly UnlistedDeviation[];
  /** Table entries (and, after a complete run, rules) whose difference did not occur. */
  readonly stale: readonly string[];
}

/**
 * Runs `sequences` (in order) on the tier and judges them. `complete`: every
 * sequence ran, so a rule that applied nowhere is stale too.
 */
export async function runFidelity(tier: QuayTier, sequences: readonly Sequence[], progress: (line: string) => void, complete: boolean): Promise<FidelityReport> {
  const t0 = Date.now();
  const results: Judged[] = [];
  const stale: string[] = [];
  const usedRules = new Set<unknown>();
  const listedFields = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  for (const [i, seq] of sequences.entries()) {
    const s0 = Date.now();
    const runs = await runSequence(tier, seq);
    for (const run of runs) {
      const verdict = judgeRun(run, QUAY_TABLE);
      results.push({ run, verdict });
      for (const r of verdict.usedRules) usedRules.add(r);
      for (const c of CATEGORIES) listedFields[c] += verdict.fieldCounts[c];
      for (const e of verdict.stale)
        stale.push(
          `${e.seq} / ${e.step} (${e.category}): ${Object.entries(e.fields)
            .map(([f, p]) => `${f}: ${showValue(p[0])} vs ${showValue(p[1])}`)
            .join('; ')}`,
        );
      for (const f of [...run.ours.setupFailures.map((x) => `ts: ${x}`), ...run.oracle.setupFailures.map((x) => `quay: ${x}`)]) progress(`${run.id}: setup step failed: ${f}`);
    }
    const unlisted = results.slice(-runs.length).reduce((n, r) => n + r.verdict.unlisted.length, 0);
    progress(`[${i + 1}/${sequences.length}] ${seq.id}: ${((Date.now() - s0) / 1000).toFixed(1)} s${unlisted > 0 ? `, ${unlisted} unlisted` : ''}`);
  }
  if (complete) for (const r of QUAY_RULES) if (!usedRules.has(r)) stale.push(`rule ${r.rule} (${r.field}) applied nowhere`);
  return {
    oracle: 'quay',
    sides: { ours: tier.names[0], oracle: tier.names[1] },
    durationMs: Date.now() - t0,
    sequences: sequences.length,
    runs: results.map(summary),
    capabilities: capabilityReport(results, tier.names),
    listedFields,
    unlisted: results.flatMap(({ verdict }) =>
      verdict.unlisted.map((d) => ({
        run: d.seq,
        step: d.step,
        fields: d.fields.map((f) => ({ field: f.field, ts: f.ours, quay: f.oracle })),
        entry: asTableEntry(d),
      })),
    ),
    stale,
  };
}

function summary({ run, verdict }: Judged): RunSummary {
  const differing = new Set(run.diffs.map((d) => d.step));
  const unlisted = new Set(verdict.unlisted.map((d) => d.step));
  const steps = new Set([...run.ours.observations.keys(), ...run.oracle.observations.keys()]).size;
  return { id: run.id, steps, identical: steps - differing.size, listed: differing.size - unlisted.size, unlisted: unlisted.size };
}

/** The report as text: the capability table, then what needs attention. */
export function formatFidelity(r: FidelityReport): string {
  const names = [r.sides.ours, r.sides.oracle] as const;
  const [fromQuay, fromTs] = directions(names);
  const lines = [
    `Fidelity: ${r.sides.ours} (quay serve) against real Python Quay on one database and storage; ${r.sequences} sequences, ${r.runs.length} runs, ${(r.durationMs / 1000).toFixed(0)} s.`,
    '',
    formatCapabilityTable(r.capabilities, names),
    '',
    'steps: recorded responses (challenges and token answers included); identical: equal after normalisation;',
    'listed: differ only as registryd/test/contract/expectations-quay.ts lists; unlisted: differ otherwise;',
    `cross ${fromQuay}: written through Quay, read through the TS side (proven/checked); cross ${fromTs}: the reverse.`,
    `listed field differences by category: ${
      CATEGORIES.filter((c) => r.listedFields[c] > 0)
        .map((c) => `${c} ${r.listedFields[c]}`)
        .join(', ') || 'none'
    }`,
  ];
  if (r.unlisted.length > 0) {
    lines.push('', `UNLISTED deviations (${r.unlisted.length}): fix the TS side, or list them with a category and a reason:`);
    for (const u of r.unlisted) {
      lines.push(`  ${u.run} / ${u.step}`);
      for (const f of u.fields) lines.push(`      ${f.field}: ts ${showValue(f.ts)}  vs  quay ${showValue(f.quay)}`);
    }
  }
  if (r.stale.length > 0) lines.push('', `STALE table entries (${r.stale.length}): the difference no longer occurs; remove them:`, ...r.stale.map((s) => `  ${s}`));
  lines.push('', r.unlisted.length === 0 && r.stale.length === 0 ? 'verdict: every difference from Quay is listed' : 'verdict: FAILED');
  return `${lines.join('\n')}\n`;
}
