/**
 * `quay worker` as an operator runs it: --list (text and --json), a program
 * whose feature is off idles as Quay's does, a program the TS side does not
 * have is refused with REG_WORKER_NOT_BUILT, --once respects ownership, and a
 * running program serves /metrics, /healthz and /readyz, follows a config
 * edit that gives it back to python, and exits 0 on SIGTERM.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, freePort, request, run, startChild, tempDir, waitFor } from '../lib/proc.js';
import { buildSwitchboard } from '../lib/switchboard.js';

t.setTimeout(300_000);
await buildSwitchboard();
const BIN = join(ROOT, 'bin/quay.js');

const quay = (args: string[], env: NodeJS.ProcessEnv = {}) => run(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeoutMs: 60_000 });

t.test('--list: every program, its owner now, what the TS side has, and when Quay would idle', async (t) => {
  const dir = tempDir(t, 'qw-list-');
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'FEATURE_SECURITY_SCANNER: true\nMIGRATION:\n  WORKER_OWNER_NOTIFICATIONWORKER: go\n');
  const text = await quay(['worker', '--list', '--config', file, '--data-dir', join(dir, 'data')]);
  t.equal(text.code, 0, text.stderr);
  t.match(text.stdout, /^PROGRAM\s+OWNER\s+REASON\s+KIND\s+QUEUE\s+TS SIDE\s+FEATURE$/m);
  t.match(text.stdout, /^notificationworker\s+go\s+worker_switch\s+queue\s+notification\s+built\s+on$/m);
  t.match(text.stdout, /^repomirrorworker\s+python\s+default\s+complex\s+-\s+python only\s+idle: FEATURE_REPO_MIRROR is off$/m);
  t.match(text.stdout, /^securityworker\s+python\s+default\s+complex\s+-\s+python only\s+on$/m, 'the config turned the scanner on');
  const json = await quay(['worker', '--list', '--json', '--config', file, '--data-dir', join(dir, 'data')]);
  const rows = JSON.parse(json.stdout) as { program: string; owner: string; built: boolean; idle: string | null }[];
  t.equal(rows.length, 29);
  t.same(
    rows.filter((r) => r.built).map((r) => r.program),
    rows
      .filter((r) => r.built)
      .map((r) => r.program)
      .sort(),
  );
  t.ok(rows.find((r) => r.program === 'notificationworker')?.built);
  const killed = JSON.parse(
    (await quay(['worker', '--list', '--json', '--config', file, '--data-dir', join(dir, 'data')], { MIGRATION_FORCE_PYTHON: 'true' })).stdout,
  ) as typeof rows;
  t.equal(killed.find((r) => r.program === 'notificationworker')?.owner, 'python', 'the kill switch');
});

t.test('a program whose feature is off idles, as Quay: --once exits 0, running it waits for SIGTERM', async (t) => {
  const dir = tempDir(t, 'qw-idle-');
  const once = await quay(['worker', 'repomirrorworker', '--once', '--data-dir', join(dir, 'data')]);
  t.equal(once.code, 0);
  t.match(once.stderr, /repomirrorworker idles, as Quay's does: FEATURE_REPO_MIRROR is off/);
  const child = startChild(t, process.execPath, [BIN, 'worker', 'repomirrorworker', '--data-dir', join(dir, 'data')], { cwd: ROOT });
  t.ok(await waitFor(() => child.stderr().includes('idles'), 30_000));
  child.child.kill('SIGTERM');
  t.equal((await child.exited).code, 0);
});

t.test('refusals: a program the TS side does not have, an unknown program, no program', async (t) => {
  const dir = tempDir(t, 'qw-refuse-');
  const notBuilt = await quay(['worker', 'builder', '--data-dir', join(dir, 'data')]);
  t.equal(notBuilt.code, 1);
  t.match(notBuilt.stderr, /^quay: builder is not built on the TS side yet: Python Quay runs it \(quay worker --list\) \[REG_WORKER_NOT_BUILT\]$/m);
  const unknown = await quay(['worker', 'nosuchworker']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /nosuchworker is not one of Quay's programs/);
  const none = await quay(['worker']);
  t.equal(none.code, 2);
  const help = await quay(['worker', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /^Usage: quay worker --list/);
});

t.test('--once does nothing while python owns the program', async (t) => {
  const dir = tempDir(t, 'qw-once-');
  const r = await quay(['worker', 'notificationworker', '--once', '--data-dir', join(dir, 'data')]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /notificationworker is owned by python \(default\): not run here/);
});

t.test('a running program: admin listener, a flip back to python, SIGTERM', async (t) => {
  const dir = tempDir(t, 'qw-run-');
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'MIGRATION:\n  WORKER_OWNER_QUEUECLEANUPWORKER: go\n');
  const admin = await freePort();
  const child = startChild(t, process.execPath, [BIN, 'worker', 'queuecleanupworker', '--config', file, '--data-dir', join(dir, 'data'), '--admin-listen', `127.0.0.1:${admin}`], {
    cwd: ROOT,
  });
  t.ok(await waitFor(() => child.stderr().includes('"msg":"quay worker running"') || !child.running(), 60_000), child.stderr());
  const ready = async (): Promise<{ status: number; workers: { program: string; owner: string; running: boolean; runs: number }[] }> => {
    const r = await request(admin, { path: '/readyz' });
    return { ...(JSON.parse(r.body.toString()) as { workers: { program: string; owner: string; running: boolean; runs: number }[] }), status: r.status };
  };
  t.ok(await waitFor(async () => (await ready()).workers[0]!.runs >= 1, 30_000), 'the first pass ran');
  const r = await ready();
  t.equal(r.status, 200);
  t.same(
    r.workers.map((w) => [w.program, w.owner, w.running]),
    [['queuecleanupworker', 'go', true]],
  );
  t.equal((await request(admin, { path: '/healthz' })).status, 200);
  const metrics = (await request(admin, { path: '/metrics' })).body.toString();
  t.match(metrics, /workers_pass_total\{program="queuecleanupworker",result="ok"\} [1-9]/);
  t.match(metrics, /workers_process_resident_memory_bytes/);

  writeFileSync(file, 'MIGRATION:\n  WORKER_OWNER_QUEUECLEANUPWORKER: python\n');
  t.ok(await waitFor(async () => (await ready()).workers[0]!.owner === 'python', 30_000), 'the config edit reached it');
  t.equal((await ready()).workers[0]!.running, false, 'no longer scheduled');
  child.child.kill('SIGTERM');
  const exit = await child.exited;
  t.equal(exit.code, 0);
  t.match(child.stderr(), /"msg":"stopped"/);
});
