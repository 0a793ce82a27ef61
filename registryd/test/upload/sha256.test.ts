/** The resumable SHA-256: digests equal node:crypto's, state export/import at any point, both block functions. */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ResumableSha256, SHA256_IMPLEMENTATION } from '../../upload/sha256.js';

const ref = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

t.equal(SHA256_IMPLEMENTATION, 'native', 'the OpenSSL block function is built and loaded (npm ci runs node-gyp)');

t.test('digests equal node:crypto for every length 0..200 and around block and chunk edges', async (t) => {
  const data = randomBytes(70_000);
  const lengths = [...Array.from({ length: 201 }, (_, i) => i), 1000, 4095, 4096, 4097, 65535, 65536, 65537];
  let bad = 0;
  for (const n of lengths) if (new ResumableSha256().update(data.subarray(0, n)).digestHex() !== ref(data.subarray(0, n))) bad++;
  t.equal(bad, 0, `${lengths.length} lengths`);
});

t.test('random splits, with the state exported and re-imported between pieces', async (t) => {
  const data = randomBytes(5 * 1024 * 1024 + 17);
  for (let round = 0; round < 5; round++) {
    let h = new ResumableSha256();
    let at = 0;
    while (at < data.length) {
      const n = Math.min(data.length - at, Math.floor(Math.random() * 200_000));
      h.update(data.subarray(at, at + n));
      at += n;
      if (Math.random() < 0.5) h = new ResumableSha256(h.exportState());
    }
    t.equal(h.bytesHashed, data.length);
    t.equal(h.digestHex(), ref(data), `round ${round}`);
  }
});

t.test('digestHex does not disturb later updates', async (t) => {
  const a = randomBytes(1000);
  const b = randomBytes(3000);
  const h = new ResumableSha256().update(a);
  t.equal(h.digestHex(), ref(a));
  h.update(b);
  t.equal(h.digestHex(), ref(Buffer.concat([a, b])));
});

t.test('an inconsistent state is refused', async (t) => {
  const s = new ResumableSha256().update(randomBytes(100)).exportState();
  t.throws(() => new ResumableSha256({ ...s, bytesHashed: 101 }));
  t.throws(() => new ResumableSha256({ ...s, buffer: new Uint8Array(64) }));
});

t.test('the TypeScript block function gives the same digests (REGISTRYD_NATIVE=off)', async (t) => {
  const script = `
    import { createHash } from 'node:crypto';
    const m = await import(${JSON.stringify(fileURLToPath(new URL('../../upload/sha256.ts', import.meta.url)))});
    if (m.SHA256_IMPLEMENTATION !== 'js') throw new Error('not the js path');
    const d = Buffer.alloc(300000, 7); for (let i = 0; i < d.length; i++) d[i] = (i * 31) & 255;
    for (const n of [0, 55, 56, 64, 65, 1000, 299999]) {
      const h = new m.ResumableSha256().update(d.subarray(0, n / 2 | 0));
      const r = new m.ResumableSha256(h.exportState()).update(d.subarray(n / 2 | 0, n));
      if (r.digestHex() !== createHash('sha256').update(d.subarray(0, n)).digest('hex')) throw new Error('mismatch at ' + n);
    }
    console.log('ok');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, REGISTRYD_NATIVE: 'off' } });
  t.equal(r.stdout.trim(), 'ok', r.stderr);
});
