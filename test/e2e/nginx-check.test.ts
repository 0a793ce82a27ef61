/**
 * `switchboard nginx render --check` with the README's own example config
 * (examples/config.yaml, unchanged) in real nginx. Its ACCESS_LOG is the
 * default, stdout, which nginx opens as /dev/stdout even under `nginx -t`; the
 * --runtime-dir given does not exist yet. Both the whole nginx.conf and the
 * --http-only part pass their test, `--test-cmd "nginx -t ..."` passes too, and
 * nginx started on the result answers and writes its JSON access log to its
 * stdout.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildSwitchboard } from '../lib/switchboard.js';
import { freePort, request, ROOT, run, tempDir, waitFor } from '../lib/proc.js';
import { NGINX, requireNginx, waitForPort } from '../lib/nginx.js';

requireNginx();
await buildSwitchboard();
const BIN = join(ROOT, 'bin/switchboard.js');
const EXAMPLE = join(ROOT, 'examples/config.yaml');

/** The switchboard's environment without switches from ours. */
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(MIGRATION_FORCE_PYTHON|ROUTE_OWNER_|ROUTE_CANARY_|WORKER_OWNER_|SWITCHBOARD_)/.test(k)));

function render(args: string[], cwd: string): ReturnType<typeof run> {
  return run(process.execPath, [BIN, 'nginx', 'render', '--config', EXAMPLE, '--nginx', NGINX, ...args], { cwd, env });
}

t.test('the whole nginx.conf: --check passes with ACCESS_LOG stdout and a runtime dir that does not exist yet', async (t) => {
  const dir = tempDir(t, 'swb-nginx-check-');
  const out = join(dir, 'nginx.conf');
  const runtime = join(dir, 'run', 'nginx');
  const r = await render(['--out', out, '--check', '--runtime-dir', runtime], dir);
  t.equal(r.code, 0, 'exit 0', { stderr: r.stderr });
  t.match(r.stderr, /^switchboard: nginx: wrote .*nginx\.conf \(435 routes: /m);
  const text = readFileSync(out, 'utf8');
  t.match(text, /^\s*access_log "\/dev\/stdout" switchboard_json;$/m, 'the default access log is /dev/stdout');
  t.match(text, new RegExp(`^pid "${runtime}/nginx\\.pid";$`, 'm'), 'the pid file is in the runtime dir');
  t.ok(statSync(runtime).isDirectory(), '--runtime-dir was created');
  t.notOk(existsSync(`${out}.rejected`), 'nothing rejected');
});

t.test('the --http-only part, as in the README: --check inside a minimal nginx.conf', async (t) => {
  const dir = tempDir(t, 'swb-nginx-check-');
  const out = join(dir, 'switchboard.conf');
  const r = await render(['--http-only', '--out', out, '--check'], dir);
  t.equal(r.code, 0, 'exit 0', { stderr: r.stderr });
  t.match(readFileSync(out, 'utf8'), /^access_log "\/dev\/stdout" switchboard_json;$/m);
});

t.test('--test-cmd "nginx -t" on the installed file passes with ACCESS_LOG stdout', async (t) => {
  const dir = tempDir(t, 'swb-nginx-check-');
  const out = join(dir, 'nginx.conf');
  const r = await render(['--out', out, '--runtime-dir', join(dir, 'run'), '--test-cmd', `${NGINX} -t -q -c ${out}`], dir);
  t.equal(r.code, 0, 'exit 0', { stderr: r.stderr });
  t.ok(existsSync(out), 'installed');
});

t.test('nginx runs the checked configuration and logs JSON access lines to its stdout', async (t) => {
  const dir = tempDir(t, 'swb-nginx-check-');
  const out = join(dir, 'nginx.conf');
  const port = await freePort();
  const r = await render(['--out', out, '--check', '--runtime-dir', join(dir, 'run'), '--listen', `127.0.0.1:${port}`], dir);
  t.equal(r.code, 0, 'exit 0', { stderr: r.stderr });
  // nginx's stdout is a file here, as it is a pipe under a container runtime (a socket, as under systemd, cannot be opened as /dev/stdout).
  const logFile = join(dir, 'nginx.out');
  const fd = openSync(logFile, 'w');
  const nginx = spawn(NGINX, ['-c', out, '-g', 'daemon off;'], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => nginx.once('exit', () => resolve()));
  t.teardown(async () => {
    nginx.kill('SIGKILL');
    await exited;
  });
  await waitForPort(port);
  const ping = await request(port, { path: '/v1/_ping' });
  t.equal(ping.status, 200, '/v1/_ping answered by nginx');
  t.ok(await waitFor(() => /"uri":"\/v1\/_ping"/.test(readFileSync(logFile, 'utf8'))), 'the request is in the access log on stdout');
  const line = readFileSync(logFile, 'utf8')
    .split('\n')
    .find((l) => l.includes('/v1/_ping'))!;
  t.doesNotThrow(() => JSON.parse(line), 'as a JSON line');
  nginx.kill('SIGQUIT');
  await exited;
});
