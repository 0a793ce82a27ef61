/**
 * The kill switch works in every state, end to end: a real `switchboard serve`
 * in front of two echo upstreams, with the registry API on go. For each way
 * in — `switchboard set` (a separate process), the control API, the
 * environment at a restart — and each broken state of config.yaml — broken
 * YAML, an invalid value, a deleted file, a file that cannot be read — the
 * next requests go to python (waited for, and the time it took is reported,
 * never asserted), the audit log records who and why, and turning it off
 * gives the routes back to the config.
 */
import t from 'tap';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, ROOT, run, tempDir, waitFor, startChild, waitForLog } from '../lib/proc.js';
import { startEcho } from '../lib/nginx.js';
import { buildSwitchboard, startSwitchboard, type Switchboard } from '../lib/switchboard.js';

t.setTimeout(240_000);
await buildSwitchboard();

const TOKEN = 'kill-switch-admin-token-0123456789';
const dir = tempDir(t, 'swb-kill-');
writeFileSync(join(dir, 'admin.token'), `${TOKEN}\n`);
const python = await startEcho(t, 'python');
const go = await startEcho(t, 'go');
const sb: Switchboard = await startSwitchboard(
  t,
  dir,
  { python: `http://127.0.0.1:${python.port}`, go: `http://127.0.0.1:${go.port}` },
  {
    migration: { ROUTE_OWNER_DEFAULT: 'python', ROUTE_OWNER_FAMILY_REGISTRY_V2: 'go' },
    settings: { DASHBOARD: { ADMIN_TOKEN_FILE: 'admin.token' } },
  },
);
const stateDir = join(dir, 'state');
const good = readFileSync(sb.configFile, 'utf8');

async function ownerOf(path = '/v2/acme/app/manifests/latest'): Promise<string> {
  return (await request(sb.port, { path })).header('x-echo-owner');
}

/** Waits until pulls go to `owner`; returns how long it took (reported, not asserted). */
async function until(t: { ok: (v: unknown, m: string) => void; comment: (m: string) => void }, owner: string, what: string): Promise<void> {
  const start = Date.now();
  const ok = await waitFor(async () => (await ownerOf()) === owner, 10_000, 20);
  t.ok(ok, `${what}: pulls go to ${owner}`);
  t.comment(`${what}: ${owner} after ${Date.now() - start} ms`);
}

/** Replaces config.yaml as editors and config management do (write, then rename): no torn reads. */
function writeConfig(text: string): void {
  writeFileSync(`${sb.configFile}.tmp`, text);
  renameSync(`${sb.configFile}.tmp`, sb.configFile);
}

function swb(args: string[], env: Record<string, string> = {}): ReturnType<typeof run> {
  return run(process.execPath, [join(ROOT, 'bin/switchboard.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const r = await request(sb.adminPort, {
    method,
    path,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, json: JSON.parse(r.text() || 'null') };
}

function audit(): Record<string, unknown>[] {
  return readFileSync(join(dir, 'switchboard-audit.log'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

t.test('it starts on go for the registry API', async (t) => {
  t.equal(await ownerOf(), 'go');
});

t.test('a hand edit of config.yaml appears in the history as a file edit', async (t) => {
  const v = await sb.version();
  writeConfig(good.replace('MIGRATION:\n', 'MIGRATION:\n  ROUTE_OWNER_CAP_V2_TAGS: python\n'));
  await waitFor(async () => (await sb.version()) > v, 10_000);
  const ok = await waitFor(async () => (await api('GET', '/control/v1/history')).json.entries.length > 0, 5000);
  t.ok(ok, 'an entry appeared');
  const [e] = (await api('GET', '/control/v1/history')).json.entries;
  t.match(e, { via: 'file edit', actor: '(file)', keys: ['MIGRATION.ROUTE_OWNER_CAP_V2_TAGS'], routes_changing_owner: 1, snapshot_version: v + 1 });
  writeConfig(good);
  await waitFor(async () => (await sb.version()) > v + 1, 10_000);
  t.equal((await api('GET', '/control/v1/history')).json.entries.length, 2, 'and its revert');
});

t.test('broken YAML: `switchboard set` turns it on, and off once the file is fixed', async (t) => {
  writeConfig(good.replace('MIGRATION:', 'MIGRATION: [unclosed'));
  await waitFor(async () => (await sb.status()).reload.last_error !== null, 10_000);
  t.equal(await ownerOf(), 'go', 'the last good snapshot stays in force');
  const on = await swb(['set', 'MIGRATION_FORCE_PYTHON', 'true', '--config', sb.configFile, '--actor', 'oncall-ann', '--reason', 'INC-1: go registry errors']);
  t.equal(on.code, 0, on.stderr);
  t.match(on.stdout, /kill switch ON/);
  t.match(on.stderr, /not valid: the kill file alone holds the kill switch/);
  await until(t, 'python', 'broken YAML + set');
  t.equal((await request(sb.port, { path: '/v2/acme/app/tags/list' })).header('x-echo-owner'), 'python', 'every route');
  const st = await sb.status();
  t.match(st.kill_file, { actor: 'oncall-ann', reason: 'INC-1: go registry errors' }, '/status names who holds it and why');
  t.match(audit().at(-1), { actor: 'oncall-ann', via: 'cli', key: 'MIGRATION_FORCE_PYTHON', new: true, reason: 'INC-1: go registry errors' });
  // Fixed file: the kill file still holds.
  writeConfig(good);
  await waitFor(async () => (await sb.status()).snapshot.digest !== null && (await sb.status()).reload.last_error === null, 5000);
  await new Promise((r) => setTimeout(r, 300));
  t.equal(await ownerOf(), 'python', 'a fixed config does not lift the kill switch');
  const off = await swb(['set', 'MIGRATION_FORCE_PYTHON', 'false', '--config', sb.configFile, '--actor', 'oncall-ann', '--reason', 'INC-1 resolved']);
  t.equal(off.code, 0, off.stderr);
  await until(t, 'go', 'set false');
  t.match(audit().at(-1), { actor: 'oncall-ann', action: 'unset', new: false, reason: 'INC-1 resolved' });
});

t.test('a garbled kill value (MIGRATION_FORCE_PYTHON: ture) is taken as ON until fixed', async (t) => {
  writeConfig(good.replace('MIGRATION:\n', 'MIGRATION:\n  MIGRATION_FORCE_PYTHON: ture\n'));
  await until(t, 'python', 'garbled kill value');
  t.match(sb.process.stderr(), /MIGRATION_FORCE_PYTHON has a value that is not true or false: the kill switch is ON until it is fixed/);
  const st = await sb.status();
  t.equal(st.snapshot.kill_switch, true);
  t.not(st.reload.last_error, null, 'and the file is still reported invalid');
  writeConfig(good);
  await until(t, 'go', 'fixed file');
});

t.test('an invalid value elsewhere (ROUTE_OWNER_DEFAULT: Go): the control API turns it on and off', async (t) => {
  writeConfig(good.replace('ROUTE_OWNER_DEFAULT: python', 'ROUTE_OWNER_DEFAULT: Go'));
  await waitFor(async () => /ROUTE_OWNER_DEFAULT/.test(JSON.stringify((await sb.status()).reload.last_error)), 10_000);
  t.equal(await ownerOf(), 'go', 'the last good snapshot stays');
  const plan = await api('POST', '/control/v1/plan', { action: 'kill', on: true });
  t.equal(plan.status, 200, String(plan.json?.error ?? 'plan'));
  t.same(plan.json.changes, [{ key: 'MIGRATION_FORCE_PYTHON', old: false, new: true }]);
  t.ok(plan.json.routes_changing_owner.length > 0, 'the plan lists the routes that move to python');
  const apply = await api('POST', '/control/v1/apply', { action: 'kill', on: true, reason: 'INC-2' });
  t.equal(apply.status, 200, String(apply.json?.error ?? 'apply'));
  t.equal(apply.json.kill_switch, true, 'the snapshot it answers with has the kill switch on');
  t.equal(await ownerOf(), 'python', 'in force when the API answers');
  t.match(audit().at(-1), { actor: 'admin', via: 'api', new: true, reason: 'INC-2' });
  const history = await api('GET', '/control/v1/history');
  t.match(history.json.entries[0], { key: 'MIGRATION_FORCE_PYTHON', via: 'api', reason: 'INC-2' }, 'history shows it first');
  const noReason = await api('POST', '/control/v1/apply', { action: 'kill', on: false });
  t.equal(noReason.status, 400, 'turning it off needs a reason like any change');
  const off = await api('POST', '/control/v1/apply', { action: 'kill', on: false, reason: 'INC-2 resolved' });
  t.equal(off.status, 200, String(off.json?.error ?? 'off'));
  t.equal(await ownerOf(), 'go', 'off: the last good snapshot decides again');
  writeConfig(good);
});

t.test('a deleted file: the API turns it on; a file that cannot be read: `set` does', async (t) => {
  rmSync(sb.configFile);
  await waitFor(async () => /cannot read/.test(JSON.stringify((await sb.status()).reload.last_error)), 10_000);
  const on = await api('POST', '/control/v1/apply', { action: 'kill', on: true, reason: 'INC-3 config deleted' });
  t.equal(on.status, 200, String(on.json?.error ?? 'on'));
  await until(t, 'python', 'deleted file + API');
  const off = await api('POST', '/control/v1/apply', { action: 'kill', on: false, reason: 'INC-3 over' });
  t.equal(off.status, 200);
  await until(t, 'go', 'deleted file, kill off');
  // Unreadable (EISDIR: root reads any file mode, so the path is made a directory).
  mkdirSync(sb.configFile);
  const guess = await swb(['set', 'MIGRATION_FORCE_PYTHON', 'on', '--config', sb.configFile, '--reason', 'INC-4', '--actor', 'bo']);
  t.equal(guess.code, 1, 'STATE_DIR cannot be read from the file: no guess');
  t.match(guess.stderr, /to find its STATE_DIR: give --state-dir DIR/);
  t.equal((await sb.status()).state_dir, stateDir, '/status names the state directory');
  const set = await swb(['set', 'MIGRATION_FORCE_PYTHON', 'on', '--config', sb.configFile, '--reason', 'INC-4', '--actor', 'bo', '--state-dir', stateDir]);
  t.equal(set.code, 0, set.stderr);
  t.match(set.stderr, /cannot be read: the kill file alone holds the kill switch/);
  await until(t, 'python', 'unreadable file + set');
  rmSync(sb.configFile, { recursive: true });
  writeFileSync(join(dir, 'next.yaml'), good);
  renameSync(join(dir, 'next.yaml'), sb.configFile);
  const off2 = await swb(['set', 'MIGRATION_FORCE_PYTHON', 'false', '--config', sb.configFile, '--reason', 'INC-4 over', '--actor', 'bo']);
  t.equal(off2.code, 0, off2.stderr);
  await until(t, 'go', 'unreadable, kill off');
  t.match(audit().slice(-2), [
    { actor: 'bo', new: true, reason: 'INC-4' },
    { actor: 'bo', new: false, reason: 'INC-4 over' },
  ]);
});

t.test('a restart-only setting changed live is applied on restart and says so', async (t) => {
  const v = await sb.reconfigure({
    migration: { ROUTE_OWNER_DEFAULT: 'python', ROUTE_OWNER_FAMILY_REGISTRY_V2: 'go' },
    settings: { DASHBOARD: { ADMIN_TOKEN_FILE: 'admin.token', SESSION_HOURS: 2 }, DEBUG_HEADERS: true },
  });
  t.ok(v > 0);
  t.ok(await waitFor(() => /"level":"warn".*SWITCHBOARD\.DASHBOARD changed in the config: takes effect on restart/.test(sb.process.stderr()), 5000), 'DASHBOARD: warned');
  t.notMatch(sb.process.stderr(), /DEBUG_HEADERS changed/, 'a live setting is not warned');
  t.equal((await request(sb.port, { path: '/v2/acme/app/manifests/latest' })).header('x-switchboard-owner'), 'go', 'DEBUG_HEADERS applies at once');
  writeConfig(good);
  await waitFor(async () => (await request(sb.port, { path: '/v2/' })).header('x-switchboard-owner') === '', 5000);
});

t.test('the CLI explains through the running proxy, and says when it disagrees with it', async (t) => {
  t.match(
    JSON.parse(readFileSync(join(stateDir, 'switchboard.json'), 'utf8')),
    { pid: sb.process.pid, admin: `http://127.0.0.1:${sb.adminPort}` },
    'serve records its pid and admin URL',
  );
  // This shell has the kill switch in its environment; the proxy does not.
  const local = await swb(['owners', '--explain', '/v2/acme/app/manifests/latest', '--config', sb.configFile], { MIGRATION_FORCE_PYTHON: 'true' });
  t.equal(local.code, 0, local.stderr);
  t.match(local.stdout, /owner\s+python/);
  t.match(local.stderr, /note: the running switchboard \(pid \d+, snapshot v\d+\) disagrees: its kill switch is off \(here: ON\) — add --server http:\/\/127\.0\.0\.1:\d+/);
  const agree = await swb(['owners', '--explain', '/v2/acme/app/manifests/latest', '--config', sb.configFile]);
  t.equal(agree.stderr, '', 'no note when they agree');
  const remote = await swb(['owners', '--explain', '/v2/acme/app/manifests/latest', '--config', sb.configFile, '--server', `http://127.0.0.1:${sb.adminPort}`, '--json'], {
    MIGRATION_FORCE_PYTHON: 'true',
  });
  t.equal(remote.code, 0, remote.stderr);
  const j = JSON.parse(remote.stdout);
  t.equal(j.decision.owner, 'go', "the proxy's own decision, not this shell's environment");
  t.equal(j.decision.owner, await ownerOf(), 'and it is what the proxy does');
  t.equal(j.snapshot.version, await sb.version());
  const list = await swb(['owners', 'list', '--config', sb.configFile, '--server', `http://127.0.0.1:${sb.adminPort}`, '--capability', 'V2_PULL']);
  t.equal(list.code, 0, list.stderr);
  t.match(list.stdout, /REGISTRY_V2\s+V2_PULL\s+\d+\s+go\s+ROUTE_OWNER_FAMILY_REGISTRY_V2/);
  const notToken = await swb(['owners', 'list', '--config', sb.configFile, '--server', `http://127.0.0.1:${sb.adminPort}`, '--token-file', sb.configFile]);
  t.equal(notToken.code, 2);
  t.match(notToken.stderr, /does not hold one admin token/);
  writeFileSync(join(dir, 'wrong.token'), 'not-the-token\n');
  const wrong = await swb(['owners', 'list', '--config', sb.configFile, '--server', `http://127.0.0.1:${sb.adminPort}`, '--token-file', join(dir, 'wrong.token')]);
  t.equal(wrong.code, 2);
  t.match(wrong.stderr, /refused the admin token \(401\)/);
});

t.test('the environment at a restart with a broken file: the last good config, everything on python', async (t) => {
  writeConfig(good.replace('MIGRATION:', 'MIGRATION: [broken'));
  await sb.process.stop(5000);
  const port = sb.port;
  const child = startChild(t, process.execPath, [join(ROOT, 'bin/switchboard.js'), 'serve', '--config', sb.configFile], {
    cwd: ROOT,
    env: { ...process.env, MIGRATION_FORCE_PYTHON: 'true' },
  });
  await waitForLog(child, /"msg":"switchboard serving"/, 'serve with the env kill switch');
  t.match(child.stderr(), /is invalid at start: serving the last good config saved in/);
  t.match(child.stderr(), /KILL SWITCH ON/, 'the banner says so');
  const line = child
    .stderr()
    .split('\n')
    .find((l) => l.includes('"switchboard serving"'))!;
  const newPort = Number(String(JSON.parse(line).listen).split(':').pop());
  t.not(newPort, 0);
  const r = await request(newPort, { path: '/v2/acme/app/manifests/latest' });
  t.equal(r.header('x-echo-owner'), 'python', 'everything on python');
  t.comment(`restarted on port ${newPort} (was ${port})`);
  await child.stop(5000);
  // Without the environment and without a saved config, it refuses to start and says why.
  rmSync(join(stateDir, 'last-good-config.yaml'));
  const refused = await swb(['serve', '--config', sb.configFile]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /not a valid configuration and .* holds no last good one; not starting/);
  t.match(refused.stderr, /config\.yaml:\d+: .*\[SWB_CONFIG_YAML\]/, 'the problem with its line');
  const typo = await swb(['serve', '--config', join(dir, 'confg.yaml')]);
  t.equal(typo.code, 1, 'a config path that names no file: not started');
  t.match(typo.stderr, /confg\.yaml does not exist; not starting .*\[SWB_CONFIG_UNREADABLE\]/);
});
