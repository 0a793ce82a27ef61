/**
 * `quay serve` runs a background program only while the live config gives it
 * to go: WORKER_OWNER_BLOBUPLOADCLEANUPWORKER in the same config.yaml, watched
 * (an edit takes effect without a restart), and the kill switch in the
 * environment. /readyz on the admin listener lists each program's owner.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, freePort, request, startChild, tempDir, waitFor, type Child, type TLike } from '../lib/proc.js';
import { buildSwitchboard } from '../lib/switchboard.js';

await buildSwitchboard();
const BIN = join(ROOT, 'bin/quay.js');

interface WorkerState {
  program: string;
  owner: string;
  reason: string;
  running: boolean;
  runs: number;
}

async function serve(t: TLike, config: string, env: Record<string, string> = {}): Promise<{ child: Child; workers: () => Promise<WorkerState[]> }> {
  const dir = tempDir(t, 'quay-workers-');
  const file = join(dir, 'config.yaml');
  writeFileSync(file, config);
  const port = await freePort();
  const adminPort = await freePort();
  const child = startChild(
    t,
    process.execPath,
    [
      BIN,
      'serve',
      '--mode',
      'mirror',
      '--config',
      file,
      '--data-dir',
      join(dir, 'data'),
      '--tls',
      'off',
      '--listen',
      `127.0.0.1:${port}`,
      '--admin-listen',
      `127.0.0.1:${adminPort}`,
    ],
    { cwd: dir, env: { ...process.env, ...env } },
  );
  const up = await waitFor(() => !child.running() || child.stderr().includes('"msg":"quay serving"'), 60_000, 50);
  if (!up || !child.running()) throw new Error(`quay serve did not start:\n${child.stderr()}`);
  const workers = async (): Promise<WorkerState[]> => (JSON.parse((await request(adminPort, { path: '/readyz' })).body.toString()) as { workers: WorkerState[] }).workers;
  (child as Child & { file?: string }).file = file;
  return { child, workers };
}

const cleanup = (ws: WorkerState[]): WorkerState => ws.find((w) => w.program === 'blobuploadcleanupworker')!;

t.test('python by default; a config edit gives it to go and takes it back, without a restart', async (t) => {
  const { child, workers } = await serve(t, 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n');
  const file = (child as Child & { file?: string }).file!;
  t.match(cleanup(await workers()), { owner: 'python', reason: 'default', running: false });
  t.notMatch(child.stderr(), /blobuploadcleanupworker pass/, 'it never ran');

  writeFileSync(file, 'MIGRATION:\n  WORKER_OWNER_BLOBUPLOADCLEANUPWORKER: go\n');
  t.ok(await waitFor(async () => cleanup(await workers()).running, 20_000, 100), 'the edit reached the runner');
  t.match(cleanup(await workers()), { owner: 'go', reason: 'worker_switch' });
  t.ok(await waitFor(async () => cleanup(await workers()).runs >= 1, 20_000, 100), 'and it ran');
  t.match(child.stderr(), /"msg":"worker owned by go: running it here".*"program":"blobuploadcleanupworker"/);

  writeFileSync(file, 'MIGRATION:\n  WORKER_OWNER_BLOBUPLOADCLEANUPWORKER: python\n');
  t.ok(await waitFor(async () => !cleanup(await workers()).running, 20_000, 100), 'given back to python: it stops');
});

t.test('the kill switch in the environment keeps it on python whatever the config says', async (t) => {
  const { workers } = await serve(t, 'MIGRATION:\n  WORKER_OWNER_BLOBUPLOADCLEANUPWORKER: go\n', { MIGRATION_FORCE_PYTHON: 'true' });
  t.match(cleanup(await workers()), { owner: 'python', reason: 'force_python', running: false });
});
