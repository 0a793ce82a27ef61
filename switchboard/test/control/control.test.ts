// The control plane's parts without a browser: actions as switch changes, the
// write path (plan, compare-and-swap, audit), sessions and users, and the
// live figures computed from the proxy's own metrics.

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { loadInventory } from '../../../owner-maps/index.js';
import { parseConfig } from '../../config/parse.js';
import { buildSnapshot, type Snapshot } from '../../core/snapshot.js';
import { actionFrom, nextStep, planAction } from '../../control/actions.js';
import { commitWrite, planWrite, readAudit, readMigration } from '../../control/switches.js';
import { DashboardAuth, parseUsers } from '../../control/auth.js';
import { LiveStats, quantile } from '../../control/stats.js';
import { ProxyMetrics } from '../../proxy/metrics.js';

const inv = loadInventory();
const dir = mkdtempSync(join(tmpdir(), 'swb-control-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function snap(yaml: string): Snapshot {
  const r = parseConfig(yaml, 'c.yaml', inv, {});
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return buildSnapshot(inv, r.config, 1, new Date());
}

t.test('actions', async (t) => {
  const s = snap('MIGRATION:\n  ROUTE_OWNER_CAP_V2_PULL: canary\n  ROUTE_CANARY_CAP_V2_PULL_PERCENT: 10\n  ROUTE_CANARY_CAP_V2_PULL_ORGS: [acme]\n');
  t.same(
    [nextStep(null), nextStep(0), nextStep(5), nextStep(10), nextStep(12), nextStep(50), nextStep(100)],
    [5, 5, 10, 25, 25, 100, 100],
    'the standard steps 5 → 10 → 25 → 50 → 100',
  );
  t.same(
    planAction({ action: 'ramp', scope: 'CAP_V2_PULL', percent: 'next' }, s),
    [{ key: 'ROUTE_CANARY_CAP_V2_PULL_PERCENT', value: 25 }],
    'a ramp of a canary only moves the percent',
  );
  t.same(
    planAction({ action: 'ramp', scope: 'CAP_V2_PUSH', percent: 25 }, s),
    [
      { key: 'ROUTE_OWNER_CAP_V2_PUSH', value: 'canary' },
      { key: 'ROUTE_CANARY_CAP_V2_PUSH_PERCENT', value: 25 },
    ],
    'a ramp from zero makes the capability a canary',
  );
  t.same(
    planAction({ action: 'rollback', scope: 'CAP_V2_PULL' }, s),
    [
      { key: 'ROUTE_OWNER_CAP_V2_PULL', value: 'python' },
      { key: 'ROUTE_CANARY_CAP_V2_PULL_ORGS', value: null },
      { key: 'ROUTE_CANARY_CAP_V2_PULL_PERCENT', value: null },
    ],
    "a rollback sets python and clears the scope's own canary settings",
  );
  t.same(planAction({ action: 'lists', scope: 'FAMILY_API_V1', selector: 'users', values: [' alice ', 'bob', 'alice', ''] }, s), [
    { key: 'ROUTE_CANARY_FAMILY_API_V1_USERS', value: ['alice', 'bob'] },
  ]);
  t.same(planAction({ action: 'kill', on: true }, s), [{ key: 'MIGRATION_FORCE_PYTHON', value: true }]);
  t.same(planAction({ action: 'kill', on: false }, s), [{ key: 'MIGRATION_FORCE_PYTHON', value: null }]);
  t.same(planAction({ action: 'owner', scope: 'ROUTE_0016', value: 'go' }, s), [{ key: 'ROUTE_OWNER_ROUTE_0016', value: 'go' }]);
  t.throws(() => planAction({ action: 'owner', scope: 'CAP_NOPE', value: 'go' }, s), /unknown scope/);
  t.throws(() => planAction({ action: 'ramp', scope: 'CAP_V2_PULL', percent: 101 }, s), /not a percent/);
  t.same(actionFrom({ action: 'ramp', scope: 'CAP_V2_PULL', percent: '12.5' }), { action: 'ramp', scope: 'CAP_V2_PULL', percent: 12.5 });
  t.throws(() => actionFrom({ action: 'owner', scope: 'CAP_V2_PULL', value: 'purple' }), /use python, go, canary or unset/);
  t.throws(() => actionFrom({ action: 'explode' }), /unknown action/);
});

t.test('the write path: validated, compare-and-swap, audited', async (t) => {
  const file = join(dir, 'config.yaml');
  writeFileSync(file, '# ops\nMIGRATION:\n  ROUTE_OWNER_DEFAULT: python # keep\n');
  const plan = planWrite(
    file,
    [
      { key: 'ROUTE_OWNER_CAP_V2_PULL', value: 'canary' },
      { key: 'ROUTE_CANARY_CAP_V2_PULL_PERCENT', value: 25 },
    ],
    inv,
  );
  t.equal(plan.diff.routes.length, 4, 'four routes change owner');
  t.throws(() => planWrite(file, [{ key: 'ROUTE_CANARY_CAP_V2_PULL_PERCENT', value: 250 }], inv), /would be invalid.*percent/, 'an invalid result is refused with the key');
  writeFileSync(file, readFileSync(file, 'utf8') + '# edited meanwhile\n');
  t.throws(() => commitWrite(plan, { actor: 'x', via: 'test', reason: null }), /changed since it was read/, 'a file changed after planning is not overwritten');
  const again = planWrite(file, [{ key: 'ROUTE_OWNER_CAP_V2_PULL', value: 'canary' }], inv);
  const entries = commitWrite(again, { actor: 'olga', via: 'test', reason: 'why not' });
  t.match(
    readFileSync(file, 'utf8'),
    /^# ops\nMIGRATION:\n  ROUTE_OWNER_DEFAULT: python # keep\n  ROUTE_OWNER_CAP_V2_PULL: canary\n# edited meanwhile\n$/,
    'comments kept, one line added',
  );
  t.same(
    readAudit(file, null).map((e) => [e.actor, e.via, e.key, e.old, e.new, e.reason]),
    [['olga', 'test', 'ROUTE_OWNER_CAP_V2_PULL', null, 'canary', 'why not']],
  );
  t.equal(entries.length, 1);
});

t.test('users, tokens and sessions', async (t) => {
  t.throws(() => parseUsers('- {name: a, role: admin, password_bcrypt: x}', 'u.yaml'), /role must be operator or read-only/);
  t.throws(() => parseUsers('- {name: a, role: operator, password_bcrypt: plain}', 'u.yaml'), /must be a bcrypt hash/);
  const users = join(dir, 'users.yaml');
  writeFileSync(users, `- {name: olga, role: operator, password_bcrypt: "${bcrypt.hashSync('pw', 4)}"}\n`);
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'short\n');
  t.throws(() => new DashboardAuth({ tokenFile, usersFile: users, sessionHours: 1 }), /at least 16 characters/, 'a weak admin token is refused at start');
  writeFileSync(tokenFile, 'a-long-enough-admin-token\n');
  const auth = new DashboardAuth({ tokenFile, usersFile: users, sessionHours: 1 });
  t.same(await auth.login('olga', 'pw'), { name: 'olga', role: 'operator' });
  t.equal(await auth.login('olga', 'nope'), null);
  t.equal(await auth.login('nobody', 'pw'), null);
  t.same(await auth.login('', 'a-long-enough-admin-token'), { name: 'admin-token', role: 'operator' });
  const cookie = auth.session({ name: 'olga', role: 'operator' });
  const who = await auth.identify({ cookie: `x=1; sb_session=${cookie}` });
  t.match(who, { name: 'olga', role: 'operator', via: 'session' });
  t.ok(who?.csrf && who.csrf.length > 16, 'a session carries a CSRF token');
  const [id, sig] = cookie.split('.');
  t.equal(await auth.identify({ cookie: `sb_session=${id}x.${sig}` }), null, 'a tampered session id is refused');
  t.match(await auth.identify({ authorization: 'Bearer a-long-enough-admin-token' }), { name: 'admin-token', via: 'token' });
  t.match(await auth.identify({ authorization: `Basic ${Buffer.from('olga:pw').toString('base64')}` }), { name: 'olga', via: 'basic' });
  // Logging out ends the session on the server, not just in the browser.
  const other = auth.session({ name: 'olga', role: 'operator' });
  auth.logout(`sb_session=${other}`);
  t.equal(await auth.identify({ cookie: `sb_session=${other}` }), null, 'a logged-out session is refused');
  // A new admin token ends the sessions made with the old one.
  const tokenSession = auth.session({ name: 'admin-token', role: 'operator' });
  t.ok(await auth.identify({ cookie: `sb_session=${tokenSession}` }));
  writeFileSync(tokenFile, 'another-long-enough-admin-token\n# rotated\n');
  t.equal(await auth.identify({ cookie: `sb_session=${tokenSession}` }), null, 'a token session ends when the token changes');
  // A new password, a demotion or a removal ends a user's sessions at once.
  writeFileSync(users, `- {name: olga, role: operator, password_bcrypt: "${bcrypt.hashSync('new-pw', 4)}"}\n`);
  t.equal(await auth.identify({ cookie: `sb_session=${cookie}` }), null, 'a session ends when the password changes');
  t.throws(() => parseUsers('- {name: admin-token, role: operator, password_bcrypt: "$2b$04$abcdefghijklmnopqrstuuO6aXv3c5fJ0.Y8H1p2Zz4I7d9q1wK2"}', 'u.yaml'), /reserved/);
  let yamlErr = '';
  try {
    parseUsers('- name: a\n  password_bcrypt: "$2b$12$SECRETHASHSECRETHASHSECRE"\n    bad: indent', 'u.yaml');
  } catch (e) {
    yamlErr = (e as Error).message;
  }
  t.match(yamlErr, /not valid YAML/, 'a broken users file is reported');
  t.notMatch(yamlErr, /SECRETHASH/, 'without quoting the file (password hashes)');
});

t.test('DASHBOARD settings are validated', async (t) => {
  const r = parseConfig('SWITCHBOARD:\n  DASHBOARD: {SESSION_HOURS: 2}\n', 'c.yaml', inv, {});
  t.notOk(r.ok);
  t.match(JSON.stringify(!r.ok && r.issues), /set ADMIN_TOKEN_FILE, USERS_FILE or both/);
});

t.test('live figures from the proxy metrics', async (t) => {
  t.ok(
    Math.abs(
      quantile(
        new Map([
          [0.1, 0],
          [0.5, 10],
          [Infinity, 10],
        ]),
        10,
        0.5,
      )! - 0.3,
    ) < 1e-9,
    'interpolated inside the bucket',
  );
  t.equal(quantile(new Map(), 0, 0.5), null);
  let now = 1_000_000;
  const m = new ProxyMetrics({
    snapshot: () => ({ version: 1, updated_at: new Date().toISOString(), hard_failure: false, kill_switch: false }),
    reloads: () => ({ reloads_total: 0, reload_failures_total: 0 }) as never,
    pins: async () => 0,
    inflight: () => 0,
  });
  const stats = new LiveStats(m.registry, 300, 5000, () => now);
  await stats.sample();
  const s = snap('MIGRATION:\n  ROUTE_OWNER_DEFAULT: go\n');
  const d = (await import('../../core/decide.js')).decide(s, { method: 'GET', path: '/v2/acme/app/tags/list' });
  for (let i = 0; i < 100; i++) {
    m.decision(d);
    m.upstreamDone(d, i < 90 ? 0.004 : 0.2);
  }
  for (let i = 0; i < 5; i++) m.upstreamError('go', 'REGISTRY_V2', 'refused');
  now += 10_000;
  const f = await stats.figures();
  const goF = f.owners.find((o) => o.owner === 'go')!;
  t.equal(f.window_seconds, 10);
  t.equal(goF.requests, 100);
  t.equal(goF.requests_per_second, 10);
  t.equal(goF.error_rate, 0.05);
  t.ok(goF.p50_seconds! > 0.0025 && goF.p50_seconds! <= 0.005, `p50 in the 2.5–5 ms bucket (${goF.p50_seconds})`);
  t.ok(goF.p99_seconds! > 0.1 && goF.p99_seconds! <= 0.25, `p99 in the 100–250 ms bucket (${goF.p99_seconds})`);
  t.equal(f.owners.find((o) => o.owner === 'python')!.requests, 0);
});

t.test('malformed changes are refused with a clear error', async (t) => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n');
  for (const bad of [[], [null], ['ROUTE_OWNER_DEFAULT'], [{ value: 'go' }], [{ key: 'ROUTE_OWNER_DEFAULT' }], 'x']) {
    t.throws(() => planWrite(file, bad as never, inv), /no change given|a change is/, JSON.stringify(bad));
  }
  t.throws(() => planWrite(file, [{ key: 'ROUTE_OWNER_NOPE', value: 'go' }], inv), /not a switch|unknown/);
});

t.test('URLs with credentials are redacted for logs and /status', async (t) => {
  const { redactUrl } = await import('../../../lib/log.js');
  t.equal(redactUrl('http://user:secret@quay:8080'), 'http://***@quay:8080');
  t.equal(redactUrl('redis://:pw@127.0.0.1:6379/0'), 'redis://***@127.0.0.1:6379/0');
  t.equal(redactUrl('http://quay:8080/a@b'), 'http://quay:8080/a@b', 'an @ in the path is no credential');
  t.equal(redactUrl(''), '');
});

t.test('actions do what they say, and nothing else', async (t) => {
  const s = snap(
    'MIGRATION:\n  ROUTE_OWNER_CAP_V2_PULL: canary\n  ROUTE_CANARY_PERCENT: 50\n  ROUTE_OWNER_ROUTE_0016: go\n  ROUTE_CANARY_ROUTE_0010_ORGS: [acme]\n  ROUTE_OWNER_FAMILY_API_V1: go\n  ROUTE_OWNER_CAP_API_BILLING: canary\n',
  );
  t.same(
    planAction({ action: 'ramp', scope: 'CAP_V2_PULL', percent: 'next' }, s),
    [{ key: 'ROUTE_CANARY_CAP_V2_PULL_PERCENT', value: 100 }],
    'the next step is above the inherited 50 %: a ramp never lowers the rate',
  );
  t.same(
    planAction({ action: 'rollback', scope: 'CAP_V2_PULL' }, s),
    [
      { key: 'ROUTE_OWNER_CAP_V2_PULL', value: 'python' },
      { key: 'ROUTE_CANARY_ROUTE_0010_ORGS', value: null },
      { key: 'ROUTE_OWNER_ROUTE_0016', value: null },
    ],
    'a rollback also removes the route switches under the capability',
  );
  const plan = planWrite(
    (() => {
      const f = join(dir, 'rb.yaml');
      writeFileSync(f, 'MIGRATION:\n  ROUTE_OWNER_CAP_V2_PULL: canary\n  ROUTE_OWNER_ROUTE_0016: go\n');
      return f;
    })(),
    planAction({ action: 'rollback', scope: 'CAP_V2_PULL' }, snap('MIGRATION:\n  ROUTE_OWNER_CAP_V2_PULL: canary\n  ROUTE_OWNER_ROUTE_0016: go\n')),
    inv,
  );
  t.equal(plan.diff.routes.length, 4, 'all four V2_PULL routes end on python');
  t.same(
    planAction({ action: 'rollback', scope: 'FAMILY_API_V1' }, s).map((c) => c.key),
    ['ROUTE_OWNER_FAMILY_API_V1', 'ROUTE_OWNER_CAP_API_BILLING'],
    'a family rollback removes its capability switches',
  );
  for (const on of ['yes', 1, null, undefined]) t.throws(() => actionFrom({ action: 'kill', on }), /must be true or false/, `kill on=${JSON.stringify(on)} is refused`);
  t.same(actionFrom({ action: 'kill', on: 'off' }), { action: 'kill', on: false });
  for (const percent of [true, null, '  ', '5%', 'abc'])
    t.throws(() => actionFrom({ action: 'ramp', scope: 'CAP_V2_PULL', percent }), /not a percent/, `percent ${JSON.stringify(percent)} is refused`);
  t.throws(() => actionFrom({ action: 'lists', scope: 'CAP_V2_PULL', selector: 'orgs', values: [1, 'a'] }), /must be names/);
  for (const [label, bad] of [
    ['newline', 'a\nb'],
    ['line separator', 'a\u2028b'],
    ['lone surrogate', 'a\ud800b'],
  ]) {
    t.throws(() => actionFrom({ action: 'lists', scope: 'CAP_V2_PULL', selector: 'orgs', values: [bad] }), /not a name/, `a name with a ${label} is refused`);
  }
});

t.test('no change without its audit record', async (t) => {
  const file = join(dir, 'noaudit.yaml');
  const text = 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\nSWITCHBOARD:\n  AUDIT_LOG: no-such-dir/audit.log\n';
  writeFileSync(file, text);
  const plan = planWrite(file, [{ key: 'ROUTE_OWNER_CAP_V2_PULL', value: 'go' }], inv);
  t.throws(() => commitWrite(plan, { actor: 'x', via: 'test', reason: 'r' }), /cannot open the audit log .*no-such-dir.*nothing written/);
  t.equal(readFileSync(file, 'utf8'), text, 'config.yaml untouched');
});

t.test('hand edits in the history: every one, and nothing else (review)', async (t) => {
  const { FileSnapshotProvider } = await import('../../snapshots/provider.js');
  const { recordFileEdit } = await import('../../control/switches.js');
  const { writeKillOn } = await import('../../config/kill-switch.js');
  const d = mkdtempSync(join(dir, 'file-edits-'));
  const file = join(d, 'config.yaml');
  const A = 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n';
  writeFileSync(file, A);
  // The quick start's layout: STATE_DIR is the config's own directory.
  const p = await FileSnapshotProvider.start({ file, inventory: inv, stateDir: d, watch: false, pollSeconds: 15, killCheckMs: 60_000 });
  t.teardown(() => p.close());
  const recorded: unknown[] = [];
  p.onChange((s) => {
    const e = recordFileEdit(s, p.lastInstall()!, d);
    if (e) recorded.push(e);
  });
  const fileEdits = (): unknown[] => readAudit(file, null, d).filter((e) => e.via === 'file edit');

  // The kill switch written by `set`, picked up by a watch event or a poll rather than the kill-file check.
  writeKillOn(d, { actor: 'ann', via: 'cli', reason: 'INC-9' });
  await p.reload('poll');
  t.equal(p.current().owner_map.forcePython.value, true, 'the kill file is in force');
  t.same(recorded, [], 'a kill-file change is not a hand edit of config.yaml (its writer audited it)');
  t.same(fileEdits(), []);

  // Two writes through the write path, then the file put back by hand to what the first one wrote.
  const one = planWrite(file, [{ key: 'ROUTE_OWNER_CAP_V2_PULL', value: 'go' }], inv);
  commitWrite(one, { actor: 'olga', via: 'cli', reason: 'one' });
  await p.reload('poll');
  const two = planWrite(file, [{ key: 'ROUTE_OWNER_CAP_V2_PULL', value: 'python' }], inv);
  commitWrite(two, { actor: 'olga', via: 'cli', reason: 'two' });
  await p.reload('poll');
  t.same(recorded, [], 'writes of the write path are not hand edits');
  writeFileSync(file, one.after);
  await p.reload('watch');
  t.equal(recorded.length, 1, 'a hand revert to an earlier written state is a hand edit too');
  t.match(fileEdits(), [{ actor: '(file)', keys: ['MIGRATION.ROUTE_OWNER_CAP_V2_PULL'], sha256_after: one.sha256_after }]);
});

t.test('a config that is not YAML is refused naming the line to fix', async (t) => {
  t.throws(() => readMigration('config.yaml', 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: go\n  ROUTE_OWNER_DEFAULT: python\n'), {
    code: 'SWB_CONFIG_YAML',
    message: /^config\.yaml:3 is not valid YAML; fix it by hand first: Map keys must be unique/,
  });
  t.throws(() => readMigration('config.yaml', 'MIGRATION: [1, 2\n'), { code: 'SWB_CONFIG_YAML', message: /^config\.yaml:\d+ is not valid YAML/ });
});
