/**
 * The go owner's readiness (proxy/readiness.ts) against real node:http
 * servers on port 0: answers that change over time (a capability that goes
 * away is an error log naming it, one that comes an info log), a 404, a hang,
 * malformed and oversized answers, a refused port, a stop in the middle of a
 * hang, a new upstream on reload, polling on its own, and the real document of
 * a real registryd (the contract both sides keep). No timing is asserted.
 */
import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../../lib/log.js';
import { DEFAULT_INTERVAL_MS, DEFAULT_TIMEOUT_MS, ReadinessMonitor, WELL_KNOWN_PATH, probeGo, readinessJson, type ReadinessChange } from '../../proxy/readiness.js';
import { CLAIMED_CAPABILITIES, WELL_KNOWN_PATH as REGISTRY_PATH } from '../../../quay/capabilities.js';
import { startTestRegistry } from '../../../registryd/test/lib/server.js';
import { freePort, waitFor } from '../../../test/lib/proc.js';

interface Fake {
  readonly url: string;
  /** What the next request gets. */
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  readonly paths: string[];
}

async function fakeGo(t: Test): Promise<Fake> {
  const fake: Fake = {
    url: '',
    handler: (_q, res) => {
      res.writeHead(500);
      res.end();
    },
    paths: [],
  };
  const server = http.createServer((req, res) => {
    fake.paths.push(req.url ?? '');
    fake.handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  (fake as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

const doc = (capabilities: string[], version = '1.0.0', extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  service: 'quay-ts',
  version,
  contract: 1,
  mode: 'standalone',
  capabilities,
  routes: [],
  features: { FEATURE_LIBRARY_SUPPORT: true },
  withdrawn: [],
  ...extra,
});
const answer =
  (body: unknown, status = 200) =>
  (_req: http.IncomingMessage, res: http.ServerResponse): void => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

function logged(): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const raw: string[] = [];
  return { log: createLogger({}, { level: 'debug', write: (l) => raw.push(l) }), lines: () => raw.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

t.test('defaults: every 10 s, 2 s timeout', async (t) => {
  t.equal(DEFAULT_INTERVAL_MS, 10_000);
  t.equal(DEFAULT_TIMEOUT_MS, 2_000);
  t.equal(WELL_KNOWN_PATH, REGISTRY_PATH, 'the path registryd answers');
});

t.test('answers that change over time: appear is info, disappear is an error naming the capability', async (t) => {
  const go = await fakeGo(t);
  const { log, lines } = logged();
  const m = new ReadinessMonitor({ url: go.url, log, now: () => new Date('2030-01-01T00:00:00Z') });
  t.teardown(() => m.stop());
  const changes: ReadinessChange[] = [];
  m.subscribe((c) => changes.push(c));

  t.equal(m.implements('V2_PULL'), 'unknown', 'before any check');
  t.equal(m.current().checked_at, null);

  go.handler = answer(doc(['V2_BASE', 'V2_TAGS', 'V2_UPLOAD'], '1.0.0'));
  let r = await m.check();
  t.equal(go.paths.at(-1), '/.well-known/switchboard', 'asks the upstream directly, at the well-known path');
  t.equal(r.reachable, true);
  t.equal(r.version, '1.0.0');
  t.equal(r.mode, 'standalone');
  t.equal(r.checked_at, '2030-01-01T00:00:00.000Z');
  t.equal(r.answered_at, '2030-01-01T00:00:00.000Z');
  t.same([...r.capabilities], ['V2_BASE', 'V2_TAGS', 'V2_UPLOAD']);
  t.same(r.features, { FEATURE_LIBRARY_SUPPORT: true });
  t.equal(m.implements('V2_UPLOAD'), 'yes');
  t.equal(m.implements('V2_PULL'), 'no');
  t.same(
    changes.map((c) => [c.added, c.removed]),
    [[['V2_BASE', 'V2_TAGS', 'V2_UPLOAD'], []]],
    'the first answer adds everything',
  );
  t.match(lines().at(-1), { level: 'info', capabilities: ['V2_BASE', 'V2_TAGS', 'V2_UPLOAD'], owner: 'go', version: '1.0.0' });

  await m.check();
  t.equal(changes.length, 1, 'the same answer again is no change');

  // A rolled-back deploy: V2_UPLOAD is gone.
  go.handler = answer(doc(['V2_BASE', 'V2_TAGS'], '0.9.0'));
  r = await m.check();
  t.equal(m.implements('V2_UPLOAD'), 'no');
  t.same(changes.at(-1)?.removed, ['V2_UPLOAD']);
  t.same(changes.at(-1)?.added, []);
  const err = lines().filter((l) => l.level === 'error');
  t.equal(err.length, 1, 'one error');
  t.match(err[0], { capabilities: ['V2_UPLOAD'], capability: 'V2_UPLOAD', version: '0.9.0', previous_version: '1.0.0', owner: 'go' });
  t.match(String(err[0]?.msg), /no longer implements/);

  // The fix ships: V2_UPLOAD and V2_PULL appear.
  go.handler = answer(doc(['V2_BASE', 'V2_PULL', 'V2_TAGS', 'V2_UPLOAD'], '1.1.0'));
  await m.check();
  t.same(changes.at(-1)?.added, ['V2_PULL', 'V2_UPLOAD']);
  t.match(lines().at(-1), { level: 'info', capabilities: ['V2_PULL', 'V2_UPLOAD'] });
  t.equal(m.implements('V2_PULL'), 'yes');
  t.same(readinessJson(m.current()).capabilities, ['V2_BASE', 'V2_PULL', 'V2_TAGS', 'V2_UPLOAD'], 'JSON form: sorted arrays');
  t.equal(JSON.parse(JSON.stringify(readinessJson(m.current()))).reachable, true);
});

t.test('a 404 (Python Quay, or a build without the contract): unknown, with the reason', async (t) => {
  const go = await fakeGo(t);
  go.handler = answer('not found', 404);
  const { log, lines } = logged();
  const m = new ReadinessMonitor({ url: go.url, log });
  t.teardown(() => m.stop());
  const r = await m.check();
  t.equal(r.reachable, false);
  t.equal(r.failure, 'status');
  t.match(r.error, /HTTP 404/);
  t.not(r.checked_at, null);
  t.equal(m.implements('V2_BASE'), 'unknown');
  t.match(lines().at(-1), { level: 'warn', failure: 'status' });
  await m.check();
  t.equal(lines().filter((l) => l.level === 'warn').length, 1, 'warned once while it stays down');
});

t.test('after a good answer, a failed check keeps the last answer but every verdict is unknown', async (t) => {
  const go = await fakeGo(t);
  go.handler = answer(doc(['V2_BASE']));
  const { log, lines } = logged();
  const m = new ReadinessMonitor({ url: go.url, log });
  t.teardown(() => m.stop());
  const changes: ReadinessChange[] = [];
  m.subscribe((c) => changes.push(c));
  await m.check();
  const answeredAt = m.current().answered_at;
  go.handler = answer('{"service":', 200);
  const r = await m.check();
  t.equal(r.reachable, false);
  t.equal(r.failure, 'malformed');
  t.match(r.error, /not JSON/);
  t.same([...r.capabilities], ['V2_BASE'], 'the last answer is kept');
  t.equal(r.answered_at, answeredAt, 'with its time');
  t.equal(m.implements('V2_BASE'), 'unknown');
  t.equal(changes.at(-1)?.current.reachable, false, 'subscribers hear it');
  t.same(changes.at(-1)?.removed, [], 'not answering is not a removal');
  t.equal(lines().filter((l) => l.level === 'error').length, 0, 'no removal error');
  go.handler = answer(doc(['V2_BASE']));
  await m.check();
  t.equal(m.implements('V2_BASE'), 'yes', 'back');
  t.match(lines().at(-1), { level: 'info', msg: /answers again/ });
});

t.test('malformed answers: bad JSON, wrong shape, too large', async (t) => {
  const go = await fakeGo(t);
  const m = new ReadinessMonitor({ url: go.url });
  t.teardown(() => m.stop());
  const cases: [string, (q: http.IncomingMessage, s: http.ServerResponse) => void, RegExp][] = [
    ['bad JSON', answer('<html>hello</html>'), /not JSON/],
    ['capabilities not a list', answer({ ...doc([]), capabilities: 'V2_PULL' }), /capabilities/],
    ['no service', answer({ ...doc([]), service: undefined }), /service/],
    ['lower-case capability', answer(doc(['v2_pull'])), /capabilities/],
    ['JSON null', answer('null'), /not a readiness document/],
    ['2 MiB', answer(JSON.stringify({ ...doc([]), pad: 'x'.repeat(2 * 1024 * 1024) })), /larger than/],
  ];
  for (const [what, h, msg] of cases) {
    go.handler = h;
    const r = await m.check();
    t.equal(r.failure, 'malformed', what);
    t.match(r.error, msg, what);
  }
  go.handler = answer(doc(['V2_BASE'], '2.0.0', { something_new: { x: 1 } }));
  t.equal((await m.check()).reachable, true, 'fields it does not know are ignored');
});

t.test('a hang is a timeout; stop() during a hang returns and changes nothing', async (t) => {
  const go = await fakeGo(t);
  go.handler = () => {
    /* never answers */
  };
  const m = new ReadinessMonitor({ url: go.url, timeoutMs: 150 });
  const r = await m.check();
  t.equal(r.failure, 'timeout');
  t.match(r.error, /150 ms/);
  t.equal(m.implements('V2_BASE'), 'unknown');

  const slow = new ReadinessMonitor({ url: go.url, timeoutMs: 60_000 });
  const pending = slow.check();
  await waitFor(() => go.paths.length >= 2);
  await slow.stop();
  const after = await pending;
  t.equal(after.checked_at, null, 'a check cut by stop() changes nothing');
  await m.stop();
});

t.test('refused, not configured, not a URL', async (t) => {
  const port = await freePort();
  const r = await probeGo(`http://127.0.0.1:${port}`, 1000);
  t.equal(r.reachable, false);
  t.equal(r.failure, 'refused');
  const none = await probeGo(undefined);
  t.equal(none.failure, 'not_configured');
  t.match(none.error, /UPSTREAMS\.go/);
  const m = new ReadinessMonitor({ url: null });
  t.equal((await m.check()).failure, 'not_configured');
  t.equal(m.implements('V2_BASE'), 'unknown');
  m.start();
  await m.stop();
  t.equal((await probeGo('not a url')).reachable, false);
  const secret = await probeGo(`http://user:hunter2@127.0.0.1:${port}`, 1000);
  t.notMatch(JSON.stringify(readinessJson(secret)), /hunter2/, 'credentials in the URL are never shown');
});

t.test('start() polls on its own every interval; a new upstream is checked at once', async (t) => {
  const a = await fakeGo(t);
  const b = await fakeGo(t);
  a.handler = answer(doc(['V2_BASE']));
  b.handler = answer(doc(['V2_TAGS']));
  const m = new ReadinessMonitor({ url: a.url, intervalMs: 20 });
  t.teardown(() => m.stop());
  const changes: ReadinessChange[] = [];
  m.subscribe((c) => changes.push(c));
  m.start();
  m.start(); // once is enough
  t.ok(await waitFor(() => a.paths.length >= 3), 'polled again and again');
  t.equal(m.implements('V2_BASE'), 'yes');
  m.setUpstream(b.url);
  t.equal(m.implements('V2_BASE'), 'unknown', 'what the old upstream said is forgotten');
  t.ok(await waitFor(() => m.implements('V2_TAGS') === 'yes'), 'the new one answers');
  t.equal(m.implements('V2_BASE'), 'no');
  await m.stop();
  const seen = b.paths.length;
  await m.check();
  t.equal(b.paths.length, seen + 1, 'check() still works after stop()');
});

t.test('the real document of a real registryd (the contract both sides keep)', async (t) => {
  const r = await startTestRegistry(t);
  const url = `http://127.0.0.1:${r.port}`;
  const once = await probeGo(url);
  t.equal(once.reachable, true, once.error ?? '');
  t.equal(once.service, 'quay-ts');
  t.equal(once.mode, 'mirror');
  t.same([...once.capabilities], r.reg.readiness.capabilities, 'what the runtime claims');
  for (const c of CLAIMED_CAPABILITIES) t.ok(once.capabilities.has(c), `the /v2 claim ${c}`);
  t.ok(once.capabilities.has('API_REPOSITORY_READ'), 'and the /api/v1 reads');
  t.same([...once.routes].sort(), r.reg.readiness.routes);
  t.equal(once.features.AUTHENTICATION_TYPE, 'Anonymous');
  const m = new ReadinessMonitor({ url });
  t.teardown(() => m.stop());
  await m.check();
  for (const c of CLAIMED_CAPABILITIES) t.equal(m.implements(c), 'yes', c);
  t.equal(m.implements('V2_PUSH'), 'no');
});
