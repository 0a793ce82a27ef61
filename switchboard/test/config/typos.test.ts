// No silent typos (issue 13): a top-level key that is a near miss of MIGRATION
// or SWITCHBOARD is an error naming it, its line and the section it meant,
// while every one of Quay's own top-level keys stays allowed; unknown keys
// inside the sections get a case-insensitive did-you-mean, SWITCHBOARD's
// (nested ones too) as well as MIGRATION's.

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadInventory } from '../../../owner-maps/index.js';
import { sectionNearMiss, suggest } from '../../config/keys.js';
import { formatIssue, parseConfig, type ConfigIssue } from '../../config/parse.js';
import { knownKeys, switchboardSectionSchema } from '../../config/schema.js';
import { FileSnapshotProvider } from '../../snapshots/provider.js';

const inv = loadInventory();
const FILE = '/etc/quay/config.yaml';

/** Quay's top-level keys, gathered from its source (see the fixture's header). */
const QUAY_KEYS = readFileSync(fileURLToPath(new URL('../fixtures/quay-config-keys.txt', import.meta.url)), 'utf8')
  .split('\n')
  .filter((l) => l.trim() && !l.startsWith('#'));

function issues(text: string): readonly ConfigIssue[] {
  const r = parseConfig(text, FILE, inv);
  return r.ok ? [] : r.issues;
}

/** 1-based line of the only line of `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  const hits = text.split('\n').flatMap((l, i) => (l.includes(needle) ? [i + 1] : []));
  if (hits.length !== 1) throw new Error(`"${needle}" found on ${hits.length} lines`);
  return hits[0]!;
}

t.test('a near miss of MIGRATION or SWITCHBOARD at the top level is an error naming the key, its line and the section', async (t) => {
  const cases: [string, 'MIGRATION' | 'SWITCHBOARD'][] = [
    ['MIGRATON', 'MIGRATION'],
    ['migration', 'MIGRATION'],
    ['Migration', 'MIGRATION'],
    ['MIGRATIONS', 'MIGRATION'],
    ['MIGRAITON', 'MIGRATION'],
    ['MIGRATION_', 'MIGRATION'],
    ['Switchboard', 'SWITCHBOARD'],
    ['SWITCHBORD', 'SWITCHBOARD'],
    ['switch_board', 'SWITCHBOARD'],
    ['SWITCH-BOARD', 'SWITCHBOARD'],
    ['SWICHBOARD', 'SWITCHBOARD'],
  ];
  for (const [typo, meant] of cases) {
    const text = `SERVER_HOSTNAME: quay.example.com\nMIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n${typo}:\n  ROUTE_OWNER_CAP_V2_PULL: go\n`;
    const all = issues(text);
    t.same(
      all.map((i) => ({ code: i.code, key: i.key, line: i.line })),
      [{ code: 'SWB_CONFIG_UNKNOWN_KEY', key: typo, line: 4 }],
      `${typo}: one issue, at its line`,
    );
    t.match(all[0]?.message, new RegExp(`^${typo}: unknown top-level key \\(did you mean ${meant}\\?\\)`), `${typo}: did you mean ${meant}?`);
  }
  t.equal(
    formatIssue(issues('Migration:\n  ROUTE_OWNER_DEFAULT: go\n')[0]!),
    `${FILE}:1: Migration: unknown top-level key (did you mean MIGRATION?); the switchboard would read nothing under it [SWB_CONFIG_UNKNOWN_KEY]`,
  );
});

t.test('every near miss is reported with the rest, even beside the real section', async (t) => {
  const text = 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\nmigration:\n  ROUTE_OWNER_DEFAULT: go\nSWITCHBOARD:\n  LISTEN: 0.0.0.0:8080\nSWITCHBORD: {LISTEN: "0.0.0.0:9090"}\n';
  t.same(
    issues(text).map((i) => [i.key, i.line]),
    [
      ['migration', 3],
      ['SWITCHBORD', 7],
    ],
  );
});

t.test("none of Quay's own top-level keys is taken for a near miss", async (t) => {
  t.ok(QUAY_KEYS.length > 500, `${QUAY_KEYS.length} Quay keys in the fixture`);
  for (const k of ['MAIL_PORT', 'SECURITY_SCANNER_V4_ENDPOINT', 'SERVER_HOSTNAME', 'FEATURE_LIBRARY_SUPPORT', 'DISTRIBUTED_STORAGE_CONFIG']) {
    t.ok(QUAY_KEYS.includes(k), `the fixture has ${k}`);
  }
  t.same(
    QUAY_KEYS.filter((k) => sectionNearMiss(k) !== null),
    [],
    'sectionNearMiss flags none of them',
  );
  const values: Record<string, string> = { FEATURE_LIBRARY_SUPPORT: 'true', LIBRARY_NAMESPACE: 'library' };
  const text = `${QUAY_KEYS.map((k) => `${k}: ${values[k] ?? 'x'}`).join('\n')}\nMIGRATION:\n  ROUTE_OWNER_DEFAULT: python\nSWITCHBOARD:\n  LISTEN: 0.0.0.0:8080\n`;
  t.same(issues(text).map(formatIssue), [], 'a config with every Quay key is valid');
  for (const k of ['MIGRATION', 'SWITCHBOARD', 'MIGRATION_FORCE_PYTHON', 'ROUTE_OWNER_DEFAULT', 'REGISTRY_TITLE', 'MIGRATE_ME_LATER', 'SWITCH']) {
    t.equal(sectionNearMiss(k), null, `${k} is no near miss`);
  }
});

t.test('MIGRATION keys: suggestions ignore case', async (t) => {
  const cases: [string, RegExp][] = [
    ['route_owner_default', /^route_owner_default: not a switch \(did you mean ROUTE_OWNER_DEFAULT\?\)/],
    ['route_owner_cap_v2_pull', /^route_owner_cap_v2_pull: not a switch \(did you mean ROUTE_OWNER_CAP_V2_PULL\?\)/],
    ['Route_Canary_Family_Api_V1_Percent', /\(did you mean ROUTE_CANARY_FAMILY_API_V1_PERCENT\?\)/],
    ['worker_owner_gcworker', /\(did you mean WORKER_OWNER_GCWORKER\?\)/],
    ['ROUTE_OWNER_CAP_v2_pull', /unknown capability v2_pull \(did you mean V2_PULL\?\)/],
    ['ROUTE_OWNER_FAMILY_registry_v2', /unknown family registry_v2 \(did you mean REGISTRY_V2\?\)/],
    ['route_owner_defalt', /\(did you mean ROUTE_OWNER_DEFAULT\?\)/],
  ];
  for (const [key, want] of cases) {
    const text = `MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n  ${key}: go\n`;
    const all = issues(text);
    t.equal(all.length, 1, `${key}: one issue`);
    t.equal(all[0]?.line, 3, `${key}: at its line`);
    t.match(all[0]?.message, want, `${key}: ${want}`);
  }
  t.equal(suggest('v2_pull', inv.capabilities), ' (did you mean V2_PULL?)', 'suggest() answers with the name as it must be written');
  t.equal(suggest('zzzzzzz', inv.capabilities), '', 'nothing close, no suggestion');
});

t.test('SWITCHBOARD keys get suggestions too, nested ones included', async (t) => {
  const text = `SWITCHBOARD:
  upstreams: {python: "http://127.0.0.1:8080"}
  LISTN: 0.0.0.0:8080
  Pin_Uploads: true
  DASHBOARD: {ADMIN_TOKEN_FLE: admin.token, USERS_FILE: users.yaml}
  EMBEDDED_REGISTRY: {DATA_DR: data/quay}
  REALLY_UNRELATED_SETTING: 1
`;
  const want: Record<string, [string, RegExp]> = {
    'SWITCHBOARD.upstreams': ['upstreams', /^unknown key SWITCHBOARD\.upstreams \(did you mean UPSTREAMS\?\)$/],
    'SWITCHBOARD.LISTN': ['LISTN', /\(did you mean LISTEN\?\)$/],
    'SWITCHBOARD.Pin_Uploads': ['Pin_Uploads', /\(did you mean PIN_UPLOADS\?\)$/],
    'SWITCHBOARD.DASHBOARD.ADMIN_TOKEN_FLE': ['ADMIN_TOKEN_FLE', /^unknown key SWITCHBOARD\.DASHBOARD\.ADMIN_TOKEN_FLE \(did you mean ADMIN_TOKEN_FILE\?\)$/],
    'SWITCHBOARD.EMBEDDED_REGISTRY.DATA_DR': ['DATA_DR', /\(did you mean DATA_DIR\?\)$/],
    'SWITCHBOARD.REALLY_UNRELATED_SETTING': ['REALLY_UNRELATED', /^unknown key SWITCHBOARD\.REALLY_UNRELATED_SETTING$/],
  };
  const all = issues(text).filter((i) => i.code === 'SWB_CONFIG_UNKNOWN_KEY');
  t.same(all.map((i) => i.key).sort(), Object.keys(want).sort(), 'every unknown key reported');
  for (const i of all) {
    const [needle, re] = want[i.key]!;
    t.match(i.message, re, i.key);
    t.equal(i.line, lineOf(text, needle), `${i.key} at its line`);
  }
  const py = issues('SWITCHBOARD:\n  UPSTREAMS: {Python: "http://127.0.0.1:8080"}\n');
  t.match(py[0]?.message, /SWITCHBOARD\.UPSTREAMS\.Python \(did you mean python\?\)/, 'lower-case keys are suggested as written');
});

t.test('knownKeys walks optional, default and union wrappers', async (t) => {
  t.ok(knownKeys(switchboardSectionSchema, []).includes('UPSTREAMS'));
  t.same(knownKeys(switchboardSectionSchema, ['DASHBOARD']), ['ADMIN_TOKEN_FILE', 'USERS_FILE', 'SESSION_HOURS']);
  t.same(knownKeys(switchboardSectionSchema, ['UPSTREAMS']), ['python', 'go']);
  t.same(knownKeys(switchboardSectionSchema, ['TLS']), ['CERT_FILE', 'KEY_FILE'], 'the object branch of a union');
  t.same(knownKeys(switchboardSectionSchema, ['LISTEN']), [], 'no object there');
  t.same(knownKeys(switchboardSectionSchema, ['NOPE', 'DEEPER']), []);
});

t.test('the running provider keeps the last good snapshot when a reload brings a near miss', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swb-typos-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'MIGRATION:\n  ROUTE_OWNER_CAP_V2_PULL: go\n');
  const p = await FileSnapshotProvider.start({ file, inventory: inv, watch: false, pollSeconds: 15 });
  t.teardown(() => p.close());
  const good = p.current();
  writeFileSync(file, 'MIGRATION:\n  ROUTE_OWNER_CAP_V2_PULL: go\nMigration:\n  ROUTE_OWNER_CAP_V2_PUSH: go\n');
  t.equal(await p.reload('test'), 'failed', 'the reload is refused');
  t.equal(p.current(), good, 'the last good snapshot stays in force');
  t.same(
    p.stats().last_error?.issues.map((i) => [i.code, i.key, i.line]),
    [['SWB_CONFIG_UNKNOWN_KEY', 'Migration', 3]],
  );
  t.match(p.stats().last_error?.issues[0]?.message, /did you mean MIGRATION\?/);
});
