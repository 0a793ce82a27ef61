/**
 * Zero-drop config changes (DESIGN §4–§5): under bounded keep-alive load, a
 * capability switch flipped 20 times never fails a request, and every response
 * comes from the owner that the snapshot it names (X-Switchboard-Snapshot)
 * assigns. An in-flight request finishes on the owner it was decided for.
 */
import t from 'tap';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { decide } from '../../core/decide.js';
import { request, startProxy, startUpstreams, waitFor, within, type ConfigSpec, type OwnerName } from './lib/harness.js';

const TAGS = '/v2/acme/app/tags/list';
const PUT = '/v2/acme/app/manifests/latest';

interface Result {
  ok: boolean;
  kind: 'tags' | 'put';
  version: number;
  owner: string;
  why?: string;
}

function once(agent: http.Agent, port: number, method: string, path: string, body?: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, agent, headers: body ? { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': body.length } : {} },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

t.test('20 flips of ROUTE_OWNER_CAP_V2_TAGS under load: zero failures, every answer from the owner its snapshot names', async (t) => {
  const up = await startUpstreams(t);
  const spec = (tags: OwnerName): ConfigSpec => ({
    migration: { ROUTE_OWNER_DEFAULT: 'python', ROUTE_OWNER_CAP_V2_PUSH: 'go', ROUTE_OWNER_CAP_V2_TAGS: tags },
    upstreams: up,
    settings: { DEBUG_HEADERS: true },
  });
  const px = await startProxy(t, spec('python'));
  /** Snapshot version → owner of V2_TAGS, recorded as we flip. */
  const tagsOwner = new Map<number, OwnerName>([[px.provider.current().version, 'python']]);

  const results: Result[] = [];
  let flipping = true;
  const TARGET = 4000;
  // A ceiling, not a target: a slow machine makes more requests per flip.
  const CAP = 40_000;
  const agents: http.Agent[] = [];
  t.teardown(() => {
    for (const a of agents) a.destroy();
  });

  const worker = async (w: number): Promise<void> => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    for (let i = 0; (flipping || results.length < TARGET) && results.length < CAP; i++) {
      const isPut = (i + w) % 3 === 0;
      const body = isPut ? Buffer.from(JSON.stringify({ schemaVersion: 2, w, i, pad: 'x'.repeat((i * 37) % 900) })) : undefined;
      try {
        const r = await once(agent, px.port, isPut ? 'PUT' : 'GET', isPut ? PUT : TAGS, body);
        const version = Number(r.headers['x-switchboard-snapshot']);
        const owner = String(r.headers['x-switchboard-owner']);
        const res: Result = { ok: true, kind: isPut ? 'put' : 'tags', version, owner };
        const snap = px.snapshots.get(version);
        const why: string[] = [];
        if (r.status !== 200) why.push(`status ${r.status}`);
        if (r.headers['x-upstream'] !== owner) why.push(`answered by ${String(r.headers['x-upstream'])}, header says ${owner}`);
        if (!snap) why.push(`unknown snapshot ${version}`);
        else if (decide(snap, { method: isPut ? 'PUT' : 'GET', path: isPut ? PUT : TAGS }).owner !== owner) why.push(`snapshot ${version} does not assign ${owner}`);
        if (!isPut && tagsOwner.get(version) !== owner) why.push(`flip record says v${version} → ${String(tagsOwner.get(version))}, got ${owner}`);
        if (isPut && r.status === 200) {
          const echo = JSON.parse(r.body) as { bytes: number; sha256: string };
          if (echo.bytes !== body!.length || echo.sha256 !== createHash('sha256').update(body!).digest('hex')) why.push('PUT body damaged');
        }
        if (why.length) {
          res.ok = false;
          res.why = why.join('; ');
        }
        results.push(res);
      } catch (e) {
        results.push({ ok: false, kind: isPut ? 'put' : 'tags', version: -1, owner: '', why: `request failed: ${(e as Error).message}` });
      }
    }
  };

  const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
  const flips = (async () => {
    let owner: OwnerName = 'python';
    for (let f = 0; f < 20; f++) {
      owner = owner === 'python' ? 'go' : 'python';
      // Record before the write: requests may be decided against it as soon as it is installed.
      const next = px.provider.current().version + 1;
      tagsOwner.set(next, owner);
      const s = await px.write(spec(owner));
      if (s.version !== next) throw new Error(`flip ${f + 1}: expected snapshot ${next}, got ${s.version}`);
      // Let the load run on this snapshot for a while (bounded): at least one tags request on it.
      const mark = results.length;
      await waitFor(() => results.length >= mark + 120 && results.some((r, i) => i >= mark && r.kind === 'tags' && r.version === next), 10_000);
    }
    flipping = false;
  })().finally(() => {
    flipping = false;
  });
  await within(Promise.all([load, flips]), 240_000, 'load and flips');

  const failed = results.filter((r) => !r.ok);
  t.ok(results.length >= TARGET, `${results.length} requests made`);
  t.equal(
    failed.length,
    0,
    `zero failed or misrouted requests${
      failed.length
        ? `: ${failed
            .slice(0, 5)
            .map((f) => f.why)
            .join(' | ')}`
        : ''
    }`,
  );
  t.equal(px.provider.current().version, 21, '20 flips installed (versions 2..21)');
  const versions = new Set(results.filter((r) => r.kind === 'tags').map((r) => r.version));
  t.equal(versions.size, 21, `tags requests were decided against all 21 snapshots (saw ${[...versions].sort((a, b) => a - b).join(',')})`);
  const byOwner = (o: string): number => results.filter((r) => r.kind === 'tags' && r.owner === o).length;
  t.ok(byOwner('python') > 0 && byOwner('go') > 0, `tags answered by both owners over time (python ${byOwner('python')}, go ${byOwner('go')})`);
  t.ok(
    results.filter((r) => r.kind === 'put').every((r) => r.owner === 'go'),
    'PUT manifests (V2_PUSH) stayed on go throughout',
  );
  t.equal(px.proxy.inflight, 0, 'nothing left in flight');
});

t.test('a request in flight during a flip finishes on the owner it was decided for', async (t) => {
  const up = await startUpstreams(t);
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => {
    release = r;
  });
  up.python.handler = (req, res, rec) => {
    const ended = new Promise<void>((r) => req.on('end', r));
    void Promise.all([gate, ended]).then(() => {
      const body = JSON.stringify({ upstream: 'python', bytes: rec.bytes });
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'python', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  };
  const spec = (tags: OwnerName): ConfigSpec => ({ migration: { ROUTE_OWNER_CAP_V2_TAGS: tags }, upstreams: up, settings: { DEBUG_HEADERS: true } });
  const px = await startProxy(t, spec('python'));
  const v1 = px.provider.current().version;
  const slow = request(px.port, { method: 'PUT', path: TAGS.replace('tags/list', 'manifests/slow'), body: Buffer.alloc(10_000, 1) });
  const slowTags = request(px.port, { path: TAGS });
  t.ok(await waitFor(() => up.python.requests.length === 2, 10_000), 'both requests reached python');
  await px.write(spec('go'));
  const fast = await request(px.port, { path: TAGS });
  t.equal(fast.headers['x-upstream'], 'go', 'new requests go to the new owner');
  release();
  const [a, b] = await within(Promise.all([slow, slowTags]), 20_000, 'in-flight requests');
  t.equal(a.status, 200, 'in-flight PUT completed');
  t.equal(a.json().bytes, 10_000, 'its body arrived whole');
  t.equal(b.status, 200, 'in-flight GET completed');
  t.equal(b.headers['x-upstream'], 'python', 'on the owner it was decided for');
  t.equal(b.headers['x-switchboard-snapshot'], String(v1), 'naming the snapshot it was decided against');
});
