/**
 * The contract runner's comparison (noise cancelling, signed tokens by their
 * claims, key order, headers without hosts), its sequences (shipped ones
 * parse; a write step is refused), and the contract gate reading a result.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { loadInventory } from '../../../owner-maps/index.js';
import { differences, judge, normalizeHeader, redact, tooDeep, type Answer } from '../../contract/compare.js';
import { loadSequences, parseSequenceFile, shippedCapabilities, substitute } from '../../contract/sequence.js';
import { buildSnapshot } from '../../core/snapshot.js';
import { parseConfig } from '../../config/parse.js';
import { GateKeeper } from '../../control/gate-keeper.js';
import { contractFile } from '../../contract/result-file.js';
import { createLogger } from '../../../lib/log.js';

const json = (value: unknown, status = 200, headers: Record<string, string> = {}): Answer => ({ status, headers, body: { kind: 'json', value } });
const jwt = (header: object, claims: object): string =>
  `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

t.test('differences, noise and what is not a difference', async (t) => {
  t.same(differences(json({ a: 1, b: [1, 2] }), json({ a: 1, b: [1, 2] })), []);
  t.same(
    differences(json({ a: 1, b: [1, 2] }), json({ a: 2, b: [1] }, 404)).map((d) => d.where),
    ['status', 'body$.a', 'body$.b.length'],
  );
  t.same(
    differences(json({ a: 1, b: 2 }), json({ b: 2, a: 1 })).map((d) => d.where),
    ['body$(key order)'],
    "Quay's key order is part of its answer",
  );
  // A request id that changes between python's own answers is noise; a changed name is not.
  const py = json({ id: 'r-1', name: 'simple' });
  const py2 = json({ id: 'r-2', name: 'simple' });
  const j = judge(py, py2, json({ id: 'r-3', name: 'other' }));
  t.same(
    j.noise.map((d) => d.where),
    ['body$.id'],
  );
  t.same(
    j.regressions.map((d) => d.where),
    ['body$.name'],
  );
  // Tokens signed with another key in another second say the same thing.
  const a = jwt({ alg: 'RS256', kid: 'python-key', typ: 'JWT' }, { sub: 'devtable', access: [{ name: 'x/y', actions: ['pull'] }], iat: 100, nbf: 100, exp: 3700 });
  const b = jwt({ alg: 'RS256', kid: 'go-key', typ: 'JWT' }, { sub: 'devtable', access: [{ name: 'x/y', actions: ['pull'] }], iat: 101, nbf: 101, exp: 3701 });
  const c = jwt({ alg: 'RS256', kid: 'go-key', typ: 'JWT' }, { sub: 'devtable', access: [{ name: 'x/y', actions: ['pull', 'push'] }], iat: 101, nbf: 101, exp: 3701 });
  t.same(differences(json({ token: a }), json({ token: b })), []);
  t.same(
    differences(json({ token: a }), json({ token: c })).map((d) => d.where),
    ['body$.token.claims.access[0].actions.length'],
  );
  t.equal(normalizeHeader('www-authenticate', 'Bearer realm="https://quay.example:8443/v2/auth",service="quay"'), 'Bearer realm="/v2/auth",service="quay"');
  t.same(
    differences({ status: 200, headers: {}, body: { kind: 'bytes', sha256: 'aa', length: 2 } }, { status: 200, headers: {}, body: { kind: 'bytes', sha256: 'bb', length: 2 } }).map(
      (d) => d.where,
    ),
    ['body'],
  );
});

t.test('deep JSON is never walked; secrets and signed URLs are not kept', async (t) => {
  let deep: unknown = 1;
  for (let i = 0; i < 5000; i++) deep = { a: deep };
  t.ok(tooDeep(deep), 'found without recursion');
  t.notOk(tooDeep({ a: [{ b: 1 }] }));
  t.same(redact({ token: 'abcdef', robot: { password: 'pw' }, name: 'x', location: 'https://s3/blob?X-Amz-Signature=1' }), {
    token: '<redacted: 6 characters>',
    robot: { password: '<redacted: 2 characters>' },
    name: 'x',
    location: 'https://s3/blob?<query redacted>',
  });
});

t.test('sequences: the shipped ones parse and name real capabilities; writes are refused', async (t) => {
  const inv = loadInventory();
  const caps = shippedCapabilities();
  t.ok(caps.includes('V2_PULL') && caps.includes('API_REPOSITORY_READ'));
  for (const c of caps) {
    t.ok(inv.capabilities.includes(c), `${c} is a capability`);
    t.ok(loadSequences(c, null).length > 0);
  }
  t.throws(
    () => parseSequenceFile('capability: V2_PUSH\nsequences:\n  - name: push\n    steps:\n      - {method: PUT, path: /v2/x/manifests/y}\n', 'p.yaml'),
    /GET or HEAD: a contract never writes/,
  );
  t.same(substitute('/v2/{{REPO}}/manifests/{{TAG}}', { REPO: 'a/b' }), { text: '/v2/a/b/manifests/', missing: ['TAG'] });
});

t.test('the contract gate reads the last result from STATE_DIR', async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), 'swb-contract-gate-'));
  const inv = loadInventory();
  const r = parseConfig('', 'c.yaml', inv, {});
  const snap = buildSnapshot(inv, r.ok ? r.config : (null as never), 1, new Date());
  const keeper = new GateKeeper({
    registry: new Registry(),
    provider: { current: () => snap, reload: async () => undefined },
    inventory: inv,
    file: 'c.yaml',
    stateDir,
    log: createLogger({ component: 't' }, { level: 'error' }),
  });
  t.equal(keeper.checklist('V2_PULL').gates.find((g) => g.gate === 'contract')!.status, 'none');
  mkdirSync(join(stateDir, 'contracts'), { recursive: true });
  writeFileSync(contractFile(stateDir, 'V2_PULL'), JSON.stringify({ at: Date.now() - 5000, passed: false, sequences: 4, requests: 60, differences: 2, noise: 1 }));
  const line = keeper.checklist('V2_PULL').gates.find((g) => g.gate === 'contract')!;
  t.equal(line.status, 'fail');
  t.match(line.evidence, /4 sequences, 60 requests: 2 differences, 1 noise/);
  t.ok(line.age_seconds! >= 5);
  t.same(keeper.checklist('V2_PULL').blocking, ['contract']);
});
