/**
 * Runs the contract's sequences against a pair of registries — ours and an
 * oracle — and judges the differences against an expectation table. The
 * tests (oracle.test.ts against Distribution, quay-oracle.test.ts against
 * real Quay) and `npm run fidelity` (bench/fidelity.ts) all run sequences
 * through here; the tests assert, the command reports (report.ts).
 *
 * A plain sequence runs on our side, then on the oracle, each in its own
 * repositories. A cross-reading sequence (`cross`, Quay only) runs twice on
 * one shared database and storage: once writing through Quay, once writing
 * through the TS side, each time reading through both (the run ids are
 * `<id>@quay-writes` and `<id>@ts-writes`).
 */
import { diffRuns, judge, type RuleExpectation, type StepDiff, type StepExpectation, type Verdict } from './lib.js';
import { Session, type OracleName, type Sequence, type Target } from './session.js';

/** Our side and the oracle, as one run sees them. */
export interface Pair {
  readonly ours: Target;
  readonly oracle: Target;
}

/** Where sequences run: the two registries and how a sequence gets namespaces of its own. */
export interface OracleEnv {
  readonly oracle: OracleName;
  /** What messages call the sides: [ours, oracle]. */
  readonly names: readonly [string, string];
  readonly main: Pair;
  /** A pair for an isolated sequence: fresh namespaces (Quay) or fresh registries (Distribution). */
  isolated(seq: string): Promise<Pair>;
}

export interface ExpectationTable {
  readonly steps: readonly StepExpectation[];
  readonly rules: readonly RuleExpectation[];
}

/** One comparison: a sequence's run on each side. */
export interface SequenceRun {
  /** The sequence id, with `@quay-writes` / `@ts-writes` for the two runs of a cross-reading sequence. */
  readonly id: string;
  readonly seq: Sequence;
  /** Cross-reading runs: the side every write went through. */
  readonly writer?: 'ours' | 'oracle';
  readonly ours: Session;
  readonly oracle: Session;
  readonly diffs: StepDiff[];
}

/** Whether the sequence means something against this oracle. */
export const appliesTo = (seq: Sequence, oracle: OracleName): boolean => seq.oracles === undefined || seq.oracles.includes(oracle);

/** Targets for a sequence that reads what every namespace sees (no side-specific names to replace). */
const global = (t: Target): Target => ({ ...t, aliases: [] });

/** Runs one sequence (twice for a cross-reading one) and diffs the sides. */
export async function runSequence(env: OracleEnv, seq: Sequence): Promise<SequenceRun[]> {
  if (!seq.cross) {
    const pair = seq.isolated ? await env.isolated(seq.id) : seq.global ? globalPair(env.main) : env.main;
    const a = new Session(pair.ours, seq.id);
    const b = new Session(pair.oracle, seq.id);
    await seq.run(a, (suffix) => a.repo(suffix));
    await seq.run(b, (suffix) => b.repo(suffix));
    return [{ id: seq.id, seq, ours: a, oracle: b, diffs: diffRuns(seq.id, a, b) }];
  }
  const runs: SequenceRun[] = [];
  for (const writer of ['oracle', 'ours'] as const) {
    const pair = await env.isolated(seq.id);
    const id = `${seq.id}@${writer === 'oracle' ? env.names[1] : env.names[0]}-writes`;
    const a = new Session(pair.ours, seq.id, { writer: pair[writer] });
    const b = new Session(pair.oracle, seq.id, { writer: pair[writer] });
    await seq.run(a, (suffix) => a.repo(suffix));
    await seq.run(b, (suffix) => b.repo(suffix));
    runs.push({ id, seq, writer, ours: a, oracle: b, diffs: diffRuns(id, a, b) });
  }
  return runs;
}

/** A `global` sequence's pair: the main one, with no aliases. */
export function globalPair(p: Pair): Pair {
  return { ours: global(p.ours), oracle: global(p.oracle) };
}

/** The table's verdict on one run: unlisted and stale entries of this run's id. */
export function judgeRun(run: SequenceRun, table: ExpectationTable): Verdict {
  return judge(
    [run.id],
    run.diffs,
    table.steps.filter((e) => e.seq === run.id),
    table.rules,
  );
}

/** Every run id the sequences make against this oracle (for checking that the table names only those). */
export function runIds(seqs: readonly Sequence[], env: Pick<OracleEnv, 'oracle' | 'names'>): string[] {
  return seqs.filter((s) => appliesTo(s, env.oracle)).flatMap((s) => (s.cross ? [`${s.id}@${env.names[1]}-writes`, `${s.id}@${env.names[0]}-writes`] : [s.id]));
}
