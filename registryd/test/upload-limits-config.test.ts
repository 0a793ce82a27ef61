/**
 * MAXIMUM_UPLOADS_PER_CLIENT and TRUSTED_PROXIES from config.yaml to the
 * running registry: validated with their key and line, preset to 100 and
 * nothing trusted, and honoured by the runtime `quay serve` and the
 * switchboard's embedded registry start (startRuntime).
 */
import t from 'tap';
import { loadQuayConfig } from '../../quay/config.js';
import { startRuntime } from '../../quay/runtime.js';
import { createLogger } from '../../lib/log.js';
import { request, tempDir } from '../../test/lib/proc.js';

t.test('presets: 100 sessions per client, no trusted proxy', async (t) => {
  const c = loadQuayConfig('', { mode: 'mirror', dataDir: '/tmp/x' });
  t.ok(c.ok);
  if (!c.ok) return;
  t.equal(c.config.maxUploadsPerClient, 100);
  t.same(c.config.trustedProxies, []);
  t.equal(c.config.effective.MAXIMUM_UPLOADS_PER_CLIENT, 100, 'shown by quay config print');
});

t.test('set values are read; bad ones reported with key and line', async (t) => {
  const m = loadQuayConfig('MAXIMUM_UPLOADS_PER_CLIENT: 7\nTRUSTED_PROXIES: [127.0.0.1, "10.0.0.0/8", "fd00::/8"]\n', { mode: 'mirror', dataDir: '/tmp/x' });
  t.ok(m.ok);
  if (m.ok) {
    t.equal(m.config.maxUploadsPerClient, 7);
    t.same(m.config.trustedProxies, ['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
  }
  const bad = loadQuayConfig('SERVER_HOSTNAME: h\nMAXIMUM_UPLOADS_PER_CLIENT: 0\nTRUSTED_PROXIES: [127.0.0.1, localhost, "10.0.0.0/40"]\n', { mode: 'mirror', dataDir: '/tmp/x' });
  t.notOk(bad.ok);
  if (!bad.ok) {
    t.same(
      bad.problems.map((p) => [p.key, p.line]),
      [
        ['MAXIMUM_UPLOADS_PER_CLIENT', 2],
        ['TRUSTED_PROXIES.1', 3],
        ['TRUSTED_PROXIES.2', 3],
      ],
    );
    t.match(bad.problems[1]?.message, /address or a range/);
  }
  const notList = loadQuayConfig('TRUSTED_PROXIES: 127.0.0.1\n', { mode: 'mirror', dataDir: '/tmp/x' });
  t.notOk(notList.ok);
});

t.test('the runtime bounds uploads per client as configured', async (t) => {
  const dataDir = tempDir(t, 'registryd-limit-');
  const c = loadQuayConfig('MAXIMUM_UPLOADS_PER_CLIENT: 2\nTRUSTED_PROXIES: [127.0.0.1]\n', { mode: 'mirror', dataDir });
  if (!c.ok) throw new Error(JSON.stringify(c.problems));
  const rt = await startRuntime({
    config: c.config,
    log: createLogger({}, { write: () => {} }),
    listen: { host: '127.0.0.1', port: 0 },
    tls: null,
    adminListen: null,
    metrics: false,
  });
  t.teardown(() => rt.stop());
  const post = (client: string): Promise<number> =>
    request(rt.address.port, { method: 'POST', path: '/v2/acme/app/blobs/uploads/', headers: { 'x-forwarded-for': client } }).then((r) => r.status);
  t.same([await post('192.0.2.1'), await post('192.0.2.1'), await post('192.0.2.1')], [202, 202, 429]);
  t.equal(await post('192.0.2.2'), 202, 'another client behind the trusted proxy');
});
