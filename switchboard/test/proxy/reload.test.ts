/**
 * Config changes never fail an in-flight request (DESIGN §5): bounded load
 * over keep-alive connections while the owner of V2_TAGS flips 20 times.
 * Every request must succeed, be answered by the owner named in its
 * X-Switchboard-Owner header, and that owner must be the one the snapshot
 * named in X-Switchboard-Snapshot assigns.
 */
import t from 'tap';
import http from 'node:http';
import { decide } from '../../core/decide.js';
import { request, startProxy, startUpstreams, sleep } from './lib/harness.js';

t.test('20 owner flips under load: zero failed requests, every response from the owner in force', async (t) => {
  const up = await startUpstreams(t);
  const settings = { DEBUG_HEADERS: true };
  const config = (owner: string) => ({ migration: { ROUTE_OWNER_CAP_V2_TAGS: owner, ROUTE_OWNER_CAP_V2_PUSH: owner }, upstreams: up, settings });
  const px = await startProxy(t, config('python'));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  t.teardown(() => agent.destroy());

  let done = false;
  let total = 0;
  const failures: string[] = [];
  const mismatches: string[] = [];
  const worker = async (i: number): Promise<void> => {
    for (let n = 0; !done && n < 2000; n++) {
      const put = (n + i) % 3 === 0;
      const path = put ? `/v2/acme/app${i}/manifests/v${n}` : `/v2/acme/app${i}/tags/list?n=${n}`;
      try {
        const r = await request(px.port, {
          method: put ? 'PUT' : 'GET',
          path,
          agent,
          body: put ? JSON.stringify({ schemaVersion: 2, n }) : undefined,
          headers: put ? { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } : {},
        });
        total++;
        if (r.status !== 200) {
          failures.push(`${path}: ${r.status}`);
          continue;
        }
        const owner = r.headers['x-switchboard-owner'];
        const version = Number(r.headers['x-switchboard-snapshot']);
        const snap = px.snapshots.get(version);
        const expected = snap ? decide(snap, { method: put ? 'PUT' : 'GET', path }).owner : 'unknown snapshot';
        if (r.headers['x-upstream'] !== owner || owner !== expected) {
          mismatches.push(`${path}: answered by ${String(r.headers['x-upstream'])}, header ${String(owner)}, snapshot ${version} says ${expected}`);
        }
      } catch (e) {
        total++;
        failures.push(`${path}: ${String(e)}`);
      }
    }
  };
  const load = Promise.all(Array.from({ length: 8 }, (_, i) => worker(i)));
  const versions: number[] = [];
  for (let flip = 0; flip < 20; flip++) {
    const s = await px.write(config(flip % 2 === 0 ? 'go' : 'python'));
    versions.push(s.version);
    await sleep(60);
  }
  done = true;
  await load;
  t.equal(versions.length, 20, '20 snapshots installed');
  t.ok(
    versions.every((v, i) => i === 0 || v > versions[i - 1]!),
    'versions increase',
  );
  t.ok(total >= 400, `bounded load ran: ${total} requests`);
  t.same(failures.slice(0, 5), [], `no failed request (${failures.length} failures)`);
  t.same(mismatches.slice(0, 5), [], `every response from the owner in force (${mismatches.length} mismatches)`);
  t.ok(up.python.requests.length > 0 && up.go.requests.length > 0, 'both owners served traffic');
  t.ok(
    up.python.requests.concat(up.go.requests).every((r) => r.complete),
    'every upstream request body arrived whole',
  );
});
