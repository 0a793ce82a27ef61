/**
 * The real `switchboard` binary (bin/switchboard.js → dist/), run as a child
 * process: exit codes, and never a stack trace for bad input.
 */
import t from 'tap';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = 'bin/switchboard.js';
const STACK = /^\s{4}at /m;

const CONFIG = `SERVER_HOSTNAME: registry.example.com
MIGRATION:
  ROUTE_OWNER_DEFAULT: python
  ROUTE_OWNER_CAP_V2_PULL: canary
  ROUTE_CANARY_ORGS: [test-org]
  ROUTE_OWNER_CAP_V2_TAGS: go
SWITCHBOARD:
  LISTEN: "0.0.0.0:8443"
`;

/** The child's environment: ours minus anything the CLI would read as a switch or a config location. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(MIGRATION_FORCE_PYTHON|ROUTE_OWNER_|ROUTE_CANARY_|WORKER_OWNER_|SWITCHBOARD_)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function swb(args: string[], extraEnv: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(extraEnv), encoding: 'utf8', timeout: 30_000 });
}

interface Asserts {
  notMatch(found: unknown, pattern: RegExp, message: string): boolean;
  equal(found: unknown, wanted: unknown, message: string): boolean;
}

function clean(t: Asserts, r: SpawnSyncReturns<string>, what: string): void {
  t.equal(r.signal, null, `${what}: not killed by a signal`);
  t.notMatch(r.stdout, STACK, `${what}: no stack trace on stdout`);
  t.notMatch(r.stderr, STACK, `${what}: no stack trace on stderr`);
}

const dir = mkdtempSync(join(tmpdir(), 'swb-cli-proc-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const configFile = join(dir, 'config.yaml');
writeFileSync(configFile, CONFIG);

t.before(() => {
  const b = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  if (b.error || b.status !== 0) {
    throw new Error(
      `npm run build failed (status ${String(b.status)}${b.error ? `, ${b.error.message}` : ''}); the CLI process tests need dist/:\n${b.stdout ?? ''}\n${b.stderr ?? ''}`,
    );
  }
});

t.test('unknown command: exit 2, usage on stderr, no stack trace', async (t) => {
  const r = swb(['frobnicate']);
  t.equal(r.status, 2);
  t.match(r.stderr, /^switchboard: unknown command "frobnicate"/);
  t.match(r.stderr, /Usage: switchboard/);
  t.equal(r.stdout, '');
  clean(t, r, 'unknown command');
});

t.test('owners --explain with no path: exit 2', async (t) => {
  const r = swb(['owners', '--explain', '--config', configFile]);
  t.equal(r.status, 2);
  t.match(r.stderr, /^switchboard: give one request: \[METHOD\] PATH/);
  t.match(r.stderr.split('\n')[0], /\[SWB_CLI_USAGE\]$/, 'the code is on the first line');
  clean(t, r, 'explain without path');
  const bad = swb(['owners', '--explain', 'not-a-path', '--config', configFile]);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /^switchboard: "not-a-path" is not a request path.*\[SWB_EXPLAIN_BAD_PATH\]\n$/);
  clean(t, bad, 'explain bad path');
});

t.test('unreadable config: exit 1 with SWB_CONFIG_UNREADABLE', async (t) => {
  const missing = join(dir, 'missing.yaml');
  const r = swb(['owners', '--explain', '/v2/', '--config', missing]);
  t.equal(r.status, 1);
  t.equal(r.stderr, `switchboard: cannot read ${missing}: no such file (use --config FILE or SWITCHBOARD_CONFIG) [SWB_CONFIG_UNREADABLE]\n`);
  t.equal(r.stdout, '');
  clean(t, r, 'missing config');
  const viaEnv = swb(['owners', 'list'], { SWITCHBOARD_CONFIG: missing });
  t.equal(viaEnv.status, 1, '$SWITCHBOARD_CONFIG pointing nowhere');
  t.match(viaEnv.stderr, /\[SWB_CONFIG_UNREADABLE\]/);
  clean(t, viaEnv, 'missing config via env');
  const v = swb(['config', 'validate', dir]);
  t.equal(v.status, 1, 'a directory is unreadable as a config');
  t.match(v.stderr, /\[SWB_CONFIG_UNREADABLE\]/);
  clean(t, v, 'directory as config');
});

t.test('invalid config: exit 1, every problem with file:line', async (t) => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: Go\n  ROUTE_CANARY_PERCENT: 101\n');
  const r = swb(['owners', '--explain', '/v2/', '--config', bad]);
  t.equal(r.status, 1);
  t.match(r.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: .*\\[SWB_CONFIG_BAD_OWNER\\]`));
  t.match(r.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: .*\\[SWB_CONFIG_BAD_PERCENT\\]`));
  clean(t, r, 'invalid config');
  const yamlErr = join(dir, 'broken.yaml');
  writeFileSync(yamlErr, 'MIGRATION: [\n');
  const y = swb(['config', 'validate', yamlErr]);
  t.equal(y.status, 1);
  t.match(y.stderr, /\[SWB_CONFIG_YAML\]/);
  clean(t, y, 'broken YAML');
});

t.test('valid explain: exit 0, text and --json', async (t) => {
  const r = swb(['owners', '--explain', 'HEAD', '/v2/test-org/web/manifests/latest', '--config', configFile]);
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  t.match(r.stdout, /^\s+route\s+ROUTE_0016\s/m);
  t.match(r.stdout, /^\s+owner\s+go$/m);
  t.match(r.stdout, /^\s+reason\s+canary_org$/m);
  clean(t, r, 'valid explain');
  const j = swb(['owners', '--explain', '/v2/a/b/tags/list', '--json'], { SWITCHBOARD_CONFIG: configFile });
  t.equal(j.status, 0);
  const parsed = JSON.parse(j.stdout) as { decision: { owner: string; route_id: string; reason: string } };
  t.match(parsed.decision, { owner: 'go', route_id: 'ROUTE_0019', reason: 'capability_switch' });
  const killed = swb(['owners', '--explain', '/v2/a/b/tags/list', '--json', '--config', configFile], { MIGRATION_FORCE_PYTHON: 'true' });
  t.equal(killed.status, 0);
  t.match(JSON.parse(killed.stdout), { decision: { owner: 'python', reason: 'force_python' } }, 'kill switch from the process environment');
});

t.test('--version and --help', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const v = swb(['--version']);
  t.equal(v.status, 0);
  t.equal(v.stdout, `${pkg.version}\n`, "--version prints package.json's version");
  t.equal(v.stderr, '');
  const h = swb(['--help']);
  t.equal(h.status, 0);
  t.match(h.stdout, /^Usage: switchboard <command>/);
  const none = swb([]);
  t.equal(none.status, 2, 'no command: usage, exit 2');
  t.match(none.stdout, /^Usage: switchboard/);
});

t.test('diff --exit-code and set through the binary', async (t) => {
  const next = join(dir, 'next.yaml');
  writeFileSync(next, CONFIG.replace('  ROUTE_OWNER_CAP_V2_TAGS: go\n', '  ROUTE_OWNER_CAP_V2_TAGS: go\n  ROUTE_OWNER_CAP_V2_PUSH: go\n'));
  const d = swb(['owners', 'diff', configFile, next, '--exit-code']);
  t.equal(d.status, 1);
  t.match(d.stdout, /2 routes change owner \(V2_PUSH 2\)/);
  t.equal(swb(['owners', 'diff', configFile, configFile, '--exit-code']).status, 0);
  const edit = join(dir, 'edit.yaml');
  writeFileSync(edit, CONFIG);
  const bad = swb(['set', 'ROUTE_CANARY_PERCENT', '101', '--config', edit]);
  t.equal(bad.status, 1);
  clean(t, bad, 'set invalid value');
  t.equal(readFileSync(edit, 'utf8'), CONFIG, 'file untouched');
  const ok = swb(['set', 'ROUTE_OWNER_CAP_V2_TAGS', 'python', '--config', edit, '--actor', 'ci']);
  t.equal(ok.status, 0);
  t.equal(readFileSync(edit, 'utf8'), CONFIG.replace('ROUTE_OWNER_CAP_V2_TAGS: go', 'ROUTE_OWNER_CAP_V2_TAGS: python'));
});

t.test('output piped into a reader that has already gone (| head -1, | true)', async (t) => {
  // `switchboard owners list --routes --json | head -1` is ordinary operator use. The
  // read end is closed before the child writes, so the child's write surely fails
  // (closing after the first chunk races the child finishing its writes).
  const child = spawn(process.execPath, [BIN, 'owners', 'list', '--routes', '--json', '--config', configFile], { cwd: ROOT, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderr += s;
  });
  child.stdout.destroy();
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  t.equal(signal, null);
  t.notMatch(stderr, STACK, 'no stack trace when stdout is closed');
  t.equal(stderr, '', 'nothing at all on stderr: it exits quietly');
  t.equal(code, 0, 'exit 0 when the reader stops reading');
});

t.test('a real `| head -c 1` pipeline: the reader goes away mid-output', async (t) => {
  // 435 routes as JSON are far more than a pipe buffer, so the writer meets a closed pipe.
  const script = `set -o pipefail; "${process.execPath}" ${BIN} owners list --routes --json --config "${configFile}" 2>"${join(dir, 'pipe.err')}" | head -c 1 >/dev/null`;
  const r = spawnSync('bash', ['-c', script], { cwd: ROOT, env: childEnv(), encoding: 'utf8', timeout: 30_000 });
  t.equal(r.status, 0, 'the pipeline (with pipefail) exits 0: the switchboard itself exited 0');
  const err = readFileSync(join(dir, 'pipe.err'), 'utf8');
  t.equal(err, '', 'nothing on stderr');
  t.notMatch(err, /EPIPE/);
});

t.test('error lines from the binary: "switchboard: … [SWB_…]" first, usage after a blank line', async (t) => {
  const usage = swb(['owners', 'diff', configFile]);
  t.equal(usage.status, 2);
  const lines = usage.stderr.split('\n');
  t.match(lines[0], /^switchboard: give two config files \[SWB_CLI_USAGE\]$/, 'message and code on the first line');
  t.equal(lines[1], '', 'a blank line');
  t.match(lines[2], /^Usage: switchboard owners diff/, 'then the usage');
  clean(t, usage, 'diff usage');
  const set = swb(['set', 'ROUTE_OWNER_BOGUS', 'go', '--config', configFile]);
  t.equal(set.status, 1);
  t.match(set.stderr, /^switchboard: ROUTE_OWNER_BOGUS: .*\[SWB_CONFIG_UNKNOWN_KEY\]\n$/, 'one line');
  clean(t, set, 'set unknown key');
});

t.test('config --help exits 0 with the validate usage; config alone exits 2', async (t) => {
  const h = swb(['config', '--help']);
  t.equal(h.status, 0);
  t.match(h.stdout, /^Usage: switchboard config validate \[FILE\]/);
  t.equal(h.stderr, '');
  const none = swb(['config']);
  t.equal(none.status, 2);
  t.equal(none.stdout, '');
  t.match(none.stderr.split('\n')[0], /\[SWB_CLI_USAGE\]$/);
  t.match(none.stderr, /\n\nUsage: switchboard config validate/);
  clean(t, none, 'config alone');
});

t.test('relative paths resolve against the working directory of the process', async (t) => {
  const r = spawnSync(process.execPath, [join(ROOT, BIN), 'config', 'validate', 'config.yaml', '--json'], { cwd: dir, env: childEnv(), encoding: 'utf8', timeout: 30_000 });
  t.equal(r.status, 0);
  t.equal((JSON.parse(r.stdout) as { file: string }).file, configFile);
  const def = spawnSync(process.execPath, [join(ROOT, BIN), 'owners', '--explain', '/v2/a/b/tags/list', '--json'], {
    cwd: dir,
    env: childEnv(),
    encoding: 'utf8',
    timeout: 30_000,
  });
  t.equal(def.status, 0, 'the default ./config.yaml');
  t.equal((JSON.parse(def.stdout) as { snapshot: { file: string } }).snapshot.file, configFile);
});
