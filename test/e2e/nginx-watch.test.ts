// `switchboard nginx render --watch --reload-cmd "nginx -s reload"` in front of
// a real nginx: an edit of config.yaml reaches nginx; a rendered configuration
// that fails `nginx -t` never replaces the running one; an invalid config.yaml
// renders nothing; SIGTERM ends the watcher with exit 0. Also the one-shot
// command's exit codes, --check, --json and --http-only.

import t from 'tap';
import { existsSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSwitchboard } from '../lib/switchboard.js';
import { freePort, request, ROOT, run, startChild, tempDir, waitFor, waitForLog } from '../lib/proc.js';
import { NGINX, requireNginx, startEcho, waitForPort } from '../lib/nginx.js';

requireNginx();
await buildSwitchboard();
const BIN = join(ROOT, 'bin/switchboard.js');

const python = await startEcho(t, 'python');
const go = await startEcho(t, 'go');

function yaml(migration: string, goUrl = `http://127.0.0.1:${go.port}`): string {
  return `MIGRATION:\n${migration
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}
SWITCHBOARD:
  UPSTREAMS: {python: "http://127.0.0.1:${python.port}", go: "${goUrl}"}
  ACCESS_LOG: "off"
`;
}

async function ownerOf(port: number, path: string): Promise<string> {
  return (await request(port, { path })).header('x-echo-owner');
}

t.test('one-shot render: exit codes, --check, --json, --http-only', async (t) => {
  const dir = tempDir(t, 'swb-nginx-cli-');
  const cfg = join(dir, 'config.yaml');
  writeFileSync(cfg, yaml('ROUTE_OWNER_DEFAULT: python\nROUTE_OWNER_FAMILY_API_V1: canary\nROUTE_CANARY_USERS: [alice]'));
  const out = join(dir, 'nginx.conf');

  const help = await run('node', [BIN, 'nginx', 'render', '--help']);
  t.equal(help.code, 0, '--help exits 0');
  t.match(help.stdout, /--reload-cmd CMD/);
  t.equal((await run('node', [BIN, 'nginx'])).code, 2, 'no subcommand: usage, exit 2');
  t.equal((await run('node', [BIN, 'nginx', 'render', '--bogus'])).code, 2, 'unknown flag: exit 2');
  t.equal((await run('node', [BIN, 'nginx', 'render', '--config', cfg, '--watch'])).code, 2, '--watch without --out: exit 2');

  const toStdout = await run('node', [BIN, 'nginx', 'render', '--config', cfg]);
  t.equal(toStdout.code, 0);
  t.match(toStdout.stdout, /^# nginx\.conf rendered by `switchboard nginx render`/, 'a whole nginx.conf on stdout');
  t.match(toStdout.stderr, /warning: canary FAMILY_API_V1: the users selector/, 'the bearer-token limit is printed on stderr');
  const again = await run('node', [BIN, 'nginx', 'render', '--config', cfg]);
  t.equal(again.stdout, toStdout.stdout, 'the same snapshot renders the same bytes');

  const httpOnly = await run('node', [BIN, 'nginx', 'render', '--config', cfg, '--http-only', '--out', out, '--check', '--nginx', NGINX]);
  t.equal(httpOnly.code, 0, '--http-only --check passes nginx -t inside a minimal nginx.conf', { stderr: httpOnly.stderr });
  const part = readFileSync(out, 'utf8');
  t.notMatch(part, /^\s*events\s*\{/m, 'no events{} in the http part');
  t.match(part, /^server \{/m, 'the server block is at the top level of the part');

  const js = await run('node', [BIN, 'nginx', 'render', '--config', cfg, '--out', out, '--json', '--check', '--nginx', NGINX, '--runtime-dir', dir]);
  t.equal(js.code, 0);
  const data = JSON.parse(js.stdout) as { outcome: string; warnings: string[]; summary: string[] };
  t.equal(data.outcome, 'installed');
  t.match(data.summary[0], /^435 routes: \d+ python, 0 go, \d+ canary$/);
  t.equal(data.warnings.length, 1);

  writeFileSync(cfg, yaml('ROUTE_OWNER_DEFAULT: go', 'http://no-such-host.invalid:1'));
  const before = readFileSync(out, 'utf8');
  const rejected = await run('node', [BIN, 'nginx', 'render', '--config', cfg, '--out', out, '--check', '--nginx', NGINX, '--runtime-dir', dir]);
  t.equal(rejected.code, 1, 'a configuration nginx -t rejects: exit 1');
  t.match(rejected.stderr, /host not found in upstream "no-such-host\.invalid:1"/, "nginx's own error is shown");
  t.equal(readFileSync(out, 'utf8'), before, 'the file in place is unchanged');
  t.ok(existsSync(`${out}.rejected`), 'the rejected configuration is kept for inspection');

  // --reload-cmd runs even when the file is up to date: a reload that failed is not lost.
  writeFileSync(cfg, yaml('ROUTE_OWNER_DEFAULT: python'));
  const failing = await run('node', [BIN, 'nginx', 'render', '--config', cfg, '--out', out, '--reload-cmd', 'false']);
  t.equal(failing.code, 1, 'a failing reload command: exit 1');
  const marker = join(dir, 'reloaded');
  const retried = await run('node', [BIN, 'nginx', 'render', '--config', cfg, '--out', out, '--reload-cmd', `touch ${marker}`]);
  t.equal(retried.code, 0);
  t.match(retried.stderr, /is up to date/);
  t.ok(existsSync(marker), 'the reload command ran although nothing changed');

  // A symlinked --out is written through.
  const target = join(dir, 'sites-available.conf');
  writeFileSync(target, '# old\n');
  const link = join(dir, 'sites-enabled.conf');
  symlinkSync(target, link);
  t.equal((await run('node', [BIN, 'nginx', 'render', '--config', cfg, '--out', link, '--http-only'])).code, 0);
  t.ok(lstatSync(link).isSymbolicLink(), 'the link stays a link');
  t.match(readFileSync(target, 'utf8'), /^# ═/, 'its target holds the rendering');

  writeFileSync(cfg, 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: purple\n');
  const invalid = await run('node', [BIN, 'nginx', 'render', '--config', cfg]);
  t.equal(invalid.code, 1, 'an invalid config.yaml: exit 1');
  t.match(invalid.stderr, /ROUTE_OWNER_DEFAULT/, 'naming the key');
});

t.test('--watch: edits reach nginx, failures keep the running config', async (t) => {
  const dir = tempDir(t, 'swb-nginx-watch-');
  const cfg = join(dir, 'config.yaml');
  const conf = join(dir, 'nginx.conf');
  const port = await freePort();
  writeFileSync(cfg, yaml('ROUTE_OWNER_DEFAULT: python'));
  const common = ['--config', cfg, '--out', conf, '--runtime-dir', dir, '--listen', `127.0.0.1:${port}`, '--access-log', 'off', '--nginx', NGINX];
  const first = await run('node', [BIN, 'nginx', 'render', ...common, '--check']);
  if (first.code !== 0) throw new Error(`first render failed: ${first.stderr}`);
  const nginx = startChild(t, NGINX, ['-c', conf, '-g', 'daemon off;']);
  await waitForPort(port);
  t.equal(await ownerOf(port, '/api/v1/user/'), 'python', 'nginx runs the first rendering');

  const watcher = startChild(t, 'node', [BIN, 'nginx', 'render', ...common, '--watch', '--reload-cmd', `${NGINX} -c ${conf} -s reload`]);
  await waitForLog(watcher, /"msg":"nginx config unchanged"/, 'the watcher');

  writeFileSync(cfg, yaml('ROUTE_OWNER_DEFAULT: python\nROUTE_OWNER_FAMILY_API_V1: go'));
  t.ok(await waitFor(async () => (await ownerOf(port, '/api/v1/user/')) === 'go', 15_000), 'an edit of config.yaml reaches nginx (re-rendered, tested, reloaded)');
  t.equal(await ownerOf(port, '/v2/acme/app/tags/list'), 'python', 'other families stay');
  t.match(watcher.stderr(), /"msg":"nginx config installed".*"reloaded":true/);
  const good = readFileSync(conf, 'utf8');

  // The kill switch's state file reaches nginx with config.yaml broken.
  writeFileSync(cfg, 'MIGRATION: [broken\n');
  await waitForLog(watcher, /SWB_CONFIG_YAML|YAML/, 'the broken-YAML report');
  const on = await run('node', [BIN, 'set', 'MIGRATION_FORCE_PYTHON', 'true', '--config', cfg, '--reason', 'nginx test', '--actor', 'ci']);
  t.equal(on.code, 0, on.stderr);
  t.ok(await waitFor(async () => (await ownerOf(port, '/api/v1/user/')) === 'python', 15_000), 'the kill file reaches nginx while config.yaml is broken');
  const off = await run('node', [BIN, 'set', 'MIGRATION_FORCE_PYTHON', 'false', '--config', cfg, '--reason', 'nginx test over', '--actor', 'ci']);
  t.equal(off.code, 0, off.stderr);
  t.ok(await waitFor(async () => (await ownerOf(port, '/api/v1/user/')) === 'go', 15_000), 'off: the last good snapshot again');
  t.equal(readFileSync(conf, 'utf8'), good, 'the same rendering as before the kill');

  writeFileSync(cfg, yaml('ROUTE_OWNER_DEFAULT: go', 'http://no-such-host.invalid:1'));
  await waitForLog(watcher, /"msg":"rendered nginx config failed its test; the running config is kept"/, 'the rejection');
  t.match(watcher.stderr(), /host not found in upstream/, 'the log carries the nginx -t error');
  t.equal(readFileSync(conf, 'utf8'), good, 'the running configuration file is untouched');
  t.equal(await ownerOf(port, '/api/v1/user/'), 'go', 'nginx keeps serving the last good configuration');
  t.equal(await ownerOf(port, '/v2/acme/app/tags/list'), 'python');

  const installsBefore = (watcher.stderr().match(/nginx config installed/g) ?? []).length;
  writeFileSync(cfg, 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: purple\n');
  await waitForLog(watcher, /ROUTE_OWNER_DEFAULT/, 'the invalid-config report');
  t.equal((watcher.stderr().match(/nginx config installed/g) ?? []).length, installsBefore, 'an invalid config.yaml renders nothing');
  t.equal(readFileSync(conf, 'utf8'), good);

  writeFileSync(cfg, yaml('ROUTE_OWNER_DEFAULT: python\nMIGRATION_FORCE_PYTHON: true'));
  t.ok(await waitFor(async () => (await ownerOf(port, '/api/v1/user/')) === 'python', 15_000), 'the kill switch reaches nginx');
  t.match(readFileSync(conf, 'utf8'), /MIGRATION_FORCE_PYTHON is on/);

  watcher.child.kill('SIGTERM');
  const exit = await watcher.exited;
  t.equal(exit.code, 0, 'SIGTERM ends the watcher with exit 0');
  t.ok(nginx.running(), 'nginx itself keeps running');
});
