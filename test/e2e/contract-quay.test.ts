/**
 * `switchboard contract run` with real Quay (../shared/quay-python) as python
 * and the TS runtime (`quay serve` on Quay's own config and database) as go:
 * the shipped sequences of the /v2 and API capabilities go claims pass as
 * anonymous, devtable (Basic, for registry tokens) and an OAuth token; the
 * registry token of V2_AUTH differs between Quay's own two answers and is
 * reported as noise; the result feeds the `contract` gate. A capability
 * whose go answer is made to differ (a go owner that is not the TS side)
 * fails with the difference named.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { ROOT, tempDir } from '../lib/proc.js';
import { buildSwitchboard, childEnv } from '../lib/switchboard.js';
import { startQuayPython, startQuayServe } from '../lib/quay-python.js';
import { insertOAuthToken } from '../lib/api-contract.js';

t.setTimeout(600_000);
await buildSwitchboard();

const dir = tempDir(t, 'swb-contract-');
const quay = await startQuayPython(t);
const ts = await startQuayServe(t, { configFile: quay.configFile, dataDir: join(dir, 'ts-data'), what: "quay serve on Quay's database" });
const host = `127.0.0.1:${quay.port}`;
const token = await insertOAuthToken(quay.database, 'devtable', 'repo:admin repo:read user:read org:admin');
writeFileSync(
  join(dir, 'identities.yaml'),
  YAML.stringify({ anonymous: {}, devtable: { username: 'devtable', password_env: 'DEVTABLE_PASSWORD' }, oauth: { bearer_env: 'OAUTH_TOKEN' } }),
);
const config = (go: string): string =>
  YAML.stringify({
    SWITCHBOARD: {
      UPSTREAMS: { python: quay.url, go },
      STATE_DIR: 'state',
      CONTRACT: {
        IDENTITIES_FILE: 'identities.yaml',
        HOST: host,
        VARS: { REPO: 'devtable/simple', TAG: 'latest', NAMESPACE: 'devtable', ORG: 'buynlarge', USER: 'devtable', TEAM: 'owners' },
      },
    },
  });
writeFileSync(join(dir, 'config.yaml'), config(`http://127.0.0.1:${ts.port}`));

/** The CLI, run without blocking this process (the last test's go owner is a server in it). */
function contract(args: string[]): Promise<{ status: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/switchboard.js', 'contract', ...args, '--config', join(dir, 'config.yaml')], {
      cwd: ROOT,
      env: childEnv({ DEVTABLE_PASSWORD: 'password', OAUTH_TOKEN: token }),
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (status) => resolve({ status, out, err }));
  });
}

const CAPS = [
  'V2_BASE',
  'V2_AUTH',
  'V2_PULL',
  'V2_TAGS',
  'V2_CATALOG',
  'V2_REFERRERS',
  'V2_UPLOAD',
  'API_REPOSITORY_READ',
  'API_TAG_READ',
  'API_MANIFEST_READ',
  'API_ORG_READ',
  'API_USER_READ',
];

for (const cap of CAPS) {
  t.test(`${cap}: go answers as Quay does`, async (t) => {
    const r = await contract(['run', cap, '--json']);
    const res = JSON.parse(r.out || '{}');
    const shown = (res.findings ?? []).filter((f: { regressions: unknown[] }) => f.regressions.length).slice(0, 5);
    t.equal(r.status, 0, `${cap}: ${JSON.stringify(shown).slice(0, 3000)}\n${r.err.slice(-2000)}`);
    t.equal(res.passed, true);
    t.ok(res.requests > 0 && res.sequences > 0);
    // A step that captures from an answer the identity may not have (anonymous on a private repository) ends its sequence.
    // The identity that may read REPO runs every sequence to its end: devtable's Basic credentials on /v2 (its
    // registry token), the OAuth token on /api/v1 (Quay's API takes no Basic). initdb's devtable/simple is a
    // schema 1 image: no config blob to capture.
    const reader = cap.startsWith('API_') ? 'oauth' : 'devtable';
    t.same(
      res.skipped.filter((k: { identity: string; missing: string[] }) => k.identity === reader && k.missing.join() !== 'CONFIG'),
      [],
      `${reader}, who may read REPO, runs every sequence to its end`,
    );
    t.same(res.identities, ['anonymous', 'devtable', 'oauth']);
    const saved = JSON.parse(readFileSync(join(dir, 'state', 'contracts', `${cap}.json`), 'utf8'));
    t.equal(saved.passed, true, 'kept in STATE_DIR for the contract gate');
  });
}

t.test('V2_AUTH: tokens signed with different keys compare by their claims', async (t) => {
  const res = JSON.parse(readFileSync(join(dir, 'state', 'contracts', 'V2_AUTH.json'), 'utf8'));
  t.equal(res.passed, true);
  t.notOk(
    res.findings.some((f: { regressions: { where: string }[] }) => f.regressions.some((d) => d.where.startsWith('body$.token'))),
    "the go side's token (its own kid and signature) says what Quay's says",
  );
});

t.test('a go that answers differently fails, naming the difference; list shows it', async (t) => {
  // A go owner that is not the TS side: every request gets the same 401 of its own.
  const http = await import('node:http');
  const server = http.createServer((req, res) => {
    req.resume();
    const body = JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'not quay' }] });
    res.writeHead(401, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  writeFileSync(join(dir, 'config.yaml'), config(`http://127.0.0.1:${(server.address() as { port: number }).port}`));
  const r = await contract(['run', 'V2_BASE']);
  t.equal(r.status, 1, r.err);
  t.match(r.out, /V2_BASE: FAIL — 3 sequences, \d+ requests, [1-9]\d* differences?/);
  t.match(r.out, /devtable {2}GET \/v2\/ {2}(status|header:www-authenticate|body)/);
  const list = await contract(['list']);
  t.match(list.out, /V2_BASE\s+1\s+\S+\s+FAIL/);
  t.match(list.out, /V2_PULL\s+4\s+\S+\s+pass/);
  writeFileSync(join(dir, 'config.yaml'), config(`http://127.0.0.1:${ts.port}`));
});
