/**
 * Upload sessions in progress per client, over HTTP (MAXIMUM_UPLOADS_PER_CLIENT):
 * one client starting session after session gets 429 TOOMANYREQUESTS once it
 * holds the limit; a commit, a cancel, a refused final PUT and the stale
 * cleanup give the slot back; a client that disconnects mid-chunk does not
 * keep its slots (its next start takes over the abandoned session once idle,
 * and the session's row and file go). Clients are told apart by address
 * (X-Forwarded-For only through TRUSTED_PROXIES) and, with database auth, by
 * user. The clock is the registry's injected one: nothing waits on time.
 */
import t, { type Test } from 'tap';
import http from 'node:http';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pushBlob, sha256, startTestRegistry, type TestRegistry } from '../lib/server.js';
import { mintToken } from '../../auth/tokens.js';
import type { GoSideOptions as RegistryOptions } from '../../../quay/runtime.js';
import { waitFor, type Reply } from '../../../test/lib/proc.js';

const IDLE_MS = 10 * 60_000;

async function registry(t: Test, opts: Omit<RegistryOptions, 'dataDir' | 'log'> = {}): Promise<{ r: TestRegistry; clock: { now: number } }> {
  const clock = { now: Date.now() };
  const r = await startTestRegistry(t, { maxUploadsPerClient: 3, uploadIdleMs: IDLE_MS, now: () => clock.now, ...opts });
  return { r, clock };
}

const start = (r: TestRegistry, headers: http.OutgoingHttpHeaders = {}, repo = 'acme/app'): Promise<Reply> =>
  r.req({ method: 'POST', path: `/v2/${repo}/blobs/uploads/`, headers });

const sessions = (r: TestRegistry): number =>
  ((r.reg.store as unknown as { db: import('better-sqlite3').Database }).db.prepare('SELECT count(*) n FROM blobupload').get() as { n: number }).n;
const uploadFiles = (r: TestRegistry): string[] => readdirSync(join(r.dataDir, 'storage', 'uploads'));

function tooMany(t: Test, res: Reply): void {
  t.equal(res.status, 429);
  const e = res.json().errors[0];
  t.equal(e.code, 'TOOMANYREQUESTS');
  t.equal(e.message, 'too many requests');
  t.match(e.detail.message, /this client has 3 upload sessions in progress, the most allowed/);
  t.match(res.header('retry-after'), /^[1-9][0-9]*$/, 'Retry-After in whole seconds');
  t.equal(res.header('docker-upload-uuid'), '', 'no session');
}

t.test('one client, many starts: 429 TOOMANYREQUESTS past the limit, and nothing held for the refused ones', async (t) => {
  const { r } = await registry(t);
  for (let i = 0; i < 3; i++) t.equal((await start(r)).status, 202);
  for (let i = 0; i < 5; i++) tooMany(t, await start(r));
  t.equal(sessions(r), 3, 'three blobupload rows');
  t.equal(uploadFiles(r).length, 3, 'three upload objects');
  t.equal((await start(r, {}, 'acme/other')).status, 429, 'the bound is per client, not per repository');
  const digest = sha256('monolithic');
  t.equal((await r.req({ method: 'POST', path: `/v2/acme/app/blobs/uploads/?digest=${digest}`, body: 'monolithic' })).status, 429, 'a monolithic upload needs a session too');
});

t.test('commit, cancel and a refused final PUT give the slot back', async (t) => {
  const { r } = await registry(t);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await start(r)).header('location'));
  tooMany(t, await start(r));

  t.equal((await r.req({ method: 'DELETE', path: ids[0]! })).status, 204, 'cancel');
  const again = await start(r);
  t.equal(again.status, 202, 'a cancelled session frees its slot');
  tooMany(t, await start(r));

  const data = Buffer.from('finished blob');
  t.equal((await r.req({ method: 'PUT', path: `${ids[1]}?digest=${sha256(data)}`, body: data })).status, 201, 'commit');
  t.equal((await start(r)).status, 202, 'a committed session frees its slot');
  tooMany(t, await start(r));

  t.equal((await r.req({ method: 'PUT', path: `${ids[2]}?digest=${sha256('other')}`, body: 'not other' })).status, 400, 'digest mismatch: the upload is cancelled');
  t.equal((await start(r)).status, 202, 'so is its slot');
  t.equal(sessions(r), 3);

  // A monolithic upload below the limit holds no slot once done.
  t.equal((await r.req({ method: 'DELETE', path: again.header('location') })).status, 204);
  const blob = await pushBlob(r, 'acme/app', 'one shot');
  t.ok(blob);
  t.equal((await start(r)).status, 202, "the monolithic upload's slot came back");
  tooMany(t, await start(r));
});

t.test('a mount needs no session, so it works at the limit', async (t) => {
  const { r } = await registry(t);
  const digest = await pushBlob(r, 'acme/source', 'shared layer');
  for (let i = 0; i < 3; i++) await start(r);
  const mount = await r.req({ method: 'POST', path: `/v2/acme/app/blobs/uploads/?mount=${digest}&from=acme/source` });
  t.equal(mount.status, 201);
});

t.test('a client that disconnects mid-chunk does not keep its slots: its next start takes over the abandoned session', async (t) => {
  const { r, clock } = await registry(t);
  const first = await start(r);
  const loc = first.header('location');
  const uuid = first.header('docker-upload-uuid');
  await r.req({ method: 'PATCH', path: loc, body: Buffer.alloc(1000, 1) });
  // The client goes away half-way through its next chunk, and never comes back.
  await new Promise<void>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: r.port, method: 'PATCH', path: loc, headers: { 'content-length': 10_000_000 } });
    req.on('error', () => resolve());
    req.write(Buffer.alloc(200_000, 2), () =>
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100),
    );
  });
  await start(r);
  await start(r);
  tooMany(t, await start(r));

  clock.now += IDLE_MS - 1;
  tooMany(t, await start(r));
  clock.now += 1;
  const next = await start(r);
  t.equal(next.status, 202, 'idle for the whole window: the abandoned session gives up its slot');
  t.equal(sessions(r), 3, "the abandoned session's row is gone, the new one is there");
  t.notOk(uploadFiles(r).includes(uuid), 'and its upload object');
  const status = await r.req({ path: loc });
  t.equal(status.status, 404);
  t.equal(status.json().errors[0].code, 'BLOB_UPLOAD_UNKNOWN');
  // The two sessions started with it have been idle as long: the next starts take them over too.
  t.equal((await start(r)).status, 202);
  t.equal((await start(r)).status, 202);
  t.equal(sessions(r), 3, 'never more than the limit');
  t.equal(uploadFiles(r).length, 3);
  tooMany(t, await start(r));
});

t.test('a session with a chunk streaming in is not abandoned, however long it takes', async (t) => {
  const { r, clock } = await registry(t, { maxUploadsPerClient: 1 });
  const loc = (await start(r)).header('location');
  const req = http.request({ host: '127.0.0.1', port: r.port, method: 'PATCH', path: loc, headers: { 'content-length': 2000 } });
  const done = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  req.write(Buffer.alloc(1000, 5));
  // Wait (by condition, not time) until the registry has the first half.
  const file = join(r.dataDir, 'storage', 'uploads', loc.split('/').pop()!);
  t.ok(await waitFor(() => statSync(file).size === 1000, 10_000), 'the chunk is streaming');
  clock.now += 10 * IDLE_MS;
  const res = await start(r);
  t.equal(res.status, 429, 'busy: not taken over');
  req.end(Buffer.alloc(1000, 6));
  t.equal(await done, 202, 'the chunk completes');
});

t.test('the stale-upload cleanup gives the slots back', async (t) => {
  const { r, clock } = await registry(t);
  for (let i = 0; i < 3; i++) await start(r);
  tooMany(t, await start(r));
  clock.now += 49 * 3600_000;
  t.equal(await r.reg.uploads.cleanupStale(48 * 3600_000), 3);
  t.equal(sessions(r), 0);
  for (let i = 0; i < 3; i++) t.equal((await start(r)).status, 202);
});

t.test('clients by address: X-Forwarded-For counts only from a trusted proxy', async (t) => {
  const { r } = await registry(t);
  for (let i = 0; i < 3; i++) await start(r, { 'x-forwarded-for': `192.0.2.${i}` });
  tooMany(t, await start(r, { 'x-forwarded-for': '192.0.2.99' }));

  const { r: behind } = await registry(t, { trustedProxies: ['127.0.0.1'] });
  for (let i = 0; i < 3; i++) t.equal((await start(behind, { 'x-forwarded-for': '192.0.2.1' })).status, 202);
  tooMany(t, await start(behind, { 'x-forwarded-for': '192.0.2.1' }));
  tooMany(t, await start(behind, { 'x-forwarded-for': '203.0.113.5, 192.0.2.1' }));
  t.equal((await start(behind, { 'x-forwarded-for': '192.0.2.2' })).status, 202, 'another client behind the proxy has its own slots');
  for (let i = 0; i < 2; i++) await start(behind, { 'x-forwarded-for': `2001:db8:1:2::${i + 10}` });
  await start(behind, { 'x-forwarded-for': '2001:db8:1:2:ffff::1' });
  tooMany(t, await start(behind, { 'x-forwarded-for': '2001:db8:1:2::77' }));
  t.equal((await start(behind, { 'x-forwarded-for': '2001:db8:1:3::77' })).status, 202, 'IPv6 by /64');
});

t.test('with database auth, each user has its own slots wherever it connects from', async (t) => {
  const host = 'registry.test';
  const { r } = await registry(t, { auth: { mode: 'database', serverHostname: host, databaseSecretKey: 'secret' } });
  await r.reg.store.createRepository('acme', 'app', 'private', Date.now());
  const bearer = async (user: string): Promise<string> =>
    `Bearer ${await mintToken(r.reg.instanceKey, {
      audience: host,
      subject: user,
      access: [{ type: 'repository', name: 'acme/app', actions: ['pull', 'push'] }],
      context: {},
      nowMs: Date.now(),
    })}`;
  const alice = await bearer('alice');
  const bob = await bearer('bob');
  for (let i = 0; i < 3; i++) t.equal((await start(r, { authorization: alice })).status, 202);
  tooMany(t, await start(r, { authorization: alice }));
  t.equal((await start(r, { authorization: bob })).status, 202, 'another user from the same address is not affected');
  t.equal((await start(r)).status, 401, 'no token, no upload');
});
