/**
 * Contract tests with real Python Quay as the oracle: every sequence that
 * means something against Quay runs on Quay and on the TS runtime (`quay
 * serve`), both on one database and one storage (quay-tier.ts), each side in
 * namespaces of its own, authenticating as docker does (challenge → /v2/auth
 * with Basic → bearer). Quay's answers are the specification: a difference
 * passes only when expectations-quay.ts lists it (deliberate, or a bug
 * described), and a listed difference that no longer occurs fails too.
 * Cross-reading sequences also prove what one side wrote reads back through
 * the other. Real Quay missing fails loudly (startQuayPython never skips).
 */
import t from 'tap';
import { buildSwitchboard } from '../../../test/lib/switchboard.js';
import { QUAY_CATEGORIES, asTableEntry, describeDiff, showValue, type RuleExpectation } from './lib.js';
import { appliesTo, judgeRun, runIds, runSequence } from './runner.js';
import { capabilityReport, formatCapabilityTable, type Judged } from './report.js';
import { startQuayTier } from './quay-tier.js';
import { QUAY_EXPECTED, QUAY_RULES } from './expectations-quay.js';
import { QUAY_TABLE } from './fidelity.js';
import { ALL_SEQUENCES } from './all-sequences.js';

t.setTimeout(1_200_000);
await buildSwitchboard();

const started = Date.now();
const tier = await startQuayTier(t, { progress: (l) => t.comment(l) });
/** CONTRACT_ONLY=<id>,<id>: run only these sequences (while working on them; stale rules are then not checked). */
const ONLY =
  process.env.CONTRACT_ONLY?.split(',')
    .map((x) => x.trim())
    .filter(Boolean) ?? null;
const SEQUENCES = ALL_SEQUENCES.filter((s) => appliesTo(s, 'quay') && (ONLY === null || ONLY.includes(s.id)));

t.test('the expectation table names only runs that exist, with a category and a reason', async (t) => {
  const ids = new Set(runIds(ALL_SEQUENCES, tier));
  for (const e of QUAY_EXPECTED) t.ok(ids.has(e.seq), `${e.seq} / ${e.step}: run exists`);
  for (const e of [...QUAY_EXPECTED, ...QUAY_RULES]) {
    const what = 'rule' in e ? `rule ${e.rule}` : `${e.seq} / ${e.step}`;
    t.ok(QUAY_CATEGORIES.includes(e.category) && e.reason.length > 20, `${what}: ${QUAY_CATEGORIES.join(', ')}, with a reason`);
    if (e.category === 'bug') t.match(e.reason, /^bug: /, `${what}: a bug entry describes the bug`);
  }
});

const usedRules = new Set<RuleExpectation>();
const results: Judged[] = [];

for (const seq of SEQUENCES) {
  t.test(`${seq.id}: ${seq.title}`, async (t) => {
    for (const run of await runSequence(tier, seq)) {
      const { ours: a, oracle: b } = run;
      t.same(a.setupFailures, [], `${run.id}: setup steps succeed on the TS side`);
      t.same(b.setupFailures, [], `${run.id}: setup steps succeed on Quay`);
      const v = judgeRun(run, QUAY_TABLE);
      results.push({ run, verdict: v });
      for (const r of v.usedRules) usedRules.add(r);
      for (const e of QUAY_EXPECTED.filter((x) => x.seq === run.id))
        t.ok(a.observations.has(e.step) || b.observations.has(e.step), `listed step ${JSON.stringify(e.step)} exists in ${run.id}`);
      if (v.unlisted.length > 0) {
        t.comment('unlisted differences (add them to expectations-quay.ts with a category and a reason, or fix the cause):\n' + v.unlisted.map(asTableEntry).join('\n'));
        t.comment('transcript, TS side:\n' + a.transcript.join('\n'));
        t.comment('transcript, Quay:\n' + b.transcript.join('\n'));
      }
      t.same(
        v.unlisted.map((d) => describeDiff(d, tier.names)),
        [],
        `${run.id}: every difference from Quay is listed in the expectation table`,
      );
      t.same(
        v.stale.map(
          (e) =>
            `${e.seq} / ${e.step} (${e.category}): ${Object.entries(e.fields)
              .map(([f, p]) => `${f}: ${showValue(p[0])} vs ${showValue(p[1])}`)
              .join('; ')}`,
        ),
        [],
        `${run.id}: every difference the table lists still occurs, exactly`,
      );
    }
  });
}

t.test('every recurring-difference rule still applies somewhere', { skip: ONLY !== null ? 'CONTRACT_ONLY is set' : false }, async (t) => {
  t.same(
    QUAY_RULES.filter((r) => !usedRules.has(r)).map((r) => `${r.rule} (${r.field})`),
    [],
  );
});

t.test('summary per capability', async (t) => {
  const rows = capabilityReport(results, tier.names);
  t.comment(
    `contract against real Quay: ${results.length} runs of ${SEQUENCES.length} sequences in ${((Date.now() - started) / 1000).toFixed(0)} s\n${formatCapabilityTable(rows, tier.names)}`,
  );
  if (ONLY !== null) return;
  for (const dir of ['quay→ts', 'ts→quay']) {
    for (const cap of ['V2_PULL', 'V2_PUSH', 'V2_TAGS', 'V2_UPLOAD', 'V2_AUTH']) {
      const c = rows.find((r) => r.capability === cap)?.cross[dir];
      t.ok(c !== undefined && c.proven > 0, `${cap}: a cross-read ${dir} is proven`);
    }
  }
});
