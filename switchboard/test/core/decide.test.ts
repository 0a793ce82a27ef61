// decide(snapshot, request) — DESIGN §3 — driven by the table in
// switchboard/test/fixtures/decide-cases.yaml, plus the properties a table
// cannot show: the trace's shape, percent stickiness over many subjects, and
// worker decisions. Snapshots are built the way the proxy builds them:
// parseConfig (or envOnlyConfig) → buildSnapshot, or hardFailureSnapshot.

import t from 'tap';
import type { Test } from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify } from 'yaml';

import { loadInventory } from '../../../owner-maps/index.js';
import { envOnlyConfig, parseConfig, type ConfigResult, type Env } from '../../config/parse.js';
import { buildSnapshot, hardFailureSnapshot, type Snapshot } from '../../core/snapshot.js';
import { decide, decideWorker } from '../../core/decide.js';
import type { Decision, DecisionRequest, Owner, TraceEntry } from '../../core/types.js';

const inv = loadInventory();

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}

/** An unsigned JWT (alg none): decide() decodes it for routing only. */
function unsignedJwt(claims: Record<string, unknown>): string {
  return `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}.`;
}

function configText(config: unknown): string {
  if (typeof config === 'string') return config;
  return stringify({ MIGRATION: config ?? {} });
}

function unwrap(r: ConfigResult, what: string): NonNullable<Extract<ConfigResult, { ok: true }>['config']> {
  if (!r.ok) throw new Error(`${what}: config rejected: ${JSON.stringify(r.issues)}`);
  return r.config;
}

function snapshotFor(config: unknown, env: Env = {}, version = 1): Snapshot {
  const cfg = unwrap(parseConfig(configText(config), 'config.yaml', inv, env), 'snapshotFor');
  return buildSnapshot(inv, cfg, version, new Date(0));
}

interface CaseRequest {
  method: string;
  path: string;
  user?: string;
  authorization?: string;
  basic?: string;
  jwt_sub?: string;
  clientAddress?: string;
  uploadPin?: Owner;
}

interface Case {
  name: string;
  config?: unknown;
  env?: Record<string, string>;
  no_file?: boolean;
  hard_failure?: boolean;
  request: CaseRequest;
  expect: {
    owner: Owner;
    reason: string;
    route_id?: string | null;
    capability?: string | null;
    family?: string | null;
    canary_selected_by?: string | null;
    slash_redirect?: boolean;
  };
}

function toRequest(r: CaseRequest): DecisionRequest {
  let authorization = r.authorization;
  if (r.basic !== undefined) authorization = `Basic ${Buffer.from(r.basic, 'utf8').toString('base64')}`;
  if (r.jwt_sub !== undefined) authorization = `Bearer ${unsignedJwt({ sub: r.jwt_sub, iss: 'quay', aud: 'registry.example.com' })}`;
  return {
    method: r.method,
    path: r.path,
    authorization,
    user: r.user,
    clientAddress: r.clientAddress,
    uploadPin: r.uploadPin,
    explain: true,
  };
}

function snapshotForCase(c: Case): Snapshot {
  if (c.hard_failure) return hardFailureSnapshot(inv, 'config.yaml', 1, new Date(0));
  if (c.no_file) return buildSnapshot(inv, unwrap(envOnlyConfig(inv, c.env ?? {}), c.name), 1, new Date(0));
  return snapshotFor(c.config, c.env ?? {});
}

const SWITCH_LEVELS = ['route', 'capability', 'family', 'default'];

/**
 * The trace contract: the kill switch first; then (unless an upload pin won)
 * the switch levels in order route → capability → family → default (only
 * those that exist for the request), exactly one of them won; a canary
 * settlement last when a level said canary.
 */
function checkTrace(t: Test, d: Decision, label: string): void {
  const tr = d.trace;
  const kill = tr[0];
  t.equal(kill?.level, 'kill_switch', `${label}: trace starts with the kill switch`);
  t.equal(kill?.won, d.reason === 'force_python', `${label}: kill switch won iff reason is force_python`);
  const levels = tr.filter((e) => SWITCH_LEVELS.includes(e.level));
  const expectedLevels = d.route_id !== null ? SWITCH_LEVELS : d.family !== null ? ['family', 'default'] : ['default'];
  t.same(
    levels.map((e) => e.level),
    expectedLevels,
    `${label}: levels in order`,
  );
  const levelKeys = levels.map((e) => e.key);
  if (d.route_id !== null) {
    t.same(
      levelKeys,
      [`ROUTE_OWNER_ROUTE_${d.route_id.slice(6)}`, `ROUTE_OWNER_CAP_${d.capability}`, `ROUTE_OWNER_FAMILY_${d.family}`, 'ROUTE_OWNER_DEFAULT'],
      `${label}: level keys name the switches`,
    );
  }
  const won = levels.filter((e) => e.won);
  // Exactly one of {kill switch, upload pin, switch levels} won.
  const deciders = tr.filter((e) => e.won && e.level !== 'canary');
  t.equal(deciders.length, 1, `${label}: exactly one winner among kill switch, pin and switch levels`);
  if (d.reason === 'force_python') {
    t.equal(won.length, 0, `${label}: no switch level won over the kill switch`);
  } else if (d.reason === 'upload_pin') {
    t.equal(won.length, 0, `${label}: no switch level won over the pin`);
    t.same(
      tr.filter((e) => e.level === 'upload_pin').map((e) => [e.won, e.value]),
      [[true, d.owner]],
      `${label}: one winning pin entry`,
    );
  } else {
    t.equal(won.length, 1, `${label}: exactly one switch level won`);
    const w = won[0]!;
    t.ok(w.value !== null, `${label}: the winning level has a value`);
    const firstSet = levels.find((e) => e.value !== null);
    t.equal(w, firstSet, `${label}: the winner is the first level that is set`);
    t.notOk(
      tr.some((e) => e.level === 'upload_pin'),
      `${label}: no pin entry`,
    );
  }
  const canaryEntries = tr.filter((e) => e.level === 'canary');
  if (d.canary !== null) {
    t.equal(tr[tr.length - 1]?.level, 'canary', `${label}: canary settlement last`);
    t.equal(canaryEntries.length, 1);
    t.equal(canaryEntries[0]?.value, d.owner, `${label}: canary entry names the owner`);
    const entry = canaryEntries[0];
    t.same(
      entry && entry.level === 'canary' ? { key: entry.key, selected_by: entry.selected_by, won: entry.won } : null,
      { key: d.canary.scope, selected_by: d.canary.selected_by, won: true },
      `${label}: canary entry names the scope and the selector`,
    );
    t.equal(won[0]?.value, 'canary', `${label}: the winning level said canary`);
    t.same(
      d.canary.checks.map((c) => c.selector),
      ['orgs', 'repos', 'users', 'percent'],
      `${label}: canary checks in order`,
    );
    t.equal(d.canary.selected_by, d.canary.checks.find((c) => c.matched)?.selector ?? null, `${label}: selected_by is the first matching check`);
  } else {
    t.equal(canaryEntries.length, 0, `${label}: no canary entry`);
  }
}

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

const fixturePath = fileURLToPath(new URL('../fixtures/decide-cases.yaml', import.meta.url));
const fixture = parseYaml(readFileSync(fixturePath, 'utf8')) as { cases: Case[] };

let canaryFixtures = 0;

t.test('fixture table', async (t) => {
  t.ok(fixture.cases.length >= 80, `${fixture.cases.length} cases`);
  t.equal(new Set(fixture.cases.map((c) => c.name)).size, fixture.cases.length, 'case names are unique');
  const reasons = new Set(fixture.cases.map((c) => c.expect.reason));
  for (const r of [
    'force_python',
    'hard_failure',
    'upload_pin',
    'route_switch',
    'capability_switch',
    'family_switch',
    'global_default',
    'unknown_route',
    'canary_org',
    'canary_repo',
    'canary_user',
    'canary_percent',
    'canary_miss',
  ]) {
    t.ok(reasons.has(r), `some case expects reason ${r}`);
  }
  for (const c of fixture.cases) {
    t.test(c.name, async (t) => {
      const s = snapshotForCase(c);
      const d = decide(s, toRequest(c.request));
      const want = c.expect;
      const got: Record<string, unknown> = { owner: d.owner, reason: d.reason };
      const exp: Record<string, unknown> = { owner: want.owner, reason: want.reason };
      for (const k of ['route_id', 'capability', 'family'] as const) {
        if (k in want) {
          got[k] = d[k];
          exp[k] = want[k];
        }
      }
      if ('canary_selected_by' in want) {
        got.canary_selected_by = d.canary?.selected_by ?? null;
        exp.canary_selected_by = want.canary_selected_by;
      }
      if ('slash_redirect' in want) {
        got.slash_redirect = d.slash_redirect;
        exp.slash_redirect = want.slash_redirect;
      }
      t.same(got, exp, 'decision');
      t.equal(d.snapshot_version, 1, 'names its snapshot');
      checkTrace(t, d, c.name);
      t.same(decide(s, toRequest(c.request)), d, 'pure: same snapshot and request, same decision');
      // The proxy's fast path (no explanation) decides exactly the same.
      const fast = decide(s, { ...toRequest(c.request), explain: false });
      t.same([fast.owner, fast.reason, fast.trace, fast.route_id], [d.owner, d.reason, d.trace, d.route_id], 'explain off: same owner, reason and trace');
      t.same([fast.params, fast.slash_redirect, fast.capability, fast.family], [d.params, d.slash_redirect, d.capability, d.family], 'explain off: same match');
      t.equal(fast.canary, null, 'explain off: no canary explanation');
      const { explain: _explain, ...unset } = toRequest(c.request);
      const dflt = decide(s, unset);
      t.same([dflt.owner, dflt.reason, dflt.trace, dflt.canary], [d.owner, d.reason, d.trace, null], 'explain unset: same as explain off');
      if (d.canary !== null || fast.trace.some((e) => e.level === 'canary')) {
        canaryFixtures++;
        t.not(d.canary, null, 'explain on: the canary is explained');
        const last = fast.trace[fast.trace.length - 1];
        t.same(
          last && last.level === 'canary' ? [last.key, last.value, last.selected_by] : null,
          [d.canary?.scope, fast.owner, d.canary?.selected_by ?? null],
          'explain off: the trace still ends with the canary entry (scope, owner, selector)',
        );
      }
    });
  }
});

t.test('every canary fixture was compared with and without explain', async (t) => {
  const canaryReasons = new Set(['canary_org', 'canary_repo', 'canary_user', 'canary_percent', 'canary_miss']);
  const expected = fixture.cases.filter((c) => canaryReasons.has(c.expect.reason)).length;
  t.ok(expected >= 40, `${expected} fixtures decide by canary`);
  t.equal(canaryFixtures, expected, 'each of them checked owner, reason and trace equal with explain on and off');
});

// ---------------------------------------------------------------------------
// Trace and decision details
// ---------------------------------------------------------------------------

t.test('trace entries say what each level said and where it came from', async (t) => {
  const text = [
    'SERVER_HOSTNAME: registry.example.com', // 1
    'MIGRATION:', // 2
    '  ROUTE_OWNER_DEFAULT: python', // 3
    '  ROUTE_OWNER_CAP_V2_PULL: go', // 4
    '  ROUTE_OWNER_FAMILY_REGISTRY_V2: python', // 5
    '',
  ].join('\n');
  const cfg = unwrap(parseConfig(text, '/etc/quay/config.yaml', inv, { ROUTE_OWNER_FAMILY_REGISTRY_V2: 'go' }), 'trace');
  const s = buildSnapshot(inv, cfg, 7, new Date(0));
  const d = decide(s, { method: 'GET', path: '/v2/acme/app/manifests/latest' });
  t.equal(d.owner, 'go');
  t.equal(d.reason, 'capability_switch');
  t.equal(d.snapshot_version, 7);
  const strip = (e: TraceEntry) => ({ level: e.level, key: e.key, value: e.value, won: e.won, origin: 'origin' in e ? e.origin : undefined });
  t.same(d.trace.map(strip), [
    { level: 'kill_switch', key: 'MIGRATION_FORCE_PYTHON', value: false, won: false, origin: { source: 'default' } },
    { level: 'route', key: 'ROUTE_OWNER_ROUTE_0016', value: null, won: false, origin: null },
    { level: 'capability', key: 'ROUTE_OWNER_CAP_V2_PULL', value: 'go', won: true, origin: { source: 'file', file: '/etc/quay/config.yaml', line: 4 } },
    { level: 'family', key: 'ROUTE_OWNER_FAMILY_REGISTRY_V2', value: 'go', won: false, origin: { source: 'env', name: 'ROUTE_OWNER_FAMILY_REGISTRY_V2' } },
    { level: 'default', key: 'ROUTE_OWNER_DEFAULT', value: 'python', won: false, origin: { source: 'file', file: '/etc/quay/config.yaml', line: 3 } },
  ]);
  t.same(d.params, { repository: 'acme/app', manifest_ref: 'latest' }, 'params are exposed');
  t.equal(d.slash_redirect, false);

  const unset = decide(snapshotFor({}), { method: 'GET', path: '/v2/' });
  const def = unset.trace.find((e) => e.level === 'default');
  t.same(
    def && { value: def.value, won: def.won, origin: 'origin' in def ? def.origin : null },
    { value: 'python', won: true, origin: { source: 'default' } },
    'an unset default says python, from the built-in default',
  );

  const slash = decide(snapshotFor({}), { method: 'GET', path: '/api/v1/user' });
  t.same([slash.route_id, slash.slash_redirect], ['ROUTE_0294', true], 'slash redirect is reported');
});

t.test('kill switch trace: only the kill switch won; the levels still show what they say', async (t) => {
  const s = snapshotFor({ ROUTE_OWNER_CAP_V2_PULL: 'go' }, { MIGRATION_FORCE_PYTHON: 'yes' });
  const d = decide(s, { method: 'GET', path: '/v2/acme/app/manifests/latest' });
  t.same([d.owner, d.reason], ['python', 'force_python']);
  const kill = d.trace[0]!;
  t.same(
    { value: kill.value, won: kill.won, origin: 'origin' in kill ? kill.origin : null },
    { value: true, won: true, origin: { source: 'env', name: 'MIGRATION_FORCE_PYTHON' } },
  );
  t.same(
    d.trace.slice(1).map((e) => [e.level, e.value, e.won]),
    [
      ['route', null, false],
      ['capability', 'go', false],
      ['family', null, false],
      ['default', null, false],
    ],
  );
  t.equal(d.canary, null);
});

t.test('upload pin trace', async (t) => {
  const s = snapshotFor({ ROUTE_OWNER_CAP_V2_UPLOAD: 'python' });
  const uuid = 'f47ac10b-58cc-4372-a567-0e02b2c3d479';
  const d = decide(s, { method: 'PATCH', path: `/v2/acme/app/blobs/uploads/${uuid}`, uploadPin: 'go' });
  t.same([d.owner, d.reason], ['go', 'upload_pin']);
  t.same(
    d.trace.map((e) => e.level),
    ['kill_switch', 'upload_pin', 'route', 'capability', 'family', 'default'],
  );
  const pin = d.trace[1]!;
  t.same({ key: pin.key, value: pin.value, won: pin.won }, { key: uuid, value: 'go', won: true }, 'the pin entry names the upload');
  t.equal(d.params.upload_uuid, uuid);
});

t.test('canary outcome details', async (t) => {
  const s = snapshotFor({
    ROUTE_OWNER_CAP_V2_PULL: 'canary',
    ROUTE_CANARY_ORGS: ['beta'],
    ROUTE_CANARY_CAP_V2_PULL_REPOS: ['acme/other'],
    ROUTE_CANARY_USERS: ['carol'],
    ROUTE_CANARY_CAP_V2_PULL_PERCENT: 25,
    ROUTE_CANARY_PERCENT: 1,
  });
  const d = decide(s, { method: 'GET', path: '/v2/acme/app/manifests/latest', authorization: `Bearer ${unsignedJwt({ sub: 'alice' })}`, explain: true });
  t.same([d.owner, d.reason], ['python', 'canary_miss']);
  t.equal(d.canary?.scope, 'CAP_V2_PULL');
  const checks = d.canary?.checks ?? [];
  t.same(
    checks.map((c) => [c.selector, c.key, c.value, c.subject, c.matched]),
    [
      ['orgs', 'ROUTE_CANARY_ORGS', ['beta'], 'acme', false],
      ['repos', 'ROUTE_CANARY_CAP_V2_PULL_REPOS', ['acme/other'], 'acme/app', false],
      ['users', 'ROUTE_CANARY_USERS', ['carol'], 'alice', false],
      ['percent', 'ROUTE_CANARY_CAP_V2_PULL_PERCENT', 25, 'acme', false],
    ],
    'each check names the key that supplied it (scoped beats global) and what it compared',
  );
  const pct = checks[3]!;
  t.equal(pct.subject_kind, 'namespace');
  t.ok(typeof pct.bucket === 'number' && pct.bucket >= 70 && pct.bucket < 70.1, `acme's bucket is 70.0x (got ${pct.bucket})`);
  const entry = d.trace[d.trace.length - 1]!;
  t.same({ level: entry.level, key: entry.key, value: entry.value, won: entry.won }, { level: 'canary', key: 'CAP_V2_PULL', value: 'python', won: true });

  const byUser = decide(snapshotFor({ ROUTE_OWNER_ROUTE_0294: 'canary', ROUTE_CANARY_PERCENT: 50 }), {
    method: 'GET',
    path: '/api/v1/user/',
    user: 'alice',
    clientAddress: '10.0.0.1',
    explain: true,
  });
  const p2 = byUser.canary?.checks[3];
  t.same([p2?.subject, p2?.subject_kind], ['alice', 'user'], 'no namespace: the user is the subject');
  const byClient = decide(snapshotFor({ ROUTE_OWNER_ROUTE_0294: 'canary', ROUTE_CANARY_PERCENT: 50 }), {
    method: 'GET',
    path: '/api/v1/user/',
    clientAddress: '10.0.0.1',
    explain: true,
  });
  t.same([byClient.canary?.checks[3]?.subject, byClient.canary?.checks[3]?.subject_kind], ['10.0.0.1', 'client']);
  const nobody = decide(snapshotFor({ ROUTE_OWNER_ROUTE_0294: 'canary', ROUTE_CANARY_PERCENT: 50 }), { method: 'GET', path: '/api/v1/user/', explain: true });
  t.same([nobody.canary?.checks[3]?.subject, nobody.canary?.checks[3]?.bucket, nobody.owner], [null, null, 'python'], 'no subject at all: not selected below 100');
});

t.test('the canary explanation is built only when the request asks for it', async (t) => {
  const s = snapshotFor({ ROUTE_OWNER_CAP_V2_PULL: 'canary', ROUTE_CANARY_ORGS: ['acme'], ROUTE_CANARY_PERCENT: 5 });
  for (const path of ['/v2/acme/app/manifests/latest', '/v2/beta/app/manifests/latest', '/v2/zeta/app/manifests/latest']) {
    const on = decide(s, { method: 'GET', path, explain: true });
    const off = decide(s, { method: 'GET', path, explain: false });
    const unset = decide(s, { method: 'GET', path });
    t.not(on.canary, null, `${path}: explain true → canary explained`);
    t.equal(off.canary, null, `${path}: explain false → canary null`);
    t.equal(unset.canary, null, `${path}: explain unset → canary null`);
    t.same([off.owner, off.reason, off.trace], [on.owner, on.reason, on.trace], `${path}: same owner, reason and trace`);
    t.same([unset.owner, unset.reason, unset.trace], [on.owner, on.reason, on.trace]);
    const last = off.trace[off.trace.length - 1]!;
    t.same(
      last.level === 'canary' ? { level: last.level, key: last.key, value: last.value, selected_by: last.selected_by, won: last.won } : last,
      { level: 'canary', key: 'CAP_V2_PULL', value: on.owner, selected_by: on.canary?.selected_by ?? null, won: true },
      `${path}: the trace ends with the canary entry`,
    );
  }
  t.same(
    ['/v2/acme/app/manifests/latest', '/v2/beta/app/manifests/latest', '/v2/zeta/app/manifests/latest'].map((path) => decide(s, { method: 'GET', path }).reason),
    ['canary_org', 'canary_percent', 'canary_miss'],
  );
  // explain on a decision no canary settles changes nothing.
  const plain = snapshotFor({ ROUTE_OWNER_CAP_V2_PULL: 'go' });
  t.same(
    decide(plain, { method: 'GET', path: '/v2/acme/app/manifests/latest', explain: true }),
    decide(plain, { method: 'GET', path: '/v2/acme/app/manifests/latest' }),
    'not a canary: explain adds nothing',
  );
});

t.test('the Authorization header is decoded only when a users list is set or the percent subject has no namespace', async (t) => {
  const jwt = `Bearer ${unsignedJwt({ sub: 'alice' })}`;
  /** A request whose Authorization header counts how often decide() reads it. */
  function counted(method: string, path: string, extra: Partial<DecisionRequest> = {}): { req: DecisionRequest; reads: () => number } {
    let n = 0;
    const req = { method, path, ...extra } as DecisionRequest;
    Object.defineProperty(req, 'authorization', {
      enumerable: true,
      get: () => {
        n++;
        return jwt;
      },
    });
    return { req, reads: () => n };
  }
  const cases: [string, Record<string, unknown>, string, boolean, Owner, string][] = [
    [
      'percent subject is the namespace, no users list',
      { ROUTE_OWNER_CAP_V2_PULL: 'canary', ROUTE_CANARY_PERCENT: 50 },
      '/v2/acme/app/manifests/latest',
      false,
      'python',
      'canary_miss',
    ],
    [
      'an org list and a namespace percent subject',
      { ROUTE_OWNER_CAP_V2_PULL: 'canary', ROUTE_CANARY_ORGS: ['beta'], ROUTE_CANARY_PERCENT: 5 },
      '/v2/beta/app/manifests/latest',
      false,
      'go',
      'canary_org',
    ],
    ['percent 100 needs no subject', { ROUTE_OWNER_ROUTE_0294: 'canary', ROUTE_CANARY_PERCENT: 100 }, '/api/v1/user/', false, 'go', 'canary_percent'],
    ['percent 0 needs no subject', { ROUTE_OWNER_ROUTE_0294: 'canary', ROUTE_CANARY_PERCENT: 0 }, '/api/v1/user/', false, 'python', 'canary_miss'],
    ['not a canary decision', { ROUTE_OWNER_CAP_V2_PULL: 'go' }, '/v2/acme/app/manifests/latest', false, 'go', 'capability_switch'],
    ['a users list is set', { ROUTE_OWNER_CAP_V2_PULL: 'canary', ROUTE_CANARY_USERS: ['alice'] }, '/v2/acme/app/manifests/latest', true, 'go', 'canary_user'],
    ['no namespace: the user is the percent subject (alice 11.17)', { ROUTE_OWNER_ROUTE_0294: 'canary', ROUTE_CANARY_PERCENT: 12 }, '/api/v1/user/', true, 'go', 'canary_percent'],
  ];
  for (const [name, config, path, decodes, owner, reason] of cases) {
    const s = snapshotFor(config);
    const { req, reads } = counted('GET', path);
    const d = decide(s, req);
    t.same([d.owner, d.reason], [owner, reason], `${name}: decision`);
    t.equal(reads() > 0, decodes, `${name}: Authorization ${decodes ? 'is' : 'is not'} read`);
    const { req: withUser, reads: userReads } = counted('GET', path, { user: 'alice' });
    decide(s, withUser);
    t.equal(userReads(), 0, `${name}: a known user means the header is never read`);
    // The explanation reports every selector's subject, so it decodes the header when a canary decides.
    const { req: explained, reads: explainReads } = counted('GET', path, { explain: true });
    const e = decide(s, explained);
    t.same([e.owner, e.reason, e.trace], [d.owner, d.reason, d.trace], `${name}: explain decides the same`);
    if (e.canary) t.equal(e.canary.checks[2]?.subject, 'alice', `${name}: explain names the user`);
    t.equal(
      explainReads() > 0,
      d.trace.some((x) => x.level === 'canary'),
      `${name}: explain reads the header iff a canary decides`,
    );
  }
});

// ---------------------------------------------------------------------------
// Percent: sticky, monotonic, about the right size
// ---------------------------------------------------------------------------

t.test('percent bucketing through decide is sticky and monotonic over 2,000 namespaces', async (t) => {
  const percents = [5, 10, 25, 50];
  const snaps = percents.map((p, i) => snapshotFor({ ROUTE_OWNER_CAP_V2_PULL: 'canary', ROUTE_CANARY_CAP_V2_PULL_PERCENT: p }, {}, i + 1));
  const namespaces = Array.from({ length: 2000 }, (_, i) => `ns-${i}`);
  const inAt = snaps.map(
    (s) =>
      new Set(
        namespaces.filter((ns) => {
          const d = decide(s, { method: 'GET', path: `/v2/${ns}/app/manifests/latest` });
          return d.owner === 'go';
        }),
      ),
  );
  let violations = 0;
  for (let i = 0; i < percents.length - 1; i++) {
    for (const ns of inAt[i]!) {
      if (!inAt[i + 1]!.has(ns)) {
        violations++;
        t.fail(`${ns} is go at ${percents[i]}% but not at ${percents[i + 1]}%`);
      }
    }
  }
  t.equal(violations, 0, 'go at p ⇒ go at every higher p');
  const [at5, at10, at25, at50] = inAt.map((s) => s.size) as [number, number, number, number];
  t.ok(at5 >= 60 && at5 <= 140, `5% of 2,000 is about 100 (got ${at5})`);
  t.ok(at10 >= 150 && at10 <= 250, `10% ≈ 200 (got ${at10})`);
  t.ok(at25 >= 420 && at25 <= 580, `25% ≈ 500 (got ${at25})`);
  t.ok(at50 >= 900 && at50 <= 1100, `50% ≈ 1000 (got ${at50})`);

  // Sticky: other routes of the namespace, other repositories in it, and a
  // rebuilt snapshot all give the same answer.
  const again = snapshotFor({ ROUTE_OWNER_CAP_V2_PULL: 'canary', ROUTE_CANARY_CAP_V2_PULL_PERCENT: 5 }, {}, 99);
  let unstable = 0;
  for (const ns of namespaces.slice(0, 500)) {
    const a = decide(again, { method: 'GET', path: `/v2/${ns}/other/manifests/v2` }).owner === 'go';
    const b = decide(again, { method: 'HEAD', path: `/v2/${ns}/x/y/blobs/sha256:${'ab'.repeat(32)}` }).owner === 'go';
    if (a !== inAt[0]!.has(ns) || b !== a) unstable++;
  }
  t.equal(unstable, 0, 'the namespace, not the repository or route, decides');
  t.same(decide(again, { method: 'GET', path: '/v2/ns-1/app/manifests/latest' }).reason, inAt[0]!.has('ns-1') ? 'canary_percent' : 'canary_miss');
});

// ---------------------------------------------------------------------------
// Workers and snapshots
// ---------------------------------------------------------------------------

t.test('decideWorker', async (t) => {
  const s = snapshotFor({ WORKER_OWNER_GCWORKER: 'go', WORKER_OWNER_BUILDER: 'python' }, {}, 3);
  const gc = decideWorker(s, 'gcworker');
  t.same(gc && { owner: gc.owner, reason: gc.reason, key: gc.key, version: gc.snapshot_version }, {
    owner: 'go',
    reason: 'worker_switch',
    key: 'WORKER_OWNER_GCWORKER',
    version: 3,
  });
  t.same(gc?.origin, { source: 'file', file: 'config.yaml', line: 2 });
  const builder = decideWorker(s, 'builder');
  t.same([builder?.owner, builder?.reason], ['python', 'worker_switch'], 'explicit python');
  const idle = decideWorker(s, 'securityworker');
  t.same([idle?.owner, idle?.reason, idle?.key], ['python', 'default', 'WORKER_OWNER_SECURITYWORKER'], 'unset: python by default');
  t.equal(decideWorker(s, 'no-such-program'), null, 'unknown program → null');
  t.equal(decideWorker(s, 'GCWORKER'), null, 'programs are named as in workers.tsv');
  const dashed = decideWorker(snapshotFor({ WORKER_OWNER_IP_RESOLVER_UPDATE_WORKER: 'go' }), 'ip-resolver-update-worker');
  t.equal(dashed?.owner, 'go', 'dashed program names');

  const killed = snapshotFor({ WORKER_OWNER_GCWORKER: 'go' }, { MIGRATION_FORCE_PYTHON: 'true' });
  t.same([decideWorker(killed, 'gcworker')?.owner, decideWorker(killed, 'gcworker')?.reason], ['python', 'force_python'], 'kill switch → python');
  const envOnly = buildSnapshot(inv, unwrap(envOnlyConfig(inv, { WORKER_OWNER_GCWORKER: 'go' }), 'env'), 1, new Date(0));
  t.same([decideWorker(envOnly, 'gcworker')?.owner, decideWorker(envOnly, 'gcworker')?.origin], ['go', { source: 'env', name: 'WORKER_OWNER_GCWORKER' }]);
  const hard = hardFailureSnapshot(inv, 'config.yaml', 1, new Date(0));
  t.same([decideWorker(hard, 'gcworker')?.owner, decideWorker(hard, 'gcworker')?.reason], ['python', 'hard_failure']);
  t.equal(decideWorker(hard, 'nope'), null);
  for (const w of inv.workers) {
    if (decideWorker(s, w.program) === null) t.fail(`${w.program} has no decision`);
  }
  t.pass('every inventory program has a decision');
});

t.test('snapshots', async (t) => {
  const s = snapshotFor({ ROUTE_OWNER_DEFAULT: 'go' }, {}, 42);
  t.equal(s.version, 42);
  t.equal(s.updated_at, '1970-01-01T00:00:00.000Z');
  t.equal(s.hard_failure, false);
  t.equal(s.source.file, 'config.yaml');
  t.match(s.source.digest, /^[0-9a-f]{64}$/);
  t.ok(Object.isFrozen(s) && Object.isFrozen(s.owner_map), 'frozen');
  const hard = hardFailureSnapshot(inv, '/etc/quay/config.yaml', 5, new Date(1000));
  t.same([hard.hard_failure, hard.version, hard.source.digest, hard.source.file, hard.updated_at], [true, 5, null, '/etc/quay/config.yaml', '1970-01-01T00:00:01.000Z']);
  t.equal(hard.settings.POLL_INTERVAL_SECONDS, 5, 'hard-failure settings are the defaults');
  // Every route decides under hard failure to python.
  let bad = 0;
  for (const r of inv.routes) {
    const d = decide(hard, { method: r.method, path: '/' + r.pattern.slice(1).replace(/\{[^}]+\}/g, 'x') });
    if (d.owner !== 'go' && d.reason === 'hard_failure') continue;
    bad++;
  }
  t.equal(bad, 0, 'hard failure: python for every row');
});

t.test('Basic credentials are read as nginx reads $remote_user', async (t) => {
  const { userFromAuthorization } = await import('../../core/subject.js');
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const cases: [string, string | null][] = [
    [`Basic ${b64('alice:pw')}`, 'alice'],
    [`basic   ${b64('alice:pw')}`, 'alice'],
    [`Basic ${b64('alice:pw')}=ignored!`, 'alice'],
    [`Basic ${b64('alice:pw:more')}`, 'alice'],
    [`Basic ${b64('alice')}`, null],
    [`Basic ${b64(':pw')}`, null],
    ['Basic YWxp Y2U6cHc=', null],
    ['Basic !YWxpY2U6cHc=', null],
    [`Basic ${b64('alice:pw').replace(/=+$/, '')}xy`, null], // length 1 mod 4
    ['Basic', null],
    ['Basic ', null],
    ['Basic ==', null],
  ];
  for (const [h, want] of cases) t.equal(userFromAuthorization(h), want, JSON.stringify(h));
});

t.test('canary lists decide alike whether short (scanned) or long (hashed), with explain on and off', async (t) => {
  // decide() scans lists of up to 8 entries and looks longer ones up in a Set;
  // the explanation (explain: true) always uses the Set. Both must agree.
  const filler = Array.from({ length: 12 }, (_, i) => `filler${i}`);
  const lists = { short: ['acme', 'library/ubuntu', 'alice'], long: [...filler, 'acme', 'library/ubuntu', 'alice'] };
  const requests: DecisionRequest[] = [
    { method: 'GET', path: '/v2/acme/app/manifests/latest' },
    { method: 'HEAD', path: '/v2/acme/team/app/blobs/sha256:' + 'ab'.repeat(32) },
    { method: 'GET', path: '/v2/ubuntu/manifests/22.04' },
    { method: 'GET', path: '/v2/library/ubuntu/manifests/22.04' },
    { method: 'GET', path: '/v2/acm/app/manifests/latest' },
    { method: 'GET', path: '/v2/acmee/app/manifests/latest' },
    { method: 'GET', path: '/v2/beta/app/manifests/latest', authorization: `Bearer ${unsignedJwt({ sub: 'alice' })}` },
    { method: 'GET', path: '/v2/beta/app/manifests/latest', user: 'alicia' },
    { method: 'GET', path: '/v2/beta/app/manifests/latest', user: 'alice' },
    { method: 'GET', path: '/api/v1/user/', user: 'alice' },
    { method: 'GET', path: '/api/v1/organization/acme' },
  ];
  for (const [size, list] of Object.entries(lists)) {
    for (const selector of ['ORGS', 'REPOS', 'USERS']) {
      const s = snapshotFor({ ROUTE_OWNER_DEFAULT: 'canary', [`ROUTE_CANARY_${selector}`]: list });
      for (const req of requests) {
        const on = decide(s, { ...req, explain: true });
        const off = decide(s, { ...req, explain: false });
        const label = `${size} ${selector} list, ${req.method} ${req.path} ${req.user ?? ''}`;
        t.same([off.owner, off.reason, off.trace], [on.owner, on.reason, on.trace], label);
      }
    }
  }
  const s = snapshotFor({ ROUTE_OWNER_DEFAULT: 'canary', ROUTE_CANARY_ORGS: lists.short, ROUTE_CANARY_REPOS: lists.long });
  t.same(
    requests.slice(0, 6).map((req) => decide(s, req).reason),
    ['canary_org', 'canary_org', 'canary_repo', 'canary_repo', 'canary_miss', 'canary_miss'],
    'short orgs list and long repos list: exact names only',
  );
});
