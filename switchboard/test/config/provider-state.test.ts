/**
 * The provider's state directory and its reload log: the kill file beats the
 * config in every state (and before any valid config), the last good config is
 * saved and served at a start with a broken file, and every install is logged
 * with what moved (keys, routes by capability, upstream changes of owners that
 * serve traffic), with the config's warnings.
 */
import t from 'tap';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInventory } from '../../../owner-maps/index.js';
import { FileSnapshotProvider, LAST_GOOD_NAME } from '../../snapshots/provider.js';
import { killFilePath, readKill, removeKill, resolveStateDir, stateDirFromText, writeKillOn } from '../../config/kill-switch.js';
import { createLogger } from '../../../lib/log.js';
import { decide } from '../../core/decide.js';

const inv = loadInventory();
const PULL = { method: 'GET', path: '/v2/acme/web/manifests/latest' };

function yaml(migration: string, upstreams = '{python: "http://127.0.0.1:1", go: "http://127.0.0.1:2"}'): string {
  return `MIGRATION:\n${migration}SWITCHBOARD:\n  UPSTREAMS: ${upstreams}\n`;
}

function setup(t: { teardown(fn: () => void): void }): { dir: string; file: string; state: string; lines: Record<string, any>[]; log: ReturnType<typeof createLogger> } {
  const dir = mkdtempSync(join(tmpdir(), 'swb-provider-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lines: Record<string, any>[] = [];
  return { dir, file: join(dir, 'config.yaml'), state: join(dir, 'state'), lines, log: createLogger({}, { write: (l) => lines.push(JSON.parse(l)) }) };
}

async function until(cond: () => boolean, ms = 5000): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

t.test('the kill file beats the config: valid, broken, deleted; on and off', async (t) => {
  const s = setup(t);
  writeFileSync(s.file, yaml('  ROUTE_OWNER_CAP_V2_PULL: go\n'));
  const p = await FileSnapshotProvider.start({ file: s.file, inventory: inv, stateDir: s.state, log: s.log, pollSeconds: 15, killCheckMs: 50 });
  t.teardown(() => p.close());
  t.equal(decide(p.current(), PULL).owner, 'go');
  writeKillOn(s.state, { actor: 'ann', via: 'test', reason: 'INC-7' });
  t.ok(await until(() => decide(p.current(), PULL).owner === 'python'), 'on: python, with the config valid');
  const d = decide(p.current(), { ...PULL, explain: true });
  t.equal(d.reason, 'force_python');
  t.match(d.trace[0], { level: 'kill_switch', value: true, won: true, origin: { source: 'state', actor: 'ann', reason: 'INC-7' } });
  t.match(p.stats().kill_file, { actor: 'ann' });
  t.ok(
    s.lines.some((l) => l.level === 'warn' && /kill switch ON from its state file/.test(l.msg) && l.actor === 'ann'),
    'logged at warn with who',
  );
  removeKill(s.state);
  t.ok(await until(() => decide(p.current(), PULL).owner === 'go'), 'off right after on (a watch event read it first): the config decides again');
  writeFileSync(s.file, 'MIGRATION: [broken\n');
  t.ok(await until(() => p.stats().last_error !== null), 'broken file seen');
  writeKillOn(s.state, { actor: 'bo', via: 'test', reason: null });
  t.ok(await until(() => decide(p.current(), PULL).owner === 'python'), 'on with broken YAML');
  removeKill(s.state);
  t.ok(await until(() => decide(p.current(), PULL).owner === 'go'), 'off with broken YAML: the last good snapshot');
  unlinkSync(s.file);
  writeKillOn(s.state, { actor: 'cy', via: 'test', reason: null });
  t.ok(await until(() => decide(p.current(), PULL).owner === 'python'), 'on with the file deleted');
  writeFileSync(killFilePath(s.state), 'garbage');
  await new Promise((r) => setTimeout(r, 200));
  t.equal(decide(p.current(), PULL).owner, 'python', 'a kill file that is not JSON counts as on');
  t.match(readKill(killFilePath(s.state)), { reason: /not JSON: treated as on/ });
});

t.test('a kill file before any valid config, and the hard-failure snapshot carries it', async (t) => {
  const s = setup(t);
  writeFileSync(s.file, 'MIGRATION: [broken\n');
  writeKillOn(s.state, { actor: 'ann', via: 'test', reason: null });
  const p = await FileSnapshotProvider.start({ file: s.file, inventory: inv, stateDir: s.state, watch: false, pollSeconds: 15 });
  t.teardown(() => p.close());
  t.equal(p.current().hard_failure, true);
  t.equal(p.current().owner_map.forcePython.value, true, 'the trace says why: the kill file');
});

t.test('the last good config is saved, and served at a start with a broken file', async (t) => {
  const s = setup(t);
  writeFileSync(s.file, yaml('  ROUTE_OWNER_CAP_V2_PULL: go\n'));
  const p = await FileSnapshotProvider.start({ file: s.file, inventory: inv, stateDir: s.state, restoreLastGood: true, watch: false, pollSeconds: 15 });
  const saved = join(s.state, LAST_GOOD_NAME);
  t.equal(readFileSync(saved, 'utf8'), readFileSync(s.file, 'utf8'), 'saved');
  await p.close();
  writeFileSync(s.file, yaml('  ROUTE_OWNER_CAP_V2_PULL: ture\n'));
  const q = await FileSnapshotProvider.start({ file: s.file, inventory: inv, stateDir: s.state, restoreLastGood: true, log: s.log, watch: false, pollSeconds: 15 });
  t.teardown(() => q.close());
  t.equal(q.current().hard_failure, false);
  t.equal(decide(q.current(), PULL).owner, 'go', 'the saved config decides');
  t.equal(q.stats().restored_from, saved);
  t.ok(s.lines.some((l) => /is invalid at start: serving the last good config/.test(l.msg)));
  t.equal(readFileSync(saved, 'utf8'), yaml('  ROUTE_OWNER_CAP_V2_PULL: go\n'), 'an invalid file never overwrites the saved one');
  writeFileSync(s.file, yaml('  ROUTE_OWNER_CAP_V2_PULL: python\n'));
  t.equal(await q.reload('test'), 'installed');
  t.equal(q.stats().restored_from, null, 'fixed: the file decides again');
  t.equal(decide(q.current(), PULL).owner, 'python');
  // Without restoreLastGood (one-shot commands) nothing is saved.
  const s2 = setup(t);
  writeFileSync(s2.file, yaml(''));
  const r = await FileSnapshotProvider.start({ file: s2.file, inventory: inv, stateDir: s2.state, watch: false, pollSeconds: 15 });
  await r.close();
  t.notOk(existsSync(join(s2.state, LAST_GOOD_NAME)));
});

t.test('each install is logged with what moved; an owner serving traffic losing its upstream is a warning', async (t) => {
  const s = setup(t);
  writeFileSync(s.file, yaml('  ROUTE_OWNER_CAP_V2_PULL: go\n'));
  const p = await FileSnapshotProvider.start({ file: s.file, inventory: inv, log: s.log, watch: false, pollSeconds: 15 });
  t.teardown(() => p.close());
  s.lines.length = 0;
  writeFileSync(s.file, yaml('  ROUTE_OWNER_CAP_V2_PULL: python\n  ROUTE_OWNER_CAP_V2_TAGS: go\n  ROUTE_CANARY_CAP_V2_PUSH_PERCENT: 5\n'));
  await p.reload('test');
  const inst = s.lines.find((l) => l.msg === 'config snapshot installed')!;
  t.same(inst.keys_changed, ['MIGRATION.ROUTE_CANARY_CAP_V2_PUSH_PERCENT', 'MIGRATION.ROUTE_OWNER_CAP_V2_PULL', 'MIGRATION.ROUTE_OWNER_CAP_V2_TAGS']);
  t.same(inst.routes_changing_owner_by_capability, { V2_PULL: 4, V2_TAGS: 1 });
  t.equal(inst.routes_changing_owner, 5);
  t.equal(inst.snapshot_version, 2);
  t.ok(
    s.lines.some((l) => l.level === 'warn' && l.code === 'SWB_CONFIG_NO_EFFECT' && /ROUTE_CANARY_CAP_V2_PUSH_PERCENT has no effect/.test(l.msg)),
    "the config's warnings are logged",
  );
  s.lines.length = 0;
  writeFileSync(s.file, yaml('  ROUTE_OWNER_CAP_V2_TAGS: go\n', '{python: "http://user:secret@127.0.0.1:3"}'));
  await p.reload('test');
  const warns = s.lines.filter((l) => l.level === 'warn' && /upstream of/.test(l.msg));
  t.match(warns, [
    { owner: 'python', before: 'http://127.0.0.1:1', after: 'http://***@127.0.0.1:3', msg: /the upstream of python, which serves \d+ routes, changed/ },
    { owner: 'go', routes: 1, before: 'http://127.0.0.1:2', after: null, msg: /the upstream of go, which serves 1 route, was removed/ },
  ]);
  t.notMatch(JSON.stringify(s.lines), /secret/, 'credentials never logged');
  t.same(s.lines.find((l) => l.msg === 'config snapshot installed')!.keys_changed, [
    'MIGRATION.ROUTE_CANARY_CAP_V2_PUSH_PERCENT',
    'MIGRATION.ROUTE_OWNER_CAP_V2_PULL',
    'SWITCHBOARD.UPSTREAMS',
  ]);
});

t.test('STATE_DIR is found without trusting the config', async (t) => {
  t.equal(stateDirFromText('SWITCHBOARD:\n  STATE_DIR: /var/lib/sb\n'), '/var/lib/sb');
  t.equal(
    stateDirFromText('MIGRATION: [broken\nSWITCHBOARD:\n  LISTEN: x\n  STATE_DIR: "/srv/state" # comment\nOTHER: 1\n'),
    '/srv/state',
    'from the line when the YAML is broken',
  );
  t.equal(stateDirFromText('MIGRATION: [broken\nOTHER:\n  STATE_DIR: /not/ours\n'), null, 'only under SWITCHBOARD');
  t.equal(resolveStateDir({ configFile: '/etc/quay/config.yaml', cwd: '/home/x', env: {} }), '/etc/quay/data', 'default: data beside the config');
  t.equal(
    resolveStateDir({ configFile: '/etc/quay/config.yaml', cwd: '/home/x', env: { SWITCHBOARD_STATE_DIR: 'st' } }),
    '/home/x/st',
    'the environment, relative to the working directory',
  );
  t.equal(resolveStateDir({ configFile: '/etc/quay/config.yaml', cwd: '/home/x', env: { SWITCHBOARD_STATE_DIR: 'st' }, flag: '/f' }), '/f', 'the flag first');
  t.throws(
    () => resolveStateDir({ configFile: '/nonexistent/config.yaml', cwd: '/', env: {}, strict: true }),
    { code: 'SWB_CONFIG_UNREADABLE' },
    'strict: no guess when the file cannot be read',
  );
});

t.test('a kill file written while start() is still arming its checks is seen (review: start race)', async (t) => {
  const s = setup(t);
  writeFileSync(s.file, yaml('  ROUTE_OWNER_CAP_V2_PULL: go\n'));
  let wrote = false;
  // Written right after the first read of the kill file, before start() returns: an operator flipping the kill switch during a restart.
  const log = createLogger(
    {},
    {
      write: (l) => {
        const j = JSON.parse(l) as { msg?: string; trigger?: string };
        if (!wrote && j.msg === 'config snapshot installed' && j.trigger === 'start') {
          wrote = true;
          writeKillOn(s.state, { actor: 'ann', via: 'test', reason: 'during a restart' });
        }
      },
    },
  );
  const p = await FileSnapshotProvider.start({ file: s.file, inventory: inv, stateDir: s.state, log, watch: false, pollSeconds: 15, killCheckMs: 20 });
  t.teardown(() => p.close());
  t.ok(wrote, 'the kill file was written during start()');
  t.ok(await until(() => decide(p.current(), PULL).owner === 'python', 3000), 'the quarter-second check sees it (not only the next poll, 15 s later)');
});

t.test('writing the kill file never follows a link planted in STATE_DIR (review: symlink)', async (t) => {
  const s = setup(t);
  mkdirSync(s.state, { recursive: true });
  // Whoever can write STATE_DIR (the serve user) plants links where the temp file of `sudo switchboard set` would go.
  const victim = join(s.dir, 'victim');
  writeFileSync(victim, 'precious\n');
  for (const pid of [process.pid, process.pid + 1]) symlinkSync(victim, join(s.state, `.force-python.json.${pid}.tmp`));
  writeKillOn(s.state, { actor: 'root', via: 'cli', reason: 'INC-8' });
  t.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the link target is untouched');
  t.ok(lstatSync(killFilePath(s.state)).isFile(), 'the kill file is a file of its own');
  t.match(readKill(killFilePath(s.state)), { actor: 'root', reason: 'INC-8' });
  t.same(
    readdirSync(s.state).filter((n) => n.endsWith('.tmp') && !lstatSync(join(s.state, n)).isSymbolicLink()),
    [],
    'no temp file left behind',
  );
});

t.test('a garbled MIGRATION_FORCE_PYTHON value is taken as on until fixed (when in doubt, python)', async (t) => {
  const s = setup(t);
  writeFileSync(s.file, yaml('  ROUTE_OWNER_CAP_V2_PULL: go\n'));
  const p = await FileSnapshotProvider.start({ file: s.file, inventory: inv, stateDir: s.state, log: s.log, watch: false, pollSeconds: 15 });
  t.teardown(() => p.close());
  writeFileSync(s.file, yaml('  ROUTE_OWNER_CAP_V2_PULL: go\n  MIGRATION_FORCE_PYTHON: "true"\n'));
  t.equal(await p.reload('test'), 'failed', 'the file is still invalid');
  const d = decide(p.current(), { ...PULL, explain: true });
  t.equal(d.owner, 'python');
  t.match(d.trace[0], { level: 'kill_switch', value: true, origin: { source: 'file', file: s.file, line: 3 } }, 'the trace points at the line');
  t.ok(s.lines.some((l) => l.level === 'error' && /not true or false: the kill switch is ON until it is fixed/.test(l.msg)));
  writeFileSync(s.file, yaml('  ROUTE_OWNER_CAP_V2_PULL: go\n  ROUTE_OWNER_DEFAULT: purple\n'));
  await p.reload('test');
  t.equal(decide(p.current(), PULL).owner, 'go', 'another invalid value: the last good snapshot, kill off');
  writeFileSync(s.file, yaml('  ROUTE_OWNER_CAP_V2_PULL: go\n  MIGRATION_FORCE_PYTHON: ture\n'));
  await p.reload('test');
  t.equal(decide(p.current(), PULL).owner, 'python');
  writeFileSync(s.file, yaml('  ROUTE_OWNER_CAP_V2_PULL: go\n'));
  t.equal(await p.reload('test'), 'installed', 'back to the content in force: installed again without the garbled kill');
  t.equal(decide(p.current(), PULL).owner, 'go');
  // In the environment too.
  const e = await FileSnapshotProvider.start({ file: s.file, inventory: inv, env: { MIGRATION_FORCE_PYTHON: 'maybe' }, watch: false, pollSeconds: 15 });
  t.teardown(() => e.close());
  t.equal(e.current().owner_map.forcePython.value, true, 'MIGRATION_FORCE_PYTHON=maybe in the environment: on');
});

t.test('a file that reads empty (truncated for rewriting) never installs "nothing set"', async (t) => {
  const s = setup(t);
  writeFileSync(s.file, yaml('  ROUTE_OWNER_CAP_V2_PULL: go\n'));
  const p = await FileSnapshotProvider.start({ file: s.file, inventory: inv, watch: false, pollSeconds: 15 });
  t.teardown(() => p.close());
  writeFileSync(s.file, '');
  t.equal(await p.reload('test'), 'failed');
  t.equal(decide(p.current(), PULL).owner, 'go', 'the last good snapshot stays');
  t.match(p.stats().last_error?.issues[0], { code: 'SWB_CONFIG_UNREADABLE', message: /is empty \(being rewritten\?\)/ });
});
