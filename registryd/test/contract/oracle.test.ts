/**
 * Contract tests: registryd against CNCF Distribution 2.8 (Debian's
 * `docker-registry`, the /v2 oracle of DESIGN §7, for plain OCI behaviour).
 * Every sequence meant for it (all-sequences.ts) runs on both, anonymous, in
 * separate data directories, through the shared runner (runner.ts); the
 * normalised responses (lib.ts `observe`) are compared field by field. A
 * difference passes only when expectations.ts lists it with a category and a
 * reason; a listed difference that no longer occurs fails too, so the table
 * stays true. Distribution missing fails loudly (startRegistry never skips).
 * Real Quay, the specification, is the other oracle: quay-oracle.test.ts.
 */
import t from 'tap';
import { startRegistry } from '../../../test/lib/registry.js';
import { tempDir, type TLike } from '../../../test/lib/proc.js';
import { startTestRegistry } from '../lib/server.js';
import { CATEGORIES, asTableEntry, describeDiff, exactly, judge, showValue, type Category, type RuleExpectation, type StepDiff, type StepExpectation } from './lib.js';
import { appliesTo, judgeRun, runSequence, type OracleEnv, type Pair } from './runner.js';
import { EXPECTED, RULES } from './expectations.js';
import { ALL_SEQUENCES } from './all-sequences.js';

t.setTimeout(600_000);

/** registryd in process and Distribution, anonymous, repositories `ct/<sequence>` (`cat/...` on an isolated pair). */
async function startPair(tt: TLike, name: string, ns = 'ct'): Promise<Pair> {
  const r = await startTestRegistry(tt);
  const dir = tempDir(tt, `contract-distribution-${name}-`);
  const d = await startRegistry(tt, { storageDir: dir, configDir: dir, secret: `contract-${name}-secret`, name: `oracle-${name}` });
  return { ours: { side: 'registryd', port: r.port, ns }, oracle: { side: 'distribution', port: d.port, ns } };
}

const env: OracleEnv = {
  oracle: 'distribution',
  names: ['registryd', 'distribution'],
  main: await startPair(t, 'main'),
  isolated: (seq) => startPair(t, seq, 'cat'),
};
const SEQUENCES = ALL_SEQUENCES.filter((s) => appliesTo(s, 'distribution'));
const TABLE = { steps: EXPECTED, rules: RULES };

t.test('the expectation table names only sequences that exist', async (t) => {
  const ids = new Set(SEQUENCES.map((s) => s.id));
  t.equal(ids.size, SEQUENCES.length, 'sequence ids are unique');
  for (const e of EXPECTED) t.ok(ids.has(e.seq), `${e.seq} / ${e.step}: sequence exists`);
  for (const e of [...EXPECTED, ...RULES]) {
    const what = 'rule' in e ? `rule ${e.rule}` : `${e.seq} / ${e.step}`;
    t.ok(CATEGORIES.includes(e.category) && e.reason.length > 20, `${what}: has a category and a reason`);
    if (e.category === 'bug') t.match(e.reason, /^bug: /, `${what}: a bug entry describes the bug`);
  }
});

t.test('the judge fails unlisted and stale differences, and applies rules by value and status', async (t) => {
  const diff: StepDiff = {
    seq: 's',
    step: 'a',
    statuses: ['202', '202'],
    fields: [
      { field: 'range', ours: 'bytes=0--1', oracle: '0-0' },
      { field: 'codes', ours: 'X', oracle: 'Y' },
    ],
  };
  const rule: RuleExpectation = { rule: 'r', field: 'range', status: '202', test: exactly('bytes=0--1', '0-0'), category: 'quay-quirk', reason: 'a reason long enough' };
  const entry: StepExpectation = { seq: 's', step: 'a', fields: { codes: ['X', 'Y'] }, category: 'deliberate', reason: 'a reason long enough' };
  const ok = judge(['s'], [diff], [entry], [rule]);
  t.same([ok.unlisted, ok.stale, [...ok.usedRules]], [[], [], [rule]], 'rule and entry together explain the step');
  t.same([...(ok.perSequence.get('s') ?? [])].sort(), ['deliberate', 'quay-quirk']);
  const unlisted = judge(['s'], [diff], [], [rule]);
  t.same(
    unlisted.unlisted.map((d) => d.fields.map((f) => f.field)),
    [['codes']],
    'a field no entry lists is unlisted',
  );
  const changed = judge(['s'], [{ ...diff, fields: [{ field: 'codes', ours: 'X', oracle: 'Z' }] }], [entry], []);
  t.equal(changed.unlisted.length, 1, 'a listed field with other values is unlisted');
  t.same(changed.stale, [entry], '... and its entry is stale');
  const gone = judge(['s'], [], [entry], [rule]);
  t.same([gone.stale, gone.usedRules.size], [[entry], 0], 'an entry whose difference no longer occurs is stale');
  const otherStatus = judge(['s'], [{ ...diff, statuses: ['201', '202'], fields: [diff.fields[0]!] }], [], [rule]);
  t.equal(otherStatus.unlisted.length, 1, 'a rule applies only where both sides answered its status');
});

const usedRules = new Set<RuleExpectation>();
/** Per sequence: categories of all its differences, and of its step-specific ones. */
const outcome = new Map<string, { all: Set<Category>; steps: Set<Category> }>();
const fieldCounts = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;

for (const seq of SEQUENCES) {
  t.test(`${seq.id}: ${seq.title}`, async (t) => {
    const [run] = await runSequence(env, seq);
    const { ours: a, oracle: b } = run!;
    t.same(a.setupFailures, [], 'setup steps succeed on registryd');
    t.same(b.setupFailures, [], 'setup steps succeed on Distribution');
    // A step one side ran and the other did not (a page only one of them links to) is a difference
    // like any other: diffRuns reports it as "(step not run)" and the table must list it.

    const mine = EXPECTED.filter((e) => e.seq === seq.id);
    const v = judgeRun(run!, TABLE);
    for (const r of v.usedRules) usedRules.add(r);
    for (const c of CATEGORIES) fieldCounts[c] += v.fieldCounts[c];
    outcome.set(seq.id, { all: v.perSequence.get(seq.id) ?? new Set(), steps: v.perSequenceSteps.get(seq.id) ?? new Set() });

    for (const e of mine) t.ok(a.observations.has(e.step), `listed step ${JSON.stringify(e.step)} exists in the sequence`);
    if (v.unlisted.length > 0) {
      t.comment('unlisted differences (add them to expectations.ts with a category and a reason, or fix the cause):\n' + v.unlisted.map(asTableEntry).join('\n'));
      t.comment('transcript, registryd:\n' + a.transcript.join('\n'));
      t.comment('transcript, distribution:\n' + b.transcript.join('\n'));
    }
    t.same(
      v.unlisted.map((d) => describeDiff(d)),
      [],
      'every difference from Distribution is listed in the expectation table',
    );
    t.same(
      v.stale.map(
        (e) =>
          `${e.seq} / ${e.step} (${e.category}): ${Object.entries(e.fields)
            .map(([f, p]) => `${f}: ${showValue(p[0])} vs ${showValue(p[1])}`)
            .join('; ')}`,
      ),
      [],
      'every difference the table lists for this sequence still occurs, exactly',
    );
  });
}

t.test('every recurring-difference rule still applies somewhere', async (t) => {
  t.same(
    RULES.filter((r) => !usedRules.has(r)).map((r) => `${r.rule} (${r.field})`),
    [],
  );
});

t.test('summary', async (t) => {
  t.equal(outcome.size, SEQUENCES.length, 'every sequence ran');
  const runs = [...outcome.values()];
  const exact = runs.filter((o) => o.all.size === 0).length;
  const ruleOnly = runs.filter((o) => o.all.size > 0 && o.steps.size === 0).length;
  const via = CATEGORIES.map((c) => `${c}: ${runs.filter((o) => o.steps.has(c)).length}`);
  const fields = CATEGORIES.map((c) => `${c} ${fieldCounts[c]}`);
  t.comment(
    [
      `contract summary: ${outcome.size} sequences compared with Distribution 2.8.`,
      `  matched exactly: ${exact}`,
      `  matched but for recurring header-format differences (${RULES.length} rules: ${RULES.map((r) => r.category).join(', ')}): ${ruleOnly}`,
      `  with step-specific listed differences, by category (a sequence counts under each category it needs): ${via.join('; ')}`,
      `  field differences explained, by category (rules and steps): ${fields.join('; ')}`,
      ...[...outcome].map(([id, o]) => `    ${id}: ${o.all.size === 0 ? 'exact' : o.steps.size === 0 ? `rules only (${[...o.all].join(', ')})` : [...o.steps].join(', ')}`),
    ].join('\n'),
  );
});
