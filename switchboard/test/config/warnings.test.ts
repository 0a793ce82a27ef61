// configWarnings (switchboard/config/warnings.ts): canary selectors that are
// valid but read by no canary plan are reported, never rejected. The cases are
// a table: the MIGRATION section in, the warned keys and messages out.

import t from 'tap';
import { loadInventory } from '../../../owner-maps/index.js';
import { formatIssue, parseConfig, type Env, type SwitchConfig } from '../../config/parse.js';
import { configWarnings } from '../../snapshots/warnings.js';
import { ERROR_CODES } from '../../errors.js';

const inv = loadInventory();
const FILE = '/etc/quay/config.yaml';
const PULL_ROUTES = inv.routes.filter((r) => r.capability === 'V2_PULL').map((r) => r.id);

function config(migration: Record<string, unknown>, env: Env = {}): SwitchConfig {
  const text = `SERVER_HOSTNAME: quay.example.com\nMIGRATION:\n${Object.entries(migration)
    .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
    .join('\n')}\n`;
  const r = parseConfig(text, FILE, inv, env);
  if (!r.ok) throw new Error(r.issues.map(formatIssue).join('; '));
  return r.config;
}

interface Case {
  readonly name: string;
  readonly migration: Record<string, unknown>;
  readonly want: Record<string, string>;
}

const CASES: readonly Case[] = [
  {
    name: 'a capability percent while its owner is go',
    migration: { ROUTE_OWNER_CAP_V2_PULL: 'go', ROUTE_CANARY_CAP_V2_PULL_PERCENT: 25 },
    want: { 'MIGRATION.ROUTE_CANARY_CAP_V2_PULL_PERCENT': 'ROUTE_CANARY_CAP_V2_PULL_PERCENT has no effect until ROUTE_OWNER_CAP_V2_PULL is canary (it is go)' },
  },
  {
    name: 'capability lists while its owner is unset',
    migration: { ROUTE_CANARY_CAP_V2_PULL_ORGS: ['acme'], ROUTE_CANARY_CAP_V2_PULL_REPOS: ['acme/web'], ROUTE_CANARY_CAP_V2_PULL_USERS: ['alice'] },
    want: {
      'MIGRATION.ROUTE_CANARY_CAP_V2_PULL_ORGS': 'ROUTE_CANARY_CAP_V2_PULL_ORGS has no effect until ROUTE_OWNER_CAP_V2_PULL is canary (it is unset)',
      'MIGRATION.ROUTE_CANARY_CAP_V2_PULL_REPOS': 'ROUTE_CANARY_CAP_V2_PULL_REPOS has no effect until ROUTE_OWNER_CAP_V2_PULL is canary (it is unset)',
      'MIGRATION.ROUTE_CANARY_CAP_V2_PULL_USERS': 'ROUTE_CANARY_CAP_V2_PULL_USERS has no effect until ROUTE_OWNER_CAP_V2_PULL is canary (it is unset)',
    },
  },
  {
    name: 'a capability percent while its owner is canary: in effect',
    migration: { ROUTE_OWNER_CAP_V2_PULL: 'canary', ROUTE_CANARY_CAP_V2_PULL_PERCENT: 25, ROUTE_CANARY_CAP_V2_PULL_ORGS: ['acme'] },
    want: {},
  },
  {
    name: "the family is canary, so the capability's routes are canary through FAMILY_, not CAP_",
    migration: { ROUTE_OWNER_FAMILY_REGISTRY_V2: 'canary', ROUTE_CANARY_CAP_V2_PULL_PERCENT: 25, ROUTE_CANARY_FAMILY_REGISTRY_V2_PERCENT: 5 },
    want: { 'MIGRATION.ROUTE_CANARY_CAP_V2_PULL_PERCENT': 'ROUTE_CANARY_CAP_V2_PULL_PERCENT has no effect until ROUTE_OWNER_CAP_V2_PULL is canary (it is unset)' },
  },
  {
    name: 'the capability is canary but route switches decide every one of its routes',
    migration: { ROUTE_OWNER_CAP_V2_PULL: 'canary', ROUTE_CANARY_CAP_V2_PULL_PERCENT: 25, ...Object.fromEntries(PULL_ROUTES.map((id) => [`ROUTE_OWNER_${id}`, 'go'])) },
    want: {
      'MIGRATION.ROUTE_CANARY_CAP_V2_PULL_PERCENT':
        'ROUTE_CANARY_CAP_V2_PULL_PERCENT has no effect: ROUTE_OWNER_CAP_V2_PULL is canary, but more specific switches decide every route of CAP_V2_PULL',
    },
  },
  {
    name: 'one route left to the capability is enough',
    migration: { ROUTE_OWNER_CAP_V2_PULL: 'canary', ROUTE_CANARY_CAP_V2_PULL_PERCENT: 25, ...Object.fromEntries(PULL_ROUTES.slice(1).map((id) => [`ROUTE_OWNER_${id}`, 'go'])) },
    want: {},
  },
  {
    name: 'a family scope',
    migration: { ROUTE_OWNER_FAMILY_API_V1: 'go', ROUTE_CANARY_FAMILY_API_V1_REPOS: ['acme/web'] },
    want: { 'MIGRATION.ROUTE_CANARY_FAMILY_API_V1_REPOS': 'ROUTE_CANARY_FAMILY_API_V1_REPOS has no effect until ROUTE_OWNER_FAMILY_API_V1 is canary (it is go)' },
  },
  {
    name: 'a route scope, and one in effect',
    migration: { ROUTE_CANARY_ROUTE_0016_USERS: ['bob'], ROUTE_OWNER_ROUTE_0010: 'canary', ROUTE_CANARY_ROUTE_0010_PERCENT: 50 },
    want: { 'MIGRATION.ROUTE_CANARY_ROUTE_0016_USERS': 'ROUTE_CANARY_ROUTE_0016_USERS has no effect until ROUTE_OWNER_ROUTE_0016 is canary (it is unset)' },
  },
  {
    name: 'global selectors with nothing canary',
    migration: { ROUTE_OWNER_DEFAULT: 'python', ROUTE_CANARY_PERCENT: 10, ROUTE_CANARY_ORGS: ['test-org'] },
    want: {
      'MIGRATION.ROUTE_CANARY_PERCENT': 'ROUTE_CANARY_PERCENT has no effect until an owner switch (ROUTE_OWNER_DEFAULT, _FAMILY_, _CAP_ or _ROUTE_) is canary',
      'MIGRATION.ROUTE_CANARY_ORGS': 'ROUTE_CANARY_ORGS has no effect until an owner switch (ROUTE_OWNER_DEFAULT, _FAMILY_, _CAP_ or _ROUTE_) is canary',
    },
  },
  {
    name: "global selectors shadowed by every canary scope's own",
    migration: { ROUTE_OWNER_CAP_V2_PULL: 'canary', ROUTE_CANARY_CAP_V2_PULL_PERCENT: 5, ROUTE_CANARY_PERCENT: 10, ROUTE_CANARY_ORGS: ['test-org'] },
    want: { 'MIGRATION.ROUTE_CANARY_PERCENT': 'ROUTE_CANARY_PERCENT has no effect: every canary scope sets its own (ROUTE_CANARY_CAP_V2_PULL_PERCENT)' },
  },
  {
    name: 'global selectors read by a canary scope without its own (the shipped example)',
    migration: { ROUTE_OWNER_DEFAULT: 'python', ROUTE_OWNER_CAP_V2_PULL: 'canary', ROUTE_CANARY_CAP_V2_PULL_PERCENT: 5, ROUTE_CANARY_ORGS: ['test-org'] },
    want: {},
  },
  {
    name: 'a canary default reads the global selectors',
    migration: { ROUTE_OWNER_DEFAULT: 'canary', ROUTE_CANARY_PERCENT: 1, ROUTE_CANARY_USERS: ['alice'] },
    want: {},
  },
  {
    name: 'the kill switch does not hide anything: the warnings are about the switches',
    migration: { MIGRATION_FORCE_PYTHON: true, ROUTE_OWNER_CAP_V2_PULL: 'canary', ROUTE_CANARY_CAP_V2_PULL_PERCENT: 5 },
    want: {},
  },
];

t.test('canary selectors no canary plan reads are warned about', async (t) => {
  for (const c of CASES) {
    const ws = configWarnings(config(c.migration), inv);
    t.same(Object.fromEntries(ws.map((w) => [w.key, w.message])), c.want, c.name);
    for (const w of ws) t.equal(w.code, 'SWB_CONFIG_NO_EFFECT', `${c.name}: ${w.key} has the warning code`);
  }
});

t.test('a warning carries file and line, and prints like an issue', async (t) => {
  const c = config({ ROUTE_OWNER_CAP_V2_PULL: 'go', ROUTE_CANARY_CAP_V2_PULL_PERCENT: 25 });
  const [w] = configWarnings(c, inv);
  t.same(w, {
    code: 'SWB_CONFIG_NO_EFFECT',
    key: 'MIGRATION.ROUTE_CANARY_CAP_V2_PULL_PERCENT',
    file: FILE,
    line: 4,
    message: 'ROUTE_CANARY_CAP_V2_PULL_PERCENT has no effect until ROUTE_OWNER_CAP_V2_PULL is canary (it is go)',
  });
  t.equal(formatIssue(w!), `${FILE}:4: ROUTE_CANARY_CAP_V2_PULL_PERCENT has no effect until ROUTE_OWNER_CAP_V2_PULL is canary (it is go) [SWB_CONFIG_NO_EFFECT]`);
  t.ok('SWB_CONFIG_NO_EFFECT' in ERROR_CODES, 'a documented code');
});

t.test('environment settings count, and are named by their variable', async (t) => {
  const fromEnv = config({ ROUTE_OWNER_DEFAULT: 'python' }, { ROUTE_CANARY_PERCENT: '5' });
  t.same(
    configWarnings(fromEnv, inv).map((w) => [w.key, w.file, w.line]),
    [['ROUTE_CANARY_PERCENT', undefined, undefined]],
  );
  const canaryFromEnv = config({ ROUTE_CANARY_CAP_V2_PULL_PERCENT: 5 }, { ROUTE_OWNER_CAP_V2_PULL: 'canary' });
  t.same(configWarnings(canaryFromEnv, inv), [], 'an owner switch from the environment makes the scope canary');
});

t.test('warnings never make a config invalid', async (t) => {
  const r = parseConfig('MIGRATION:\n  ROUTE_OWNER_CAP_V2_PULL: go\n  ROUTE_CANARY_CAP_V2_PULL_PERCENT: 25\n', FILE, inv);
  t.equal(r.ok, true, 'accepted');
});
