/**
 * The conventions the three commands share, checked on the real binaries
 * (bin/*.js → dist/): --version prints package.json's version; `--help` after
 * any command or subcommand prints that command's help (stdout starts with
 * `Usage:` and names it) and exits 0, for every command the top-level help
 * lists; every usage error prints one line `prog: message [CODE]` first (a code
 * ERRORS.md lists), then at most a blank line and the usage, and exits 2;
 * failures use the same first line and exit 1.
 */
import t from 'tap';
import type { Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSwitchboard } from '../lib/switchboard.js';
import { ROOT, run, tempDir, type RunResult } from '../lib/proc.js';

t.setTimeout(600_000);
await buildSwitchboard();

type Bin = 'switchboard' | 'quay' | 'registryd';
const BINS: readonly Bin[] = ['switchboard', 'quay', 'registryd'];
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const ERRORS_MD = readFileSync(join(ROOT, 'ERRORS.md'), 'utf8');
const STACK = /^\s{4}at /m;

const cwd = tempDir(t, 'swb-cli-conventions-');
/** Our environment without anything the commands read as a switch, a config or a data dir. */
const env = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(MIGRATION_FORCE_PYTHON|ROUTE_OWNER_|ROUTE_CANARY_|WORKER_OWNER_|SWITCHBOARD_|QUAY_|REGISTRYD_)/.test(k)),
);

function cli(bin: Bin, argv: readonly string[]): Promise<RunResult> {
  return run(process.execPath, [join(ROOT, 'bin', `${bin}.js`), ...argv], { cwd, env, timeoutMs: 120_000 });
}

/** Runs many command lines, three at a time; the results in order. */
async function clis(list: readonly (readonly [Bin, readonly string[]])[]): Promise<RunResult[]> {
  const results: RunResult[] = new Array(list.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < list.length; i = next++) results[i] = await cli(list[i]![0], list[i]![1]);
  };
  await Promise.all([worker(), worker(), worker()]);
  return results;
}

/** Every command and subcommand, as typed before --help. */
const COMMANDS: Record<Bin, readonly (readonly string[])[]> = {
  switchboard: [
    ['owners'],
    ['owners', '--explain'],
    ['owners', 'list'],
    ['owners', 'workers'],
    ['owners', 'diff'],
    ['config'],
    ['config', 'validate'],
    ['set'],
    ['serve'],
    ['nginx'],
    ['nginx', 'render'],
    ['dashboard'],
    ['dashboard', 'user'],
    ['gates'],
    ['gates', 'arm'],
    ['contract'],
    ['contract', 'run'],
    ['contract', 'record'],
    ['contract', 'list'],
  ],
  quay: [
    ['serve'],
    ['config'],
    ['config', 'validate'],
    ['config', 'print'],
    ['config', 'generate'],
    ['user'],
    ['user', 'create'],
    ['org'],
    ['org', 'create'],
    ['robot'],
    ['robot', 'create'],
    ['app-token'],
    ['app-token', 'create'],
    ['repo'],
    ['repo', 'create'],
    ['repo', 'grant'],
    ['worker'],
  ],
  registryd: [['serve']],
};

t.test("--version prints package.json's version on every bin", async (t) => {
  for (const bin of BINS) {
    const r = await cli(bin, ['--version']);
    t.equal(r.code, 0, `${bin} --version exits 0`);
    t.equal(r.stdout, `${VERSION}\n`, `${bin} --version prints ${VERSION}`);
    t.equal(r.stderr, '', `${bin} --version: nothing on stderr`);
  }
});

t.test('the walk covers every command the top-level help lists', async (t) => {
  for (const bin of BINS) {
    const help = await cli(bin, ['--help']);
    t.equal(help.code, 0, `${bin} --help exits 0`);
    t.match(help.stdout, new RegExp(`^Usage: ${bin} `), `${bin} --help starts with Usage:`);
    // Command lines: two spaces, then a lower-case word (options start with -, continuations with more spaces).
    const listed = help.stdout
      .split('\n')
      .filter((l) => /^ {2}[a-z]/.test(l))
      .map((l) => l.trim());
    if (bin === 'registryd') t.match(help.stdout, /^Usage: registryd serve /, 'registryd has the one command serve');
    else t.ok(listed.length >= 9, `${bin} --help lists its commands`);
    for (const line of listed) {
      t.ok(
        COMMANDS[bin].some((c) => line === c.join(' ') || line.startsWith(`${c.join(' ')} `)),
        `${bin}: "${line.split(/\s{2,}/)[0]}" is walked`,
      );
    }
  }
});

t.test('--help after every command and subcommand: exit 0, Usage: naming it, on stdout', async (t) => {
  // --help after everything; -h after the last command of each bin's list.
  const walk = BINS.flatMap((bin) => COMMANDS[bin].map((words, i) => [bin, words, i === COMMANDS[bin].length - 1 ? '-h' : '--help'] as const));
  const results = await clis(walk.map(([bin, words, flag]) => [bin, [...words, flag]] as const));
  walk.forEach(([bin, words, flag], i) => {
    const r = results[i]!;
    const label = `${bin} ${words.join(' ')} ${flag}`;
    t.equal(r.code, 0, `${label}: exit 0`);
    t.match(r.stdout, /^Usage: /, `${label}: starts with Usage:`);
    t.ok(r.stdout.split('\n')[0]!.includes(`${bin} ${words.join(' ')}`), `${label}: the first line names "${bin} ${words.join(' ')}"`, { found: r.stdout.split('\n')[0] });
    t.equal(r.stderr, '', `${label}: nothing on stderr`);
  });
  // --help wins over the command's other arguments.
  const withArgs: [Bin, string[], string][] = [
    ['switchboard', ['owners', '--explain', 'GET', '/v2/', '--help'], 'switchboard owners --explain'],
    ['switchboard', ['set', 'ROUTE_OWNER_DEFAULT', 'go', '--help'], 'switchboard set'],
    ['switchboard', ['dashboard', 'user', 'alice', '--help'], 'switchboard dashboard user'],
    ['quay', ['user', 'create', 'alice', '--email', 'a@example.com', '--help'], 'quay user create'],
    ['quay', ['repo', 'grant', 'acme/app', '--help'], 'quay repo grant'],
    ['registryd', ['serve', '--data-dir', 'x', '--help'], 'registryd serve'],
  ];
  const withArgsResults = await clis(withArgs.map(([bin, argv]) => [bin, argv] as const));
  for (const [i, [bin, argv, names]] of withArgs.entries()) {
    const r = withArgsResults[i]!;
    t.equal(r.code, 0, `${bin} ${argv.join(' ')}: exit 0`);
    t.ok(r.stdout.startsWith(`Usage: ${names}`), `${bin} ${argv.join(' ')}: the help of ${names}`);
  }
});

/** Asserts the one error format; returns the code. */
function errorLine(t: Test, bin: Bin, r: RunResult, label: string): string | null {
  const lines = r.stderr.split('\n');
  const m = new RegExp(`^${bin}: \\S.* \\[((?:SWB|REG)_[A-Z_]+)\\]$`).exec(lines[0]!);
  t.ok(m, `${label}: "${bin}: message [CODE]" on the first line`, { found: lines[0] });
  if (m) t.match(ERRORS_MD, `| \`${m[1]}\` |`, `${label}: ${m[1]} is in ERRORS.md`);
  t.notMatch(r.stderr, STACK, `${label}: no stack trace`);
  return m ? m[1]! : null;
}

t.test('usage errors: one error line with the code, then at most a blank line and the usage; exit 2', async (t) => {
  const cases: [Bin, string[]][] = [
    ['switchboard', ['--foo']],
    ['switchboard', ['frobnicate']],
    ['switchboard', ['owners']],
    ['switchboard', ['owners', 'bogus']],
    ['switchboard', ['owners', 'list', '--foo']],
    ['switchboard', ['owners', '--explain']],
    ['switchboard', ['owners', 'diff', 'a.yaml']],
    ['switchboard', ['config']],
    ['switchboard', ['config', 'check']],
    ['switchboard', ['config', 'validate', 'a', 'b']],
    ['switchboard', ['set']],
    ['switchboard', ['serve', '--foo']],
    ['switchboard', ['nginx']],
    ['switchboard', ['nginx', 'bogus']],
    ['switchboard', ['nginx', 'render', '--foo']],
    ['switchboard', ['nginx', 'render', '--check']],
    ['switchboard', ['dashboard']],
    ['switchboard', ['dashboard', 'bogus']],
    ['switchboard', ['dashboard', 'user', 'alice']],
    ['quay', ['--foo']],
    ['quay', ['frobnicate']],
    ['quay', ['serve', 'extra']],
    ['quay', ['serve', '--tls', 'bogus']],
    ['quay', ['serve', '--mode', 'cluster']],
    ['quay', ['config']],
    ['quay', ['config', 'lint']],
    ['quay', ['config', 'print', '--json=yes']],
    ['quay', ['user', 'delete', 'alice']],
    ['quay', ['user', 'create', '--email', 'a@example.com']],
    ['quay', ['org', 'create']],
    ['quay', ['repo']],
    ['quay', ['app-token', 'create', '--title']],
    ['registryd', ['--foo']],
    ['registryd', ['bogus']],
    ['registryd', ['serve']],
    ['registryd', ['serve', 'extra', '--data-dir', 'd']],
    ['registryd', ['serve', '--data-dir', 'd', '--listen', 'nowhere']],
    ['registryd', ['serve', '--data-dir', 'd', '--stale-upload-hours', '0']],
  ];
  const results = await clis(cases);
  for (const [i, [bin, argv]] of cases.entries()) {
    const label = `${bin} ${argv.join(' ')}`;
    const r = results[i]!;
    t.equal(r.code, 2, `${label}: exit 2`);
    t.equal(r.stdout, '', `${label}: nothing on stdout`);
    t.equal(errorLine(t, bin, r, label), bin === 'switchboard' ? 'SWB_CLI_USAGE' : 'REG_CLI_USAGE', `${label}: the usage code`);
    const rest = r.stderr.split('\n').slice(1, -1);
    if (rest.length) {
      t.equal(rest[0], '', `${label}: a blank line after the error`);
      t.match(rest[1], /^(Usage: |Commands: )/, `${label}: then the usage`);
    }
  }
  // No command at all: the same error line on stderr; the usage on stdout, as for --help.
  for (const bin of BINS) {
    const r = await cli(bin, []);
    t.equal(r.code, 2, `${bin}: exit 2`);
    t.equal(errorLine(t, bin, r, `${bin} (no command)`), bin === 'switchboard' ? 'SWB_CLI_USAGE' : 'REG_CLI_USAGE');
    t.equal(r.stderr.split('\n').length, 2, `${bin} (no command): one line on stderr`);
    t.match(r.stdout, new RegExp(`^Usage: ${bin} `), `${bin} (no command): the usage on stdout`);
  }
});

t.test('failures use the same first line, with their own code; exit 1', async (t) => {
  const exists = join(cwd, 'exists.yaml');
  writeFileSync(exists, 'SERVER_HOSTNAME: localhost\n');
  const bad = join(cwd, 'bad.yaml');
  writeFileSync(bad, 'SERVER_HOSTNAME: localhost\nFEATURE_ANONYMOUS_ACCESS: maybe\nMIGRATION:\n  ROUTE_OWNER_DEFAULT: Go\n');
  const cases: [Bin, string[], string][] = [
    ['switchboard', ['owners', 'list', '--config', join(cwd, 'missing.yaml')], 'SWB_CONFIG_UNREADABLE'],
    ['switchboard', ['set', 'ROUTE_OWNER_BOGUS', 'go', '--config', exists], 'SWB_CONFIG_UNKNOWN_KEY'],
    ['quay', ['config', 'generate', '--output', exists], 'REG_FILE_EXISTS'],
    ['quay', ['config', 'print', '--config', bad], 'REG_CONFIG_INVALID'],
  ];
  for (const [bin, argv, code] of cases) {
    const label = `${bin} ${argv.join(' ')}`;
    const r = await cli(bin, argv);
    t.equal(r.code, 1, `${label}: exit 1`);
    t.equal(errorLine(t, bin, r, label), code, `${label}: ${code}`);
  }
});
