/**
 * The gates' pure parts: GATE_ keys (grammar, values, lines in errors),
 * thresholds with per-capability overrides, a window's judgement, and the
 * checklist built from them.
 */
import t from 'tap';
import { loadInventory } from '../../../owner-maps/index.js';
import { classifyKey } from '../../config/keys.js';
import { parseConfig } from '../../config/parse.js';
import { buildSnapshot } from '../../core/snapshot.js';
import { judgeWindow, type OwnerWindow } from '../../control/gate-budget.js';
import { checklist } from '../../control/gate-checklist.js';
import { emptyState } from '../../control/gate-state.js';
import { GATE_DEFAULTS, thresholds } from '../../control/gate-thresholds.js';

const inv = loadInventory();

t.test('GATE_ keys: grammar, values, and errors that name the key and line', async (t) => {
  t.match(classifyKey('GATE_MAX_P99_RATIO', inv), { kind: 'gate', setting: 'MAX_P99_RATIO', capability: null });
  t.match(classifyKey('GATE_CAP_V2_PULL_FAILED_WINDOWS', inv), { kind: 'gate', setting: 'FAILED_WINDOWS', capability: 'V2_PULL' });
  t.match(classifyKey('GATE_CAP_V2_PUL_FAILED_WINDOWS', inv), { code: 'SWB_CONFIG_UNKNOWN_CAPABILITY', message: /did you mean V2_PULL/ });
  t.match(classifyKey('GATE_CAP_V2_PULL_WINDOW_SECONDS', inv), { code: 'SWB_CONFIG_UNKNOWN_KEY', message: /global only/ });
  t.match(classifyKey('GATE_MAX_P99_RATO', inv), { code: 'SWB_CONFIG_UNKNOWN_KEY', message: /did you mean GATE_MAX_P99_RATIO/ });
  const text = ['MIGRATION:', '  GATE_MAX_ERROR_RATE_DELTA: 5', '  GATE_WINDOW_SECONDS: 0', '  GATE_CAP_V2_PULL_AUTO_ROLLBACK: maybe', '  GATE_MAX_P99_RATIO: 0.5', ''].join('\n');
  const r = parseConfig(text, 'c.yaml', inv, {});
  t.notOk(r.ok);
  const issues = r.ok ? [] : r.issues;
  t.match(issues, [
    { key: 'MIGRATION.GATE_MAX_ERROR_RATE_DELTA', line: 2, message: /fraction from 0 to 1/ },
    { key: 'MIGRATION.GATE_WINDOW_SECONDS', line: 3, message: /at least 1/ },
    { key: 'MIGRATION.GATE_CAP_V2_PULL_AUTO_ROLLBACK', line: 4, message: /not true or false/ },
    { key: 'MIGRATION.GATE_MAX_P99_RATIO', line: 5, message: /ratio of 1 or more/ },
  ]);
  // The environment overrides the file, typed as the key wants.
  const env = parseConfig('MIGRATION:\n  GATE_FAILED_WINDOWS: 3\n', 'c.yaml', inv, { GATE_FAILED_WINDOWS: '5', GATE_AUTO_ROLLBACK: 'off' });
  t.ok(env.ok);
  const s = buildSnapshot(inv, env.ok ? env.config : (null as never), 1, new Date());
  t.equal(thresholds(s, 'V2_PULL').FAILED_WINDOWS, 5);
  t.equal(thresholds(s, 'V2_PULL').AUTO_ROLLBACK, false);
  t.equal(parseConfig('', 'c.yaml', inv, { GATE_MIN_REQUESTS: 'lots' }).ok, false, 'a bad environment value is refused too');
});

t.test('thresholds: defaults, global keys, per-capability keys win', async (t) => {
  const r = parseConfig('MIGRATION:\n  GATE_MAX_P99_RATIO: 2\n  GATE_CAP_V2_PULL_MAX_P99_RATIO: 1.2\n  GATE_MIN_REQUESTS: 7\n', 'c.yaml', inv, {});
  t.ok(r.ok);
  const s = buildSnapshot(inv, r.ok ? r.config : (null as never), 1, new Date());
  t.equal(thresholds(s, 'V2_PULL').MAX_P99_RATIO, 1.2);
  t.equal(thresholds(s, 'V2_PUSH').MAX_P99_RATIO, 2);
  t.equal(thresholds(s, 'V2_PUSH').MIN_REQUESTS, 7);
  t.equal(thresholds(s, null).FAILED_WINDOWS, GATE_DEFAULTS.FAILED_WINDOWS);
});

const w = (requests: number, errors: number, p99: number | null = 10): OwnerWindow => ({ requests, errors, p50_ms: p99 === null ? null : p99 / 2, p99_ms: p99 });

t.test('a window: error rate against python, p99 against python, not enough data', async (t) => {
  const T = { ...GATE_DEFAULTS, MIN_REQUESTS: 20 };
  t.match(judgeWindow('V2_PULL', 1, 60, w(100, 1), w(300, 0), null, T), { verdict: 'pass', baseline: 'this_window' }, '1% over python 0%: at the limit');
  const bad = judgeWindow('V2_PULL', 1, 60, w(100, 20), w(300, 3), null, T);
  t.equal(bad.verdict, 'fail');
  t.match(bad.reasons[0], /go error rate 20\.00% \(20\/100\) over 2\.00% \(python 1\.00% \+ 1\.00%\)/);
  const slow = judgeWindow('V2_PULL', 1, 60, w(100, 0, 310), w(300, 0, 10), null, T);
  t.equal(slow.verdict, 'fail', '+300 ms fails the p99 budget');
  t.match(slow.reasons[0], /go p99 310 ms over 35 ms/);
  t.equal(judgeWindow('V2_PULL', 1, 60, w(100, 0, 30), w(300, 0, 10), null, T).verdict, 'pass', 'within the allowance (10 + 25 ms)');
  t.equal(judgeWindow('V2_PULL', 1, 60, w(100, 0, 1200), w(300, 0, 1000), null, T).verdict, 'pass', 'within the ratio (1000 × 1.5)');
  const thin = judgeWindow('V2_PULL', 1, 60, w(19, 19), w(300, 0), null, T);
  t.match(thin, { verdict: 'insufficient', checks: [] });
  t.match(thin.reasons[0], /fewer than GATE_MIN_REQUESTS 20/);
  // 100% go: python served nothing this window; its last window is the baseline.
  const earlier = { ...w(500, 5, 12), at: 0 };
  t.match(judgeWindow('V2_PULL', 1, 60, w(100, 1, 15), w(0, 0, null), earlier, T), { verdict: 'pass', baseline: 'earlier_window' });
  t.match(
    judgeWindow('V2_PULL', 1, 60, w(100, 3, 15), w(0, 0, null), null, T),
    { verdict: 'fail', baseline: 'none', checks: [{ name: 'error_rate', python: null }] },
    'no baseline: the delta is the ceiling',
  );
});

t.test('the checklist: statuses, evidence, what blocks', async (t) => {
  const base = { capability: 'V2_PULL', now: 100_000, thresholds: GATE_DEFAULTS, readiness: { verdict: 'yes' as const, at: 90_000, source: 'go' }, contract: null, shadow: null };
  const none = checklist({ ...base, state: null });
  t.same(
    none.gates.map((g) => [g.gate, g.status]),
    [
      ['readiness', 'pass'],
      ['contract', 'none'],
      ['shadow', 'none'],
      ['budget', 'none'],
      ['canary_health', 'none'],
      ['auto_rollback', 'pass'],
    ],
  );
  t.equal(none.gates[0]!.age_seconds, 10);
  t.ok(none.passed, 'no evidence does not block by default');
  t.same(
    checklist({ ...base, thresholds: { ...GATE_DEFAULTS, REQUIRE_EVIDENCE: true }, state: null }).blocking,
    ['contract', 'shadow', 'budget', 'canary_health'],
    'GATE_REQUIRE_EVIDENCE: missing evidence blocks',
  );
  const st = emptyState();
  st.recent.push(judgeWindow('V2_PULL', 95_000, 60, w(100, 0, 310), w(300, 0, 10), null, GATE_DEFAULTS));
  st.failed_windows = 1;
  const c = checklist({
    ...base,
    state: st,
    contract: { at: 50_000, passed: false, sequences: 3, requests: 40, differences: 2, noise: 1 },
    shadow: { compared: 1000, diffs: 0, last_at: 99_000 },
  });
  t.same(c.blocking, ['contract', 'budget', 'canary_health']);
  t.match(c.gates.find((g) => g.gate === 'contract')!.evidence, /3 sequences, 40 requests: 2 differences, 1 noise/);
  t.equal(c.gates.find((g) => g.gate === 'shadow')!.status, 'pass');
  t.match(c.gates.find((g) => g.gate === 'canary_health')!.evidence, /1 failed window in a row \(rollback at 3\)/);
  st.armed = false;
  t.ok(checklist({ ...base, state: st }).blocking.includes('auto_rollback'));
  t.equal(checklist({ ...base, thresholds: { ...GATE_DEFAULTS, AUTO_ROLLBACK: false }, state: null }).gates.at(-1)!.status, 'warn');
});
