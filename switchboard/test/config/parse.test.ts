// parseConfig (switchboard/config/parse.ts): Quay's config.yaml + environment
// → a validated switch configuration, or EVERY problem with its stable code,
// its key and its file line (DESIGN §4). Expected lines are found by looking
// for the offending text in the YAML, never hard-coded.

import t from 'tap';
import type { Test as Tap } from 'tap';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { loadInventory } from '../../../owner-maps/index.js';
import { envOnlyConfig, formatIssue, parseConfig, type ConfigIssue, type ConfigResult, type Env, type SwitchConfig } from '../../config/parse.js';
import { ERROR_CODES } from '../../errors.js';
import { buildSnapshot } from '../../core/snapshot.js';

const inv = loadInventory();
const FILE = '/etc/quay/config.yaml';

/** 1-based line of the first line of `text` containing `needle` (the needle must be unique). */
function lineOf(text: string, needle: string): number {
  const lines = text.split('\n');
  const hits = lines.flatMap((l, i) => (l.includes(needle) ? [i + 1] : []));
  if (hits.length !== 1) throw new Error(`"${needle}" found on ${hits.length} lines of the test YAML`);
  return hits[0]!;
}

function issues(r: ConfigResult): readonly ConfigIssue[] {
  return r.ok ? [] : r.issues;
}

function ok(t: Tap, r: ConfigResult, what: string): SwitchConfig {
  if (!r.ok) {
    t.fail(`${what}: rejected: ${r.issues.map(formatIssue).join(' | ')}`);
    throw new Error('config rejected');
  }
  t.pass(`${what}: accepted`);
  return r.config;
}

/** Parses `text` and expects exactly one issue: code, key and (for file issues) line. */
function expectOne(t: Tap, text: string, want: { code: string; key: string; line?: number }, env: Env = {}, msg?: string): ConfigIssue | undefined {
  const r = parseConfig(text, FILE, inv, env);
  const all = issues(r);
  t.same(
    all.map((i) => ({ code: i.code, key: i.key, line: i.line })),
    [{ code: want.code, key: want.key, line: want.line }],
    msg ?? `${want.code} for ${want.key}${want.line ? ` at line ${want.line}` : ''}`,
  );
  return all[0];
}

// ---------------------------------------------------------------------------
// Every error class, with its line, in a multi-line file
// ---------------------------------------------------------------------------

const BAD = `# Quay config with one of every switch mistake
SERVER_HOSTNAME: registry.example.com
FEATURE_LIBRARY_SUPPORT: true

MIGRATION:
  ROUTE_OWNER_DEFAULT: python            # fine
  ROUTE_OWNER_DEFALT: go
  ROUTE_OWNER_ROUTE_0436: go
  ROUTE_OWNER_CAP_V2_PUL: go
  ROUTE_OWNER_FAMILY_REGISTRY_V3: go
  WORKER_OWNER_GCWORKR: go
  ROUTE_OWNER_CAP_V2_PUSH: Go
  ROUTE_OWNER_CAP_V2_TAGS: yes
  ROUTE_CANARY_PERCENT: 101
  ROUTE_CANARY_CAP_V2_PULL_PERCENT: -1
  ROUTE_CANARY_CAP_V2_PUSH_PERCENT: 12.345
  ROUTE_CANARY_ORGS: [1, 2]
  ROUTE_CANARY_USERS: alice
  ROUTE_CANARY_REPOS:
  ROUTE_CANARY_ROUTE_9999_USERS: [bob]
  ROUTE_CANARY_CAP_NOPE_PERCENT: 5
  ROUTE_CANARY_FAMILY_NOPE_ORGS: [a]
  WORKER_OWNER_GCWORKER: canary
  ROUTE_OWNER_CAP_V2_PULL: go            # fine

SWITCHBOARD:
  UPSTREAMS:
    python: "ftp://quay-registry:8080"
    go: "http://127.0.0.1:8081"
  LISTENN: "0.0.0.0:8080"
  POLL_INTERVAL_SECONDS: 30
`;

const BAD_EXPECTED: { code: string; key: string; needle: string }[] = [
  { code: 'SWB_CONFIG_UNKNOWN_KEY', key: 'MIGRATION.ROUTE_OWNER_DEFALT', needle: 'ROUTE_OWNER_DEFALT' },
  { code: 'SWB_CONFIG_UNKNOWN_ROUTE', key: 'MIGRATION.ROUTE_OWNER_ROUTE_0436', needle: 'ROUTE_OWNER_ROUTE_0436' },
  { code: 'SWB_CONFIG_UNKNOWN_CAPABILITY', key: 'MIGRATION.ROUTE_OWNER_CAP_V2_PUL', needle: 'ROUTE_OWNER_CAP_V2_PUL:' },
  { code: 'SWB_CONFIG_UNKNOWN_FAMILY', key: 'MIGRATION.ROUTE_OWNER_FAMILY_REGISTRY_V3', needle: 'REGISTRY_V3' },
  { code: 'SWB_CONFIG_UNKNOWN_WORKER', key: 'MIGRATION.WORKER_OWNER_GCWORKR', needle: 'GCWORKR' },
  { code: 'SWB_CONFIG_BAD_OWNER', key: 'MIGRATION.ROUTE_OWNER_CAP_V2_PUSH', needle: 'ROUTE_OWNER_CAP_V2_PUSH:' },
  { code: 'SWB_CONFIG_BAD_OWNER', key: 'MIGRATION.ROUTE_OWNER_CAP_V2_TAGS', needle: 'V2_TAGS' },
  { code: 'SWB_CONFIG_BAD_PERCENT', key: 'MIGRATION.ROUTE_CANARY_PERCENT', needle: 'ROUTE_CANARY_PERCENT:' },
  { code: 'SWB_CONFIG_BAD_PERCENT', key: 'MIGRATION.ROUTE_CANARY_CAP_V2_PULL_PERCENT', needle: 'V2_PULL_PERCENT' },
  { code: 'SWB_CONFIG_BAD_PERCENT', key: 'MIGRATION.ROUTE_CANARY_CAP_V2_PUSH_PERCENT', needle: 'V2_PUSH_PERCENT' },
  { code: 'SWB_CONFIG_BAD_VALUE', key: 'MIGRATION.ROUTE_CANARY_ORGS', needle: 'ROUTE_CANARY_ORGS:' },
  { code: 'SWB_CONFIG_BAD_VALUE', key: 'MIGRATION.ROUTE_CANARY_USERS', needle: 'ROUTE_CANARY_USERS:' },
  { code: 'SWB_CONFIG_UNKNOWN_ROUTE', key: 'MIGRATION.ROUTE_CANARY_ROUTE_9999_USERS', needle: 'ROUTE_9999' },
  { code: 'SWB_CONFIG_UNKNOWN_CAPABILITY', key: 'MIGRATION.ROUTE_CANARY_CAP_NOPE_PERCENT', needle: 'CAP_NOPE' },
  { code: 'SWB_CONFIG_UNKNOWN_FAMILY', key: 'MIGRATION.ROUTE_CANARY_FAMILY_NOPE_ORGS', needle: 'FAMILY_NOPE' },
  { code: 'SWB_CONFIG_BAD_OWNER', key: 'MIGRATION.WORKER_OWNER_GCWORKER', needle: 'WORKER_OWNER_GCWORKER:' },
  { code: 'SWB_CONFIG_BAD_VALUE', key: 'SWITCHBOARD.UPSTREAMS.python', needle: 'ftp://' },
  { code: 'SWB_CONFIG_UNKNOWN_KEY', key: 'SWITCHBOARD.LISTENN', needle: 'LISTENN' },
  { code: 'SWB_CONFIG_BAD_VALUE', key: 'SWITCHBOARD.POLL_INTERVAL_SECONDS', needle: 'POLL_INTERVAL_SECONDS' },
];

t.test('every problem in a file is reported at once, with code, key and line', async (t) => {
  const r = parseConfig(BAD, FILE, inv);
  t.equal(r.ok, false, 'rejected');
  const got = issues(r).map((i) => ({ code: i.code, key: i.key, line: i.line, file: i.file }));
  const want = BAD_EXPECTED.map((e) => ({ code: e.code, key: e.key, line: lineOf(BAD, e.needle), file: FILE }));
  const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
  t.same([...got].sort(byKey), [...want].sort(byKey), `all ${want.length} issues, not only the first`);
  for (const i of issues(r)) {
    t.ok(i.code in ERROR_CODES, `${i.code} is a documented code`);
    const bare = i.key.replace(/^(MIGRATION|SWITCHBOARD)\./, '').split('.')[0]!;
    t.ok(i.message.includes(bare), `the message for ${i.key} names the key`);
  }
  t.notOk(
    issues(r).some((i) => i.key === 'MIGRATION.ROUTE_OWNER_DEFAULT' || i.key === 'MIGRATION.ROUTE_OWNER_CAP_V2_PULL'),
    'good keys next to bad ones are not reported',
  );
  t.notOk(
    issues(r).some((i) => i.key === 'MIGRATION.ROUTE_CANARY_REPOS'),
    '`KEY:` with no value is not an error',
  );
});

t.test('formatIssue prints file:line: message [CODE]', async (t) => {
  const one = expectOne(t, 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: maybe\n', { code: 'SWB_CONFIG_BAD_OWNER', key: 'MIGRATION.ROUTE_OWNER_DEFAULT', line: 2 });
  t.match(one && formatIssue(one), /^\/etc\/quay\/config\.yaml:2: .*ROUTE_OWNER_DEFAULT.* \[SWB_CONFIG_BAD_OWNER\]$/);
  const env = issues(parseConfig('', FILE, inv, { ROUTE_OWNER_DEFAULT: 'maybe' }))[0];
  t.match(env && formatIssue(env), /^environment ROUTE_OWNER_DEFAULT: .* \[SWB_CONFIG_BAD_OWNER\]$/, 'env issues have no file:line');
});

// ---------------------------------------------------------------------------
// One class at a time
// ---------------------------------------------------------------------------

t.test('unknown keys, with a suggestion when one is close', async (t) => {
  const typo = expectOne(t, 'A: 1\nMIGRATION:\n  MIGRATION_FORCE_PYTON: true\n', { code: 'SWB_CONFIG_UNKNOWN_KEY', key: 'MIGRATION.MIGRATION_FORCE_PYTON', line: 3 });
  const far = expectOne(t, 'A: 1\nMIGRATION:\n  SOMETHING_ELSE_ENTIRELY: true\n', { code: 'SWB_CONFIG_UNKNOWN_KEY', key: 'MIGRATION.SOMETHING_ELSE_ENTIRELY', line: 3 });
  const count = (s: string | undefined, tok: string) => (s ?? '').split(tok).length - 1;
  t.ok(count(typo?.message, 'MIGRATION_FORCE_PYTHON') > count(far?.message, 'MIGRATION_FORCE_PYTHON'), "the typo's message suggests MIGRATION_FORCE_PYTHON");
  const typo2 = expectOne(t, 'MIGRATION:\n  ROUTE_OWNER_DEFALT: go\n', { code: 'SWB_CONFIG_UNKNOWN_KEY', key: 'MIGRATION.ROUTE_OWNER_DEFALT', line: 2 });
  t.ok(count(typo2?.message, 'ROUTE_OWNER_DEFAULT') > count(far?.message, 'ROUTE_OWNER_DEFAULT'), 'suggests ROUTE_OWNER_DEFAULT');
  const cap = expectOne(t, 'MIGRATION:\n  ROUTE_OWNER_CAP_V2_PUL: go\n', { code: 'SWB_CONFIG_UNKNOWN_CAPABILITY', key: 'MIGRATION.ROUTE_OWNER_CAP_V2_PUL', line: 2 });
  t.match(cap?.message, /\bV2_PULL\b/, 'suggests the capability V2_PULL');
  const worker = expectOne(t, 'MIGRATION:\n  WORKER_OWNER_GCWORKR: go\n', { code: 'SWB_CONFIG_UNKNOWN_WORKER', key: 'MIGRATION.WORKER_OWNER_GCWORKR', line: 2 });
  t.match(worker?.message, /\bWORKER_OWNER_GCWORKER\b/, 'suggests WORKER_OWNER_GCWORKER');
  expectOne(t, 'MIGRATION:\n  route_owner_default: go\n', { code: 'SWB_CONFIG_UNKNOWN_KEY', key: 'MIGRATION.route_owner_default', line: 2 }, {}, 'keys are upper-case');
  expectOne(t, 'MIGRATION:\n  ROUTE_CANARY_CAP_V2_PULL_PERCENTAGE: 5\n', { code: 'SWB_CONFIG_UNKNOWN_KEY', key: 'MIGRATION.ROUTE_CANARY_CAP_V2_PULL_PERCENTAGE', line: 2 });
  expectOne(t, 'MIGRATION:\n  ROUTE_CANARY_ROUTE_0016_BOGUS: 5\n', { code: 'SWB_CONFIG_UNKNOWN_KEY', key: 'MIGRATION.ROUTE_CANARY_ROUTE_0016_BOGUS', line: 2 });
});

t.test('unknown route ids', async (t) => {
  expectOne(t, 'MIGRATION:\n  ROUTE_OWNER_ROUTE_0000: go\n', { code: 'SWB_CONFIG_UNKNOWN_ROUTE', key: 'MIGRATION.ROUTE_OWNER_ROUTE_0000', line: 2 });
  expectOne(t, 'MIGRATION:\n  ROUTE_OWNER_ROUTE_16: go\n', { code: 'SWB_CONFIG_UNKNOWN_ROUTE', key: 'MIGRATION.ROUTE_OWNER_ROUTE_16', line: 2 }, {}, 'ids have four digits');
  expectOne(t, '\n\nMIGRATION:\n  ROUTE_CANARY_ROUTE_0436_PERCENT: 5\n', { code: 'SWB_CONFIG_UNKNOWN_ROUTE', key: 'MIGRATION.ROUTE_CANARY_ROUTE_0436_PERCENT', line: 4 });
  const first = ok(t, parseConfig('MIGRATION:\n  ROUTE_OWNER_ROUTE_0001: go\n  ROUTE_OWNER_ROUTE_0435: go\n', FILE, inv), 'first and last ids');
  t.same([...first.switches.keys()], ['ROUTE_OWNER_ROUTE_0001', 'ROUTE_OWNER_ROUTE_0435']);
});

t.test('unknown capabilities and families', async (t) => {
  expectOne(t, 'MIGRATION:\n  ROUTE_OWNER_CAP_v2_pull: go\n', { code: 'SWB_CONFIG_UNKNOWN_CAPABILITY', key: 'MIGRATION.ROUTE_OWNER_CAP_v2_pull', line: 2 });
  expectOne(t, 'MIGRATION:\n  ROUTE_CANARY_CAP_V2_PULLS_ORGS: [a]\n', { code: 'SWB_CONFIG_UNKNOWN_CAPABILITY', key: 'MIGRATION.ROUTE_CANARY_CAP_V2_PULLS_ORGS', line: 2 });
  expectOne(t, 'MIGRATION:\n  ROUTE_OWNER_FAMILY_REGISTRY: go\n', { code: 'SWB_CONFIG_UNKNOWN_FAMILY', key: 'MIGRATION.ROUTE_OWNER_FAMILY_REGISTRY', line: 2 });
  expectOne(t, 'MIGRATION:\n  ROUTE_CANARY_FAMILY_V2_PERCENT: 1\n', { code: 'SWB_CONFIG_UNKNOWN_FAMILY', key: 'MIGRATION.ROUTE_CANARY_FAMILY_V2_PERCENT', line: 2 });
  const all = ok(
    t,
    parseConfig(
      'MIGRATION:\n' + inv.families.map((f) => `  ROUTE_OWNER_FAMILY_${f}: python\n`).join('') + inv.capabilities.map((c) => `  ROUTE_OWNER_CAP_${c}: go\n`).join(''),
      FILE,
      inv,
    ),
    'every family and capability of the inventory is a valid switch',
  );
  t.equal(all.switches.size, inv.families.length + inv.capabilities.length);
});

t.test('owner values', async (t) => {
  for (const [value, label] of [
    ['Go', 'capitalised'],
    ['yes', 'YAML 1.1 boolean word'],
    ['true', 'boolean'],
    ['1', 'number'],
    ['""', 'empty string'],
    ['[go]', 'list'],
    ['PYTHON', 'upper-case'],
  ] as const) {
    expectOne(t, `A: 1\nMIGRATION:\n  ROUTE_OWNER_DEFAULT: ${value}\n`, { code: 'SWB_CONFIG_BAD_OWNER', key: 'MIGRATION.ROUTE_OWNER_DEFAULT', line: 3 }, {}, `${value} (${label})`);
  }
  expectOne(t, 'MIGRATION:\n  WORKER_OWNER_GCWORKER: canary\n', { code: 'SWB_CONFIG_BAD_OWNER', key: 'MIGRATION.WORKER_OWNER_GCWORKER', line: 2 }, {}, 'workers are python or go');
  const good = ok(
    t,
    parseConfig('MIGRATION:\n  ROUTE_OWNER_DEFAULT: canary\n  ROUTE_OWNER_CAP_V2_PULL: "go"\n  ROUTE_OWNER_FAMILY_WEB: python\n  WORKER_OWNER_GCWORKER: go\n', FILE, inv),
    'python, go, canary',
  );
  t.same(Object.fromEntries([...good.switches].map(([k, s]) => [k, s.value])), {
    ROUTE_OWNER_DEFAULT: 'canary',
    ROUTE_OWNER_CAP_V2_PULL: 'go',
    ROUTE_OWNER_FAMILY_WEB: 'python',
    WORKER_OWNER_GCWORKER: 'go',
  });
});

t.test('kill switch values', async (t) => {
  const on = ok(t, parseConfig('MIGRATION:\n  MIGRATION_FORCE_PYTHON: true\n', FILE, inv), 'true');
  t.equal(on.switches.get('MIGRATION_FORCE_PYTHON')?.value, true);
  t.equal(ok(t, parseConfig('MIGRATION:\n  MIGRATION_FORCE_PYTHON: false\n', FILE, inv), 'false').switches.get('MIGRATION_FORCE_PYTHON')?.value, false);
  // Quay reads config.yaml with PyYAML (YAML 1.1): yes/on/no/off are booleans there, so here too.
  for (const [value, want] of [
    ['yes', true],
    ['Yes', true],
    ['YES', true],
    ['on', true],
    ['On', true],
    ['ON', true],
    ['True', true],
    ['TRUE', true],
    ['no', false],
    ['No', false],
    ['NO', false],
    ['off', false],
    ['Off', false],
    ['OFF', false],
    ['False', false],
  ] as const) {
    const c = ok(t, parseConfig(`A: 1\nMIGRATION:\n  MIGRATION_FORCE_PYTHON: ${value}\n`, FILE, inv), `YAML 1.1 ${value}`);
    t.same(
      [c.switches.get('MIGRATION_FORCE_PYTHON')?.value, c.switches.get('MIGRATION_FORCE_PYTHON')?.origin],
      [want, { source: 'file', file: FILE, line: 3 }],
      `MIGRATION_FORCE_PYTHON: ${value} is ${want}`,
    );
  }
  // Not silently false: a value that is not a YAML 1.1 boolean rejects the file.
  expectOne(t, 'MIGRATION:\n  MIGRATION_FORCE_PYTHON: "true"\n', { code: 'SWB_CONFIG_BAD_VALUE', key: 'MIGRATION.MIGRATION_FORCE_PYTHON', line: 2 });
  expectOne(
    t,
    'MIGRATION:\n  MIGRATION_FORCE_PYTHON: "yes"\n',
    { code: 'SWB_CONFIG_BAD_VALUE', key: 'MIGRATION.MIGRATION_FORCE_PYTHON', line: 2 },
    {},
    'a quoted "yes" is a string',
  );
  expectOne(t, 'MIGRATION:\n  MIGRATION_FORCE_PYTHON: 1\n', { code: 'SWB_CONFIG_BAD_VALUE', key: 'MIGRATION.MIGRATION_FORCE_PYTHON', line: 2 });
  expectOne(t, 'MIGRATION:\n  MIGRATION_FORCE_PYTHON: enabled\n', { code: 'SWB_CONFIG_BAD_VALUE', key: 'MIGRATION.MIGRATION_FORCE_PYTHON', line: 2 });
});

t.test('YAML 1.1 in the SWITCHBOARD section too', async (t) => {
  const cfg = ok(t, parseConfig('SWITCHBOARD:\n  DEBUG_HEADERS: yes\n  PIN_UPLOADS: off\n', FILE, inv), 'yes / off');
  t.same([cfg.settings.DEBUG_HEADERS, cfg.settings.PIN_UPLOADS], [true, false]);
  expectOne(t, 'SWITCHBOARD:\n  DEBUG_HEADERS: "on"\n', { code: 'SWB_CONFIG_BAD_VALUE', key: 'SWITCHBOARD.DEBUG_HEADERS', line: 2 }, {}, 'a quoted "on" is a string');
});

t.test('percents', async (t) => {
  for (const [value, label] of [
    ['101', 'above 100'],
    ['-1', 'negative'],
    ['12.345', 'three decimals'],
    ['100.01', 'just above 100'],
    ['"5"', 'a string'],
    ['5%', 'with a percent sign'],
    ['.nan', 'NaN'],
    ['.inf', 'infinity'],
    ['[5]', 'a list'],
  ] as const) {
    expectOne(
      t,
      `A: 1\nB: 2\nMIGRATION:\n  ROUTE_CANARY_CAP_V2_PULL_PERCENT: ${value}\n`,
      { code: 'SWB_CONFIG_BAD_PERCENT', key: 'MIGRATION.ROUTE_CANARY_CAP_V2_PULL_PERCENT', line: 4 },
      {},
      `${value} (${label})`,
    );
  }
  const good = ok(
    t,
    parseConfig(
      [
        'MIGRATION:',
        '  ROUTE_CANARY_PERCENT: 0',
        '  ROUTE_CANARY_CAP_V2_PULL_PERCENT: 100',
        '  ROUTE_CANARY_CAP_V2_PUSH_PERCENT: 12.34',
        '  ROUTE_CANARY_FAMILY_API_V1_PERCENT: 0.01',
        '  ROUTE_CANARY_ROUTE_0016_PERCENT: 33.33',
        '  ROUTE_CANARY_CAP_V2_TAGS_PERCENT: 99.99',
        '  ROUTE_CANARY_CAP_V2_BASE_PERCENT: 0.1',
        '',
      ].join('\n'),
      FILE,
      inv,
    ),
    'boundaries and two decimals',
  );
  t.same(
    [...good.switches.values()].map((s) => s.value),
    [0, 100, 12.34, 0.01, 33.33, 99.99, 0.1],
  );
});

t.test('name lists', async (t) => {
  for (const [value, label] of [
    ['[1, 2]', 'numbers'],
    ['alice', 'a bare string'],
    ['[""]', 'an empty name'],
    ['["  "]', 'a blank name'],
    ['[{a: b}]', 'mappings'],
    ['[[a]]', 'nested lists'],
    ['{a: b}', 'a mapping'],
  ] as const) {
    expectOne(t, `A: 1\nMIGRATION:\n  ROUTE_CANARY_USERS: ${value}\n`, { code: 'SWB_CONFIG_BAD_VALUE', key: 'MIGRATION.ROUTE_CANARY_USERS', line: 3 }, {}, `${value} (${label})`);
  }
  const good = ok(
    t,
    parseConfig('MIGRATION:\n  ROUTE_CANARY_ORGS: [acme, " beta "]\n  ROUTE_CANARY_REPOS:\n    - acme/app\n    - library/ubuntu\n  ROUTE_CANARY_USERS: []\n', FILE, inv),
    'lists',
  );
  t.same(good.switches.get('ROUTE_CANARY_ORGS')?.value, ['acme', 'beta'], 'names are trimmed');
  t.same(good.switches.get('ROUTE_CANARY_REPOS')?.value, ['acme/app', 'library/ubuntu'], 'block lists');
  t.same(good.switches.get('ROUTE_CANARY_USERS')?.value, [], 'an empty list is a value');
});

t.test('YAML syntax errors and duplicate keys', async (t) => {
  const syntax = 'SERVER_HOSTNAME: x\nMIGRATION:\n  ROUTE_OWNER_DEFAULT: go\n  ROUTE_OWNER_CAP_V2_PULL: @go\n';
  const s = issues(parseConfig(syntax, FILE, inv));
  t.ok(s.length >= 1, 'rejected');
  t.same(
    s.map((i) => i.code),
    s.map(() => 'SWB_CONFIG_YAML'),
    'SWB_CONFIG_YAML',
  );
  t.equal(s[0]?.line, lineOf(syntax, '@go'), 'at the line of the reserved indicator');
  const indent = 'SERVER_HOSTNAME: x\nMIGRATION:\n  ROUTE_OWNER_DEFAULT: go\n ROUTE_OWNER_CAP_V2_PULL: go\n';
  const i2 = issues(parseConfig(indent, FILE, inv));
  t.same(
    i2.map((i) => [i.code, i.line]),
    [['SWB_CONFIG_YAML', 4]],
    'bad indentation at its line',
  );
  const dup = '# comment\nMIGRATION:\n  ROUTE_OWNER_DEFAULT: go\n  ROUTE_OWNER_CAP_V2_PULL: go\n  ROUTE_OWNER_DEFAULT: python\n';
  const d = issues(parseConfig(dup, FILE, inv));
  t.same(
    d.map((i) => [i.code, i.line]),
    [['SWB_CONFIG_YAML', 5]],
    'a duplicate key is an error at its second occurrence',
  );
  const dupTop = 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: go\nSWITCHBOARD: {}\nMIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n';
  t.same(
    issues(parseConfig(dupTop, FILE, inv)).map((i) => [i.code, i.line]),
    [['SWB_CONFIG_YAML', 4]],
    'a duplicate MIGRATION section',
  );
  const multi = 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: go\n---\nMIGRATION: {}\n';
  t.same(
    issues(parseConfig(multi, FILE, inv)).map((i) => i.code),
    ['SWB_CONFIG_YAML'],
    'several documents',
  );
});

t.test('sections that are not mappings', async (t) => {
  expectOne(t, 'SERVER_HOSTNAME: x\nMIGRATION: python\n', { code: 'SWB_CONFIG_NOT_MAPPING', key: 'MIGRATION', line: 2 });
  expectOne(t, 'SERVER_HOSTNAME: x\nMIGRATION:\n  - ROUTE_OWNER_DEFAULT: go\n', { code: 'SWB_CONFIG_NOT_MAPPING', key: 'MIGRATION', line: 3 });
  expectOne(t, 'A: 1\nSWITCHBOARD: [a]\n', { code: 'SWB_CONFIG_NOT_MAPPING', key: 'SWITCHBOARD', line: 2 });
  expectOne(t, '- a\n- b\n', { code: 'SWB_CONFIG_NOT_MAPPING', key: '', line: 1 }, {}, 'the whole file');
  expectOne(t, 'just a string\n', { code: 'SWB_CONFIG_NOT_MAPPING', key: '', line: 1 });
  ok(t, parseConfig('MIGRATION:\nSWITCHBOARD:\n', FILE, inv), 'empty (null) sections are fine');
  ok(t, parseConfig('MIGRATION: {}\nSWITCHBOARD: {}\n', FILE, inv), 'empty mappings are fine');
});

t.test('the SWITCHBOARD section', async (t) => {
  const text = [
    'SERVER_HOSTNAME: x', // 1
    'SWITCHBOARD:', // 2
    '  UPSTREAMS:', // 3
    '    python: "http://quay-registry:8080"', // 4
    '    go: "127.0.0.1:8081"', // 5
    '  LISTEN: "0.0.0.0:8443"', // 6
    '  ADMIN_LISTEN: localhost', // 7
    '  REDIS_URL: "http://redis:6379"', // 8
    '  PIN_TTL_SECONDS: -5', // 9
    '  DEBUG_HEADERS: "yes"', // 10
    '  POLL_INTERVAL_SECONDS: 0.5', // 11
    '  DASHBOARD_PASSWORD: hunter2', // 12
    '',
  ].join('\n');
  const got = issues(parseConfig(text, FILE, inv)).map((i) => ({ code: i.code, key: i.key, line: i.line }));
  const want = [
    { code: 'SWB_CONFIG_BAD_VALUE', key: 'SWITCHBOARD.UPSTREAMS.go', line: 5 },
    { code: 'SWB_CONFIG_BAD_VALUE', key: 'SWITCHBOARD.ADMIN_LISTEN', line: 7 },
    { code: 'SWB_CONFIG_BAD_VALUE', key: 'SWITCHBOARD.REDIS_URL', line: 8 },
    { code: 'SWB_CONFIG_BAD_VALUE', key: 'SWITCHBOARD.PIN_TTL_SECONDS', line: 9 },
    { code: 'SWB_CONFIG_BAD_VALUE', key: 'SWITCHBOARD.DEBUG_HEADERS', line: 10 },
    { code: 'SWB_CONFIG_BAD_VALUE', key: 'SWITCHBOARD.POLL_INTERVAL_SECONDS', line: 11 },
    { code: 'SWB_CONFIG_UNKNOWN_KEY', key: 'SWITCHBOARD.DASHBOARD_PASSWORD', line: 12 },
  ];
  const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
  t.same(got.sort(byKey), want.sort(byKey), 'every SWITCHBOARD problem at its line');
  expectOne(
    t,
    'SWITCHBOARD:\n  UPSTREAMS:\n    python: "http://a:1"\n    go: "http://b:2"\n    rust: "http://c:3"\n',
    { code: 'SWB_CONFIG_UNKNOWN_KEY', key: 'SWITCHBOARD.UPSTREAMS.rust', line: 5 },
    {},
    'unknown upstream owner',
  );

  const cfg = ok(t, parseConfig('SWITCHBOARD:\n  UPSTREAMS: {python: "http://quay:8080", go: "https://127.0.0.1:8081/base"}\n  POLL_INTERVAL_SECONDS: 15\n', FILE, inv), 'valid');
  t.same(cfg.settings.UPSTREAMS, { python: 'http://quay:8080', go: 'https://127.0.0.1:8081/base' });
  const partial = ok(t, parseConfig('SWITCHBOARD:\n  UPSTREAMS: {go: "http://127.0.0.1:8081"}\n', FILE, inv), 'one upstream only');
  t.same(partial.settings.UPSTREAMS, { go: 'http://127.0.0.1:8081' }, 'an owner may be left without an upstream (its requests get a 503)');
  t.same(
    [cfg.settings.POLL_INTERVAL_SECONDS, cfg.settings.LISTEN, cfg.settings.ADMIN_LISTEN, cfg.settings.PIN_TTL_SECONDS, cfg.settings.DEBUG_HEADERS],
    [15, '0.0.0.0:8080', '127.0.0.1:9180', 86400, false],
    'defaults fill the rest',
  );
  const none = ok(t, parseConfig('', FILE, inv), 'no SWITCHBOARD section');
  t.equal(none.settings.POLL_INTERVAL_SECONDS, 5, 'default poll interval 5 s');
});

t.test('Quay settings that change routing', async (t) => {
  const cfg = ok(t, parseConfig('FEATURE_LIBRARY_SUPPORT: false\nLIBRARY_NAMESPACE: official\n', FILE, inv), 'library settings');
  t.same(cfg.quay, { FEATURE_LIBRARY_SUPPORT: false, LIBRARY_NAMESPACE: 'official' });
  t.same(ok(t, parseConfig('SERVER_HOSTNAME: x\n', FILE, inv), 'defaults').quay, { FEATURE_LIBRARY_SUPPORT: true, LIBRARY_NAMESPACE: 'library' });
  // YAML 1.1: unquoted yes/no are booleans, as PyYAML reads them for Quay.
  t.equal(ok(t, parseConfig('FEATURE_LIBRARY_SUPPORT: no\n', FILE, inv), 'unquoted no').quay.FEATURE_LIBRARY_SUPPORT, false);
  t.equal(ok(t, parseConfig('FEATURE_LIBRARY_SUPPORT: yes\n', FILE, inv), 'unquoted yes').quay.FEATURE_LIBRARY_SUPPORT, true);
  // A quoted "yes" is a string: an error with its key, file and line.
  const bad = expectOne(
    t,
    'A: 1\nFEATURE_LIBRARY_SUPPORT: "yes"\n',
    { code: 'SWB_CONFIG_BAD_VALUE', key: 'FEATURE_LIBRARY_SUPPORT', line: 2 },
    {},
    'a non-boolean FEATURE_LIBRARY_SUPPORT: key and line',
  );
  t.match(bad?.message, /FEATURE_LIBRARY_SUPPORT/, 'the message names the key');
  t.match(bad && formatIssue(bad), /^\/etc\/quay\/config\.yaml:2: FEATURE_LIBRARY_SUPPORT: .* \[SWB_CONFIG_BAD_VALUE\]$/, 'printed as file:line');
  expectOne(t, 'A: 1\nB: 2\nLIBRARY_NAMESPACE: ""\n', { code: 'SWB_CONFIG_BAD_VALUE', key: 'LIBRARY_NAMESPACE', line: 3 }, {}, 'an empty LIBRARY_NAMESPACE');
  expectOne(t, 'A: 1\nB: 2\nLIBRARY_NAMESPACE: 5\n', { code: 'SWB_CONFIG_BAD_VALUE', key: 'LIBRARY_NAMESPACE', line: 3 }, {}, 'a numeric LIBRARY_NAMESPACE');
  const both = issues(parseConfig('FEATURE_LIBRARY_SUPPORT: "on"\nMIGRATION:\n  ROUTE_OWNER_DEFAULT: maybe\nLIBRARY_NAMESPACE: ""\n', FILE, inv));
  const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
  t.same(
    both.map((i) => ({ code: i.code, key: i.key, line: i.line })).sort(byKey),
    [
      { code: 'SWB_CONFIG_BAD_VALUE', key: 'FEATURE_LIBRARY_SUPPORT', line: 1 },
      { code: 'SWB_CONFIG_BAD_VALUE', key: 'LIBRARY_NAMESPACE', line: 4 },
      { code: 'SWB_CONFIG_BAD_OWNER', key: 'MIGRATION.ROUTE_OWNER_DEFAULT', line: 3 },
    ].sort(byKey),
    'Quay-setting problems are reported with the switch problems, each with its line',
  );
});

t.test('empty files and `KEY:` with no value', async (t) => {
  for (const [text, label] of [
    ['', 'empty file'],
    ['\n\n', 'blank lines'],
    ['# just a comment\n', 'comment only'],
    ['SERVER_HOSTNAME: x\n', 'no MIGRATION section'],
    ['---', 'only a document marker'],
    ['---\n', 'only a document marker and a newline'],
    ['---\n...\n', 'an empty explicit document'],
    ['# c\n---\n# c\n', 'a marker between comments'],
  ] as const) {
    const cfg = ok(t, parseConfig(text, FILE, inv), label);
    t.equal(cfg.switches.size, 0, `${label}: no switches`);
  }
  const cfg = ok(
    t,
    parseConfig('MIGRATION:\n  ROUTE_OWNER_DEFAULT:\n  ROUTE_CANARY_PERCENT: ~\n  ROUTE_CANARY_ORGS: null\n  MIGRATION_FORCE_PYTHON:\n  ROUTE_OWNER_CAP_V2_PULL: go\n', FILE, inv),
    '`KEY:`',
  );
  t.same([...cfg.switches.keys()], ['ROUTE_OWNER_CAP_V2_PULL'], 'keys with no value are unset');
  t.equal(cfg.file, FILE);
  expectOne(
    t,
    'MIGRATION:\n  ROUTE_OWNER_DEFALT:\n',
    { code: 'SWB_CONFIG_UNKNOWN_KEY', key: 'MIGRATION.ROUTE_OWNER_DEFALT', line: 2 },
    {},
    'an unknown key is an error even with no value',
  );
});

t.test('origins: file line for file values', async (t) => {
  const text = '# header\nSERVER_HOSTNAME: x\n\nMIGRATION:\n  # comment\n  ROUTE_OWNER_DEFAULT: go\n  ROUTE_CANARY_ORGS:\n    - acme\n';
  const cfg = ok(t, parseConfig(text, FILE, inv), 'origins');
  t.same(cfg.switches.get('ROUTE_OWNER_DEFAULT')?.origin, { source: 'file', file: FILE, line: 6 });
  t.same(cfg.switches.get('ROUTE_CANARY_ORGS')?.origin, { source: 'file', file: FILE, line: 7 }, 'a block value: the line of its key');
  const marked = ok(t, parseConfig('---\nMIGRATION:\n  ROUTE_OWNER_DEFAULT: go\n', FILE, inv), 'after a --- marker');
  t.same(marked.switches.get('ROUTE_OWNER_DEFAULT')?.origin, { source: 'file', file: FILE, line: 3 }, 'lines count the marker');
  t.same(cfg.switches.get('ROUTE_OWNER_DEFAULT')?.spec, { kind: 'owner', level: 'default', target: '' });
  t.same(cfg.switches.get('ROUTE_CANARY_ORGS')?.spec, { kind: 'canary', scope: 'global', selector: 'orgs' });
});

t.test('YAML anchors and aliases are ordinary YAML', async (t) => {
  const text = 'MIGRATION:\n  ROUTE_OWNER_CAP_V2_PULL: &owner go\n  ROUTE_OWNER_CAP_V2_PUSH: *owner\n  ROUTE_CANARY_ORGS: &orgs [acme]\n  ROUTE_CANARY_CAP_V2_PULL_ORGS: *orgs\n';
  const r = parseConfig(text, FILE, inv);
  t.same(issues(r), [], "an alias is its anchor's value");
  t.same(r.ok ? r.config.switches.get('ROUTE_OWNER_CAP_V2_PUSH')?.value : undefined, 'go', 'alias resolved');
  t.same(r.ok ? r.config.switches.get('ROUTE_CANARY_CAP_V2_PULL_ORGS')?.value : undefined, ['acme'], 'a list alias resolved');
  t.same(r.ok ? r.config.switches.get('ROUTE_OWNER_CAP_V2_PUSH')?.origin : undefined, { source: 'file', file: FILE, line: 3 }, 'an alias has the line of its key');
  // Anchors defined outside MIGRATION (e.g. next to Quay's own keys).
  const outside = ok(
    t,
    parseConfig(
      'X_OWNER: &o go\nX_PCT: &p 25\nMIGRATION:\n  ROUTE_OWNER_DEFAULT: *o\n  ROUTE_CANARY_PERCENT: *p\n  MIGRATION_FORCE_PYTHON: &k no\n  WORKER_OWNER_GCWORKER: *o\n',
      FILE,
      inv,
    ),
    'anchors outside MIGRATION',
  );
  t.same(Object.fromEntries([...outside.switches].map(([k, v]) => [k, v.value])), {
    ROUTE_OWNER_DEFAULT: 'go',
    ROUTE_CANARY_PERCENT: 25,
    MIGRATION_FORCE_PYTHON: false,
    WORKER_OWNER_GCWORKER: 'go',
  });
  // An alias to a bad value is reported at the key that uses it.
  expectOne(t, 'X: &bad rust\nMIGRATION:\n  ROUTE_OWNER_DEFAULT: *bad\n', { code: 'SWB_CONFIG_BAD_OWNER', key: 'MIGRATION.ROUTE_OWNER_DEFAULT', line: 3 });
  // And in SWITCHBOARD.
  const sb = ok(
    t,
    parseConfig(
      'X: &t true\nU: &u {python: "http://quay:8080", go: "http://127.0.0.1:8081"}\nSWITCHBOARD:\n  DEBUG_HEADERS: *t\n  UPSTREAMS: *u\n  LISTEN: &l "0.0.0.0:8443"\n',
      FILE,
      inv,
    ),
    'aliases in SWITCHBOARD',
  );
  t.same([sb.settings.DEBUG_HEADERS, sb.settings.UPSTREAMS, sb.settings.LISTEN], [true, { python: 'http://quay:8080', go: 'http://127.0.0.1:8081' }, '0.0.0.0:8443']);
});

// ---------------------------------------------------------------------------
// Environment overlay
// ---------------------------------------------------------------------------

t.test('environment variables override the file', async (t) => {
  const text = 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n  ROUTE_CANARY_PERCENT: 5\n  MIGRATION_FORCE_PYTHON: false\n';
  const cfg = ok(
    t,
    parseConfig(text, FILE, inv, {
      ROUTE_OWNER_DEFAULT: 'go',
      ROUTE_CANARY_PERCENT: '25.5',
      ROUTE_CANARY_ORGS: 'acme, beta ,gamma',
      MIGRATION_FORCE_PYTHON: 'TRUE',
      WORKER_OWNER_GCWORKER: ' go ',
      HOME: '/root',
      PATH: '/usr/bin',
      ROUTE_X: 'ignored',
      SERVER_HOSTNAME: 'ignored',
    }),
    'env overlay',
  );
  const values = Object.fromEntries([...cfg.switches].map(([k, s]) => [k, s.value]));
  t.same(
    values,
    {
      ROUTE_OWNER_DEFAULT: 'go',
      ROUTE_CANARY_PERCENT: 25.5,
      MIGRATION_FORCE_PYTHON: true,
      ROUTE_CANARY_ORGS: ['acme', 'beta', 'gamma'],
      WORKER_OWNER_GCWORKER: 'go',
    },
    'env values win, are coerced, and non-switch variables are ignored',
  );
  t.same(cfg.switches.get('ROUTE_OWNER_DEFAULT')?.origin, { source: 'env', name: 'ROUTE_OWNER_DEFAULT' });
  for (const [raw, want] of [
    ['true', true],
    ['1', true],
    ['yes', true],
    ['on', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['off', false],
  ] as const) {
    const c = ok(t, parseConfig('', FILE, inv, { MIGRATION_FORCE_PYTHON: raw }), `MIGRATION_FORCE_PYTHON=${raw}`);
    t.equal(c.switches.get('MIGRATION_FORCE_PYTHON')?.value, want);
  }
  const unset = ok(t, parseConfig(text, FILE, inv, { ROUTE_OWNER_DEFAULT: undefined }), 'an undefined env entry');
  t.equal(unset.switches.get('ROUTE_OWNER_DEFAULT')?.value, 'python', 'undefined variables do not override');
  t.same(
    cfg.envOverrides,
    ['MIGRATION_FORCE_PYTHON=TRUE', 'ROUTE_CANARY_ORGS=acme, beta ,gamma', 'ROUTE_CANARY_PERCENT=25.5', 'ROUTE_OWNER_DEFAULT=go', 'WORKER_OWNER_GCWORKER= go '],
    'envOverrides lists every overriding variable as NAME=value',
  );
});

t.test('an empty environment variable is unset: it neither overrides nor errs', async (t) => {
  const text = 'MIGRATION:\n  MIGRATION_FORCE_PYTHON: true\n  ROUTE_OWNER_DEFAULT: go\n  ROUTE_CANARY_PERCENT: 5\n  ROUTE_CANARY_ORGS: [acme]\n';
  const env = { MIGRATION_FORCE_PYTHON: '', ROUTE_OWNER_DEFAULT: '', ROUTE_CANARY_PERCENT: '  ', ROUTE_CANARY_ORGS: '', WORKER_OWNER_GCWORKER: '', ROUTE_OWNER_CAP_NOPE: '' };
  const cfg = ok(t, parseConfig(text, FILE, inv, env), 'empty variables');
  t.same(
    Object.fromEntries([...cfg.switches].map(([k, v]) => [k, [v.value, v.origin.source]])),
    {
      MIGRATION_FORCE_PYTHON: [true, 'file'],
      ROUTE_OWNER_DEFAULT: ['go', 'file'],
      ROUTE_CANARY_PERCENT: [5, 'file'],
      ROUTE_CANARY_ORGS: [['acme'], 'file'],
    },
    "the file values stand; an empty kill switch variable does not turn the file's kill switch off",
  );
  t.same(cfg.envOverrides, [], 'no override listed');
  t.equal(cfg.digest, ok(t, parseConfig(text, FILE, inv), 'no env').digest);
  const only = ok(t, envOnlyConfig(inv, { MIGRATION_FORCE_PYTHON: '', ROUTE_OWNER_DEFAULT: '' }), 'env only, empty');
  t.equal(only.switches.size, 0, 'no switches from empty variables');
});

t.test('bad environment values are reported naming the variable', async (t) => {
  const env = {
    ROUTE_OWNER_DEFAULT: 'Go',
    ROUTE_CANARY_PERCENT: 'five',
    MIGRATION_FORCE_PYTHON: 'maybe',
    ROUTE_OWNER_CAP_NOPE: 'go',
    ROUTE_OWNER_ROUTE_0999: 'go',
    WORKER_OWNER_NOPE: 'go',
    ROUTE_CANARY_CAP_V2_PULL_PERCENT: '12.345',
    ROUTE_OWNER_BOGUS: 'go',
  };
  const r = parseConfig('MIGRATION:\n  ROUTE_OWNER_FAMILY_WEB: python\n', FILE, inv, env);
  const got = issues(r).map((i) => ({ code: i.code, key: i.key, line: i.line, file: i.file }));
  const want = [
    { code: 'SWB_CONFIG_BAD_OWNER', key: 'ROUTE_OWNER_DEFAULT' },
    { code: 'SWB_CONFIG_BAD_PERCENT', key: 'ROUTE_CANARY_PERCENT' },
    { code: 'SWB_CONFIG_BAD_VALUE', key: 'MIGRATION_FORCE_PYTHON' },
    { code: 'SWB_CONFIG_UNKNOWN_CAPABILITY', key: 'ROUTE_OWNER_CAP_NOPE' },
    { code: 'SWB_CONFIG_UNKNOWN_ROUTE', key: 'ROUTE_OWNER_ROUTE_0999' },
    { code: 'SWB_CONFIG_UNKNOWN_WORKER', key: 'WORKER_OWNER_NOPE' },
    { code: 'SWB_CONFIG_BAD_PERCENT', key: 'ROUTE_CANARY_CAP_V2_PULL_PERCENT' },
    { code: 'SWB_CONFIG_UNKNOWN_KEY', key: 'ROUTE_OWNER_BOGUS' },
  ].map((w) => ({ ...w, line: undefined, file: undefined }));
  const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
  t.same(got.sort(byKey), want.sort(byKey), 'every bad variable, keyed by its name, with no file or line');
  for (const i of issues(r)) t.ok(i.message.includes(i.key), `the message names ${i.key}`);
  // File and environment problems together.
  const both = parseConfig('MIGRATION:\n  ROUTE_OWNER_DEFAULT: maybe\n', FILE, inv, { ROUTE_CANARY_PERCENT: '200' });
  t.same(
    issues(both).map((i) => [i.code, i.key, i.line]),
    [
      ['SWB_CONFIG_BAD_OWNER', 'MIGRATION.ROUTE_OWNER_DEFAULT', 2],
      ['SWB_CONFIG_BAD_PERCENT', 'ROUTE_CANARY_PERCENT', undefined],
    ],
  );
});

t.test('envOnlyConfig: the kill switch works from the environment alone', async (t) => {
  const cfg = ok(t, envOnlyConfig(inv, { MIGRATION_FORCE_PYTHON: 'true', HOME: '/' }), 'env only');
  t.same([...cfg.switches.keys()], ['MIGRATION_FORCE_PYTHON']);
  t.equal(cfg.switches.get('MIGRATION_FORCE_PYTHON')?.value, true);
  t.equal(cfg.file, '(environment)');
  t.same(
    issues(envOnlyConfig(inv, { ROUTE_OWNER_DEFAULT: 'rust' })).map((i) => i.code),
    ['SWB_CONFIG_BAD_OWNER'],
  );
  t.equal(ok(t, envOnlyConfig(inv, {}), 'empty env').switches.size, 0);
});

// ---------------------------------------------------------------------------
// Digest
// ---------------------------------------------------------------------------

t.test('digest: the sha256 of the file bytes, whatever the environment', async (t) => {
  const sha = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
  for (const text of ['', 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: go\n', 'MIGRATION:\r\n  ROUTE_OWNER_DEFAULT: go\r\n', '# café\nSERVER_HOSTNAME: x\n', '---']) {
    const cfg = ok(t, parseConfig(text, FILE, inv), JSON.stringify(text));
    t.equal(cfg.digest, sha(text), `${JSON.stringify(text)}: digest is sha256 of the bytes`);
    const env = ok(t, parseConfig(text, FILE, inv, { ROUTE_OWNER_DEFAULT: 'python', MIGRATION_FORCE_PYTHON: 'true' }), 'with env');
    t.equal(env.digest, sha(text), 'environment overrides do not change it');
    t.same(env.envOverrides, ['MIGRATION_FORCE_PYTHON=true', 'ROUTE_OWNER_DEFAULT=python']);
    const snap = buildSnapshot(inv, env, 1, new Date(0));
    t.equal(snap.source.digest, sha(text), 'the snapshot carries the same digest');
  }
});

t.test('digest: equal for equal content (any environment), different when any byte changes', async (t) => {
  const a = 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n';
  const digest = (text: string, env: Env = {}) => ok(t, parseConfig(text, FILE, inv, env), 'digest input').digest;
  const d1 = digest(a);
  t.match(d1, /^[0-9a-f]{64}$/, 'sha256 hex');
  t.equal(digest(a), d1, 'same text, same digest');
  t.equal(ok(t, parseConfig(a, '/other/path.yaml', inv), 'other path').digest, d1, 'the file name is not content');
  t.not(digest('MIGRATION:\n  ROUTE_OWNER_DEFAULT: go\n'), d1, 'a changed value');
  t.not(digest(a + '# a comment\n'), d1, 'any byte of the file counts');
  t.equal(digest(a, { ROUTE_OWNER_DEFAULT: 'go' }), d1, "the digest is the file's sha256: environment overrides are listed apart");
  const withEnv = parseConfig(a, 'c.yaml', inv, { ROUTE_OWNER_DEFAULT: 'go' });
  t.same(withEnv.ok ? withEnv.config.envOverrides : null, ['ROUTE_OWNER_DEFAULT=go'], 'overrides listed');
  t.equal(digest(a, { HOME: '/root', TERM: 'xterm' }), d1, 'non-switch variables do not count');
  t.equal(digest(a, { ROUTE_OWNER_DEFAULT: 'go' }), digest(a, { ROUTE_OWNER_DEFAULT: 'go' }), 'same override, same digest');
  t.not(digest(''), digest('\n'), 'even whitespace');
});

t.test('the shipped example config parses', async (t) => {
  const file = fileURLToPath(new URL('../../../examples/config.yaml', import.meta.url));
  const cfg = ok(t, parseConfig(readFileSync(file, 'utf8'), file, inv), 'examples/config.yaml');
  t.equal(cfg.switches.get('ROUTE_OWNER_CAP_V2_PULL')?.value, 'canary');
  t.equal(cfg.switches.get('ROUTE_CANARY_CAP_V2_PULL_PERCENT')?.value, 5);
  t.same(cfg.switches.get('ROUTE_CANARY_ORGS')?.value, ['test-org']);
  t.equal(cfg.switches.get('WORKER_OWNER_GCWORKER')?.value, 'go');
  t.ok(Object.isFrozen(cfg), 'the config is frozen');
});

t.test('TLS, STATE_DIR and EMBEDDED_REGISTRY (the quick start keys)', async (t) => {
  const def = ok(t, parseConfig('SWITCHBOARD: {}\n', FILE, inv), 'defaults');
  t.same([def.settings.TLS, def.settings.STATE_DIR, def.settings.EMBEDDED_REGISTRY], ['off', 'data', undefined]);
  t.equal(ok(t, parseConfig('SWITCHBOARD:\n  TLS: off\n', FILE, inv), 'a bare off (YAML 1.1 false)').settings.TLS, 'off');
  t.equal(ok(t, parseConfig('SWITCHBOARD:\n  TLS: self-signed\n', FILE, inv), 'self-signed').settings.TLS, 'self-signed');
  t.same(ok(t, parseConfig('SWITCHBOARD:\n  TLS: {CERT_FILE: c.pem, KEY_FILE: k.pem}\n', FILE, inv), 'files').settings.TLS, { CERT_FILE: 'c.pem', KEY_FILE: 'k.pem' });
  expectOne(t, 'SWITCHBOARD:\n  LISTEN: 0.0.0.0:8443\n  TLS: on\n', { code: 'SWB_CONFIG_BAD_VALUE', key: 'SWITCHBOARD.TLS', line: 3 }, {}, 'a bare on is not a TLS mode');
  expectOne(t, 'SWITCHBOARD:\n  TLS: {CERT_FILE: c.pem}\n', { code: 'SWB_CONFIG_BAD_VALUE', key: 'SWITCHBOARD.TLS', line: 2 }, {}, 'a key file is needed');
  const emb = ok(t, parseConfig('SWITCHBOARD:\n  EMBEDDED_REGISTRY: {}\n', FILE, inv), 'embedded registry with defaults');
  t.same(emb.settings.EMBEDDED_REGISTRY, { MODE: 'mirror', DATA_DIR: 'data/quay' });
  expectOne(t, 'SWITCHBOARD:\n  EMBEDDED_REGISTRY:\n    MODE: standalone\n', { code: 'SWB_CONFIG_BAD_VALUE', key: 'SWITCHBOARD.EMBEDDED_REGISTRY.MODE', line: 3 });
  expectOne(t, 'SWITCHBOARD:\n  EMBEDDED_REGISTRY:\n    DATADIR: x\n', { code: 'SWB_CONFIG_UNKNOWN_KEY', key: 'SWITCHBOARD.EMBEDDED_REGISTRY.DATADIR', line: 3 });
});
