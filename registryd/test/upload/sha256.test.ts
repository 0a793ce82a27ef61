/**
 * The resumable SHA-256: digests equal node:crypto's for every length and
 * any way of splitting the input, state export/import at any point, and
 * digestHex leaves the hasher usable. The whole file runs twice: in this
 * process (the native block function, when the addon is built) and again in
 * a child with SWITCHBOARD_NATIVE=off (the TypeScript block function).
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ResumableSha256, SHA256_IMPLEMENTATION, SHA256_IV, type Sha256State } from '../../upload/sha256.js';

const JS_ONLY = process.env.SWITCHBOARD_NATIVE === 'off';
const ref = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Mostly small pieces (block edges, pending-buffer straddles), sometimes large ones. */
function pieceSize(): number {
  const r = Math.random();
  if (r < 0.4) return Math.floor(Math.random() * 130);
  if (r < 0.8) return Math.floor(Math.random() * 5000);
  return Math.floor(Math.random() * 300_000);
}

if (JS_ONLY) t.equal(SHA256_IMPLEMENTATION, 'js', 'SWITCHBOARD_NATIVE=off selects the TypeScript block function');
else t.equal(SHA256_IMPLEMENTATION, 'native', 'the OpenSSL block function is built and loaded (npm ci runs node-gyp)');

t.test('known answers (FIPS 180-4 examples)', async (t) => {
  const h = (s: string): string => new ResumableSha256().update(Buffer.from(s, 'latin1')).digestHex();
  t.equal(h(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  t.equal(h('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.equal(h('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
});

t.test('digests equal node:crypto for every length 0..200 and around block and chunk edges', async (t) => {
  const data = randomBytes(140_000);
  const lengths = [...Array.from({ length: 201 }, (_, i) => i), 447, 448, 449, 1000, 4095, 4096, 4097, 65535, 65536, 65537, 131071, 131072, 131073];
  const bad: number[] = [];
  for (const n of lengths) {
    const piece = data.subarray(0, n);
    if (new ResumableSha256().update(piece).digestHex() !== ref(piece)) bad.push(n);
  }
  t.same(bad, [], `${lengths.length} lengths, one update each`);
  const bytewise: number[] = [];
  for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 200]) {
    const hasher = new ResumableSha256();
    for (let i = 0; i < n; i++) hasher.update(data.subarray(i, i + 1));
    if (hasher.digestHex() !== ref(data.subarray(0, n))) bytewise.push(n);
  }
  t.same(bytewise, [], 'one byte per update');
});

t.test('a buffer that is a view into a larger one, at odd offsets', async (t) => {
  const big = randomBytes(10_000);
  for (const off of [1, 3, 7, 61]) {
    const view = new Uint8Array(big.buffer, big.byteOffset + off, 5000);
    t.equal(new ResumableSha256().update(view.subarray(0, 100)).update(view.subarray(100)).digestHex(), ref(view), `offset ${off}`);
  }
});

t.test('5 MiB in random-sized updates, the state exported and re-imported at random points', async (t) => {
  const data = randomBytes(5 * 1024 * 1024 + 17);
  const want = ref(data);
  for (let round = 0; round < 6; round++) {
    let hasher = new ResumableSha256();
    let at = 0;
    let updates = 0;
    let resumes = 0;
    while (at < data.length) {
      const n = Math.min(data.length - at, pieceSize());
      hasher.update(data.subarray(at, at + n));
      at += n;
      updates++;
      if (Math.random() < 0.3) {
        const state = hasher.exportState();
        t.equal(state.bytesHashed, at);
        hasher = new ResumableSha256(state);
        resumes++;
      }
    }
    t.equal(hasher.bytesHashed, data.length);
    t.equal(hasher.digestHex(), want, `round ${round}: ${updates} updates, ${resumes} resumes`);
  }
});

t.test('export/import at a random point, many times, both hashers carry on', async (t) => {
  const data = randomBytes(300_000);
  const want = ref(data);
  let bad = 0;
  for (let i = 0; i < 200; i++) {
    const cut = i < 130 ? i : Math.floor(Math.random() * data.length);
    const first = new ResumableSha256().update(data.subarray(0, cut));
    const state = first.exportState();
    t.ok(state.buffer.length < 64 && state.buffer.length === cut % 64 && state.bytesHashed === cut && state.h.length === 8);
    const second = new ResumableSha256(state).update(data.subarray(cut));
    first.update(data.subarray(cut));
    if (second.digestHex() !== want || first.digestHex() !== want) bad++;
  }
  t.equal(bad, 0, '200 cut points');
});

t.test('exportState is a copy', async (t) => {
  const hasher = new ResumableSha256().update(randomBytes(100));
  const before = hasher.digestHex();
  const s = hasher.exportState();
  s.h.fill(0);
  s.buffer.fill(0);
  t.equal(hasher.digestHex(), before, 'mutating the exported state does not touch the hasher');
  const s2 = hasher.exportState();
  const resumed = new ResumableSha256(s2);
  s2.h.fill(1);
  s2.buffer.fill(1);
  t.equal(resumed.digestHex(), before, 'mutating the imported state afterwards does not touch the new hasher');
});

t.test('digestHex does not disturb later updates', async (t) => {
  const a = randomBytes(1000);
  const b = randomBytes(3000);
  const h = new ResumableSha256().update(a);
  t.equal(h.digestHex(), ref(a));
  t.equal(h.digestHex(), ref(a), 'twice in a row');
  h.update(b);
  t.equal(h.digestHex(), ref(Buffer.concat([a, b])));
  t.equal(h.bytesHashed, 4000);
});

t.test('a fresh hasher and the IV state are the same thing', async (t) => {
  const fresh = new ResumableSha256().exportState();
  t.same([...fresh.h], SHA256_IV);
  t.equal(fresh.buffer.length, 0);
  t.equal(fresh.bytesHashed, 0);
});

t.test('more than 2^32 bits: the high word of the length', async (t) => {
  const mib = Buffer.alloc(1024 * 1024, 0x5a);
  const ours = new ResumableSha256();
  const node = createHash('sha256');
  for (let i = 0; i < 513; i++) {
    ours.update(mib);
    node.update(mib);
  }
  const tail = randomBytes(77);
  ours.update(tail);
  node.update(tail);
  t.equal(ours.bytesHashed, 513 * 1024 * 1024 + 77);
  t.equal(ours.digestHex(), node.digest('hex'));
});

t.test('an inconsistent state is refused', async (t) => {
  const s: Sha256State = new ResumableSha256().update(randomBytes(100)).exportState();
  t.throws(() => new ResumableSha256({ ...s, bytesHashed: 101 }), RangeError, 'pending bytes disagree with the count');
  t.throws(() => new ResumableSha256({ ...s, bytesHashed: 30 }), RangeError, 'count below the pending bytes');
  t.throws(() => new ResumableSha256({ ...s, bytesHashed: 100.5 }), RangeError, 'fractional count');
  t.throws(() => new ResumableSha256({ ...s, bytesHashed: Number.NaN }), RangeError, 'NaN');
  t.throws(() => new ResumableSha256({ ...s, buffer: new Uint8Array(64), bytesHashed: 128 }), RangeError, '64 pending bytes');
  t.throws(() => new ResumableSha256({ ...s, h: new Uint32Array(7) }), RangeError, '7 words');
});

if (!JS_ONLY) {
  t.test('the same tests with the TypeScript block function (SWITCHBOARD_NATIVE=off, child process)', async (t) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
      encoding: 'utf8',
      env: { ...process.env, SWITCHBOARD_NATIVE: 'off' },
      maxBuffer: 64 * 1024 * 1024,
    });
    const failures = r.stdout.split('\n').filter((l) => /^\s*not ok/.test(l));
    t.same(failures, [], 'no failing assertion in the child');
    t.equal(r.status, 0, `child exited cleanly: ${r.stderr.slice(-2000)}`);
    t.match(r.stdout, /^1\.\.[1-9]\d*$/m, 'the child finished its plan');
    t.ok((r.stdout.match(/^ok \d+ - /gm) ?? []).length >= 10, 'the child passed its top-level tests');
  });
}
