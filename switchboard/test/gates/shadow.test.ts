/**
 * Shadow traffic in a real `switchboard serve`: with ROUTE_SHADOW_CAP_V2_TAGS
 * at 100 %, python-owned tag lists are also sent to go and compared. Equal
 * answers make no diff; a deliberately changed one does (kept with both
 * answers, counted by kind); the client's answer never waits for the shadow
 * (go holds its shadow answer until the client has its own); over the
 * in-flight budget shadow requests are dropped and counted; blobs are
 * compared by digest; the shadow gate reads the rate.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOnce, configYaml, request, startServe, startUpstreams, tempDir, waitFor, writeAtomic } from '../proxy/lib/harness.js';

t.before(async () => {
  await buildOnce();
});

const TOKEN = 'shadow-admin-token-0123456789';
const BLOB = Buffer.alloc(256 * 1024, 7);
const digest = `sha256:${createHash('sha256').update(BLOB).digest('hex')}`;

t.test('shadow comparisons: equal, changed, never in the way, within budget', async (t) => {
  const up = await startUpstreams(t);
  /** go's shadow answers wait for this (released once the client has its answer). */
  let release: () => void = () => {};
  let held = new Promise<void>((r) => (release = r));
  let goSeen = 0;
  const answer = (owner: 'python' | 'go') => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    req.resume();
    req.on('end', () => {
      void (async () => {
        const url = req.url ?? '';
        if (owner === 'go') {
          goSeen++;
          if (url.includes('/held/')) await held;
        }
        if (url.includes('/blobs/')) {
          const body = owner === 'go' && url.includes('/changed/') ? Buffer.alloc(BLOB.length, 8) : BLOB;
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'docker-content-digest': digest, 'content-length': body.length });
          res.end(body);
          return;
        }
        const repo = url.split('/').slice(2, 4).join('/');
        const tags = owner === 'go' && url.includes('/changed/') ? ['a'] : ['a', 'b'];
        const body = JSON.stringify({ name: repo, tags });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      })();
    });
  };
  up.python.handler = answer('python');
  up.go.handler = answer('go');
  const dir = tempDir(t, 'swb-shadow-');
  const file = join(dir, 'config.yaml');
  writeFileSync(join(dir, 'admin-token'), `${TOKEN}\n`);
  writeAtomic(
    file,
    configYaml({
      upstreams: up,
      migration: { ROUTE_SHADOW_CAP_V2_TAGS: 100, ROUTE_SHADOW_CAP_V2_PULL: 100 },
      settings: {
        LISTEN: '127.0.0.1:0',
        ADMIN_LISTEN: '127.0.0.1:0',
        ACCESS_LOG: 'off',
        DASHBOARD: { ADMIN_TOKEN_FILE: join(dir, 'admin-token') },
        SHADOW: { MAX_IN_FLIGHT: 1, MAX_PER_SECOND: 1000 },
      },
    }),
  );
  const sb = await startServe(t, file);
  const metrics = async (): Promise<string> => (await request(sb.adminPort, { path: '/metrics' })).text();
  const count = async (re: RegExp): Promise<number> => Number(re.exec(await metrics())?.[1] ?? 0);

  // Equal answers: compared, no diff.
  for (let i = 0; i < 5; i++) t.same((await request(sb.port, { path: `/v2/acme/same${i}/tags/list` })).json(), { name: `acme/same${i}`, tags: ['a', 'b'] });
  t.ok(await waitFor(async () => (await count(/switchboard_shadow_requests_total\{capability="V2_TAGS",outcome="compared"\} (\d+)/)) === 5, 10_000, 50), 'five compared');
  t.equal(await count(/switchboard_shadow_diffs_total\{capability="V2_TAGS",kind="body"\} (\d+)/), 0, 'no diff for equal answers');

  // A changed answer: the client gets python's; the diff is kept with both answers.
  t.same((await request(sb.port, { path: '/v2/acme/changed/tags/list' })).json().tags, ['a', 'b'], "the client gets its owner's answer");
  t.ok(await waitFor(async () => (await count(/switchboard_shadow_diffs_total\{capability="V2_TAGS",kind="body"\} (\d+)/)) === 1, 10_000, 50), 'one body diff');
  const auth = { authorization: `Bearer ${TOKEN}` };
  const shown = (await request(sb.adminPort, { path: '/control/v1/shadow/V2_TAGS', headers: auth })).json();
  t.match(shown.record, { compared: 6, diffs: 1 });
  t.equal(shown.diffs.length, 1);
  t.match(shown.diffs[0], { method: 'GET', path: '/v2/acme/changed/tags/list', owner: 'python', shadow_owner: 'go' });
  t.match(shown.diffs[0].differences[0], { where: 'body$.tags.length', python: 2, go: 1 });
  t.match(shown.diffs[0].answers, { owner: { status: 200, body: { kind: 'json' } }, shadow: { status: 200, body: { kind: 'json' } } }, 'answers kept as summaries, not whole');
  const gates = (await request(sb.adminPort, { path: '/control/v1/gates/V2_TAGS', headers: auth })).json();
  t.match(
    gates.gates.find((g: { gate: string }) => g.gate === 'shadow'),
    { status: 'fail', evidence: /1 of 6 differ/ },
  );

  // The client never waits for the shadow: go holds its shadow answer until the client has its own.
  const before = goSeen;
  const r = await request(sb.port, { path: '/v2/acme/held/tags/list' });
  t.equal(r.status, 200, 'answered while go still holds the shadow request');
  t.equal(goSeen, before + 1, 'go has the shadow request');
  // Over MAX_IN_FLIGHT (1, held): the next shadow is dropped, not queued.
  t.equal((await request(sb.port, { path: '/v2/acme/other/tags/list' })).status, 200);
  t.ok(await waitFor(async () => (await count(/switchboard_shadow_requests_total\{capability="V2_TAGS",outcome="dropped"\} (\d+)/)) >= 1, 10_000, 50), 'dropped under pressure');
  release();
  held = Promise.resolve();

  // Blobs (not buffered: compared by digest).
  t.equal((await request(sb.port, { path: `/v2/acme/same/blobs/${digest}` })).body.length, BLOB.length);
  t.ok(await waitFor(async () => (await count(/switchboard_shadow_requests_total\{capability="V2_PULL",outcome="compared"\} (\d+)/)) === 1, 10_000, 50));
  t.equal((await request(sb.port, { path: `/v2/acme/changed/blobs/${digest}` })).body.equals(BLOB), true, 'the client gets the true bytes');
  t.ok(
    await waitFor(async () => (await count(/switchboard_shadow_diffs_total\{capability="V2_PULL",kind="body"\} (\d+)/)) === 1, 10_000, 50),
    'the changed blob differs by digest',
  );
  const blobDiff = (await request(sb.adminPort, { path: '/control/v1/shadow/V2_PULL', headers: auth })).json().diffs[0];
  t.match(blobDiff.differences[0], { where: 'body', python: { length: BLOB.length }, go: { length: BLOB.length } });

  // Off: no ROUTE_SHADOW keys, nothing shadowed.
  writeAtomic(
    file,
    configYaml({
      upstreams: up,
      migration: {},
      settings: { LISTEN: '127.0.0.1:0', ADMIN_LISTEN: '127.0.0.1:0', ACCESS_LOG: 'off', DASHBOARD: { ADMIN_TOKEN_FILE: join(dir, 'admin-token') } },
    }),
  );
  t.ok(await waitFor(async () => (await request(sb.adminPort, { path: '/status' })).json().snapshot.version >= 2, 10_000, 50));
  const seen = goSeen;
  await request(sb.port, { path: '/v2/acme/same0/tags/list' });
  t.equal(goSeen, seen, 'go sees nothing once shadowing is off');
});
