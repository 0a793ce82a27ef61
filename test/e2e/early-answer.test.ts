/**
 * An owner that refuses an upload before reading its body (issue 14): the
 * real registryd behind the real `switchboard serve`, a 24 MiB PATCH to an
 * upload it does not know and a 24 MiB manifest PUT. The client gets the
 * owner's own error (BLOB_UPLOAD_UNKNOWN / NAME_UNKNOWN / MANIFEST_...), not a
 * 502 "connection reset", and no owner failure is counted: registryd reads
 * the rest of a refused body (lingering close) instead of resetting the
 * connection under the proxy's feet. With curl (Expect: 100-continue) and
 * without.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, requireBinaries, tempDir } from '../lib/proc.js';
import { startRegistryd } from '../lib/registryd.js';
import { startSwitchboard } from '../lib/switchboard.js';

t.setTimeout(120_000);
requireBinaries(['curl']);

const dir = tempDir(t, 'swb-early-');
const reg = await startRegistryd(t, join(dir, 'registryd'));
const sb = await startSwitchboard(t, dir, { python: reg.url, go: reg.url }, { migration: { ROUTE_OWNER_DEFAULT: 'go' } });
const big = Buffer.alloc(24 * 1024 * 1024, 0x61);
const bigFile = join(dir, 'big.bin');
writeFileSync(bigFile, big);

function curl(args: string[]): Promise<string> {
  return new Promise((resolve) => execFile('curl', ['-s', '-i', ...args], { maxBuffer: 1 << 20 }, (_e, so) => resolve(String(so))));
}

async function ownerErrors(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${sb.adminPort}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('switchboard_upstream_errors_total{') && !l.includes('kind="client_abort"'))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

t.test("the owner's early refusal reaches the client, through the proxy", async (t) => {
  const before = await ownerErrors();
  for (let i = 0; i < 3; i++) {
    const patch = await request(sb.port, {
      method: 'PATCH',
      path: '/v2/acme/app/blobs/uploads/0f6f1a2b-unknown',
      body: big,
      headers: { 'content-type': 'application/octet-stream' },
    });
    t.equal(patch.status, 404, `PATCH ${i}: 404`);
    t.match(patch.json(), { errors: [{ code: /^(BLOB_UPLOAD_UNKNOWN|NAME_UNKNOWN)$/ }] }, "registryd's own error");
    const put = await request(sb.port, {
      method: 'PUT',
      path: '/v2/acme/app/manifests/latest',
      body: big,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    t.ok(put.status >= 400 && put.status < 500, `PUT ${i}: a 4xx from the owner (${put.status})`);
    t.ok(Array.isArray(put.json().errors), 'an OCI error body');
  }
  const viaCurl = await curl(['-X', 'PATCH', '--data-binary', `@${bigFile}`, `http://127.0.0.1:${sb.port}/v2/acme/app/blobs/uploads/0f6f1a2b-unknown`]);
  t.match(viaCurl, /HTTP\/1\.1 404 /, 'curl (Expect: 100-continue) gets the 404 too');
  t.notMatch(viaCurl, /UNAVAILABLE|502/, "never the proxy's 502");
  t.equal(await ownerErrors(), before, 'no owner failure counted');
});
