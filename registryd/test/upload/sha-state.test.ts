/**
 * Quay's sha_state encoding: exact bytes, round trips, strict decoding, and
 * a cross-check with Python's own pickle (python3 from Debian): our bytes
 * unpickle to `resumablesha256.sha256` with the 112-byte state, and Python's
 * pickle.dumps of such an object is byte-identical to ours.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { ResumableSha256 } from '../../upload/sha256.js';
import { decodeShaState, encodeShaState, freshOrDecode, ShaStateError } from '../../upload/sha-state.js';

t.test('layout: 160-byte protocol-4 pickle, 216 base64 characters', async (t) => {
  const data = randomBytes(100);
  const enc = encodeShaState(new ResumableSha256().update(data).exportState());
  t.equal(enc.length, 216);
  const raw = Buffer.from(enc, 'base64');
  t.equal(raw.length, 160);
  t.same([...raw.subarray(0, 3)], [0x80, 0x04, 0x95]);
  t.equal(raw.readBigUInt64LE(3), 149n, 'frame length');
  t.ok(raw.includes(Buffer.from('\x8c\x0fresumablesha256\x94\x8c\x06sha256\x94\x93\x94)\x81\x94C\x70', 'latin1')));
  t.same([...raw.subarray(157)], [0x94, 0x62, 0x2e]);
  const st = raw.subarray(45, 157);
  t.same(st.subarray(0, 36), data.subarray(64), 'pending bytes first');
  t.equal(st.readUInt32LE(64), 36, 'datalen');
  t.equal(st.readUInt32LE(68), 0, 'padding');
  t.equal(st.readBigUInt64LE(72), 512n, 'bitlen counts the completed block only');
});

t.test('resume across encode/decode at random points', async (t) => {
  const data = randomBytes(1_000_000);
  for (let i = 0; i < 20; i++) {
    const cut = Math.floor(Math.random() * data.length);
    const enc = encodeShaState(new ResumableSha256().update(data.subarray(0, cut)).exportState());
    t.equal(new ResumableSha256(decodeShaState(enc)).update(data.subarray(cut)).digestHex(), createHash('sha256').update(data).digest('hex'));
  }
  t.equal(new ResumableSha256(freshOrDecode(null)).digestHex(), createHash('sha256').digest('hex'), 'null is a fresh hasher');
  t.equal(new ResumableSha256(freshOrDecode('')).digestHex(), createHash('sha256').digest('hex'), 'empty is a fresh hasher');
});

t.test('malformed states are refused with REG_SHA_STATE_INVALID', async (t) => {
  const good = Buffer.from(encodeShaState(new ResumableSha256().update(randomBytes(70)).exportState()), 'base64');
  const mutate = (at: number, v: number): string => { const b = Buffer.from(good); b[at] = v; return b.toString('base64'); };
  const cases: [string, string][] = [
    ['too short', good.subarray(0, 150).toString('base64')],
    ['not base64', '!'.repeat(216)],
    ['protocol 3', mutate(1, 3)],
    ['other module', mutate(14, 0x41)],
    ['other class', mutate(33, 0x41)],
    ['datalen 64', (() => { const b = Buffer.from(good); b.writeUInt32LE(64, 45 + 64); return b.toString('base64'); })()],
    ['bitlen not whole blocks', (() => { const b = Buffer.from(good); b.writeUInt32LE(8, 45 + 72); return b.toString('base64'); })()],
  ];
  for (const [why, v] of cases) {
    let err: unknown = null;
    try { decodeShaState(v); } catch (e) { err = e; }
    t.ok(err instanceof ShaStateError && err.code === 'REG_SHA_STATE_INVALID', `${why}: ${String(err)}`);
  }
});

t.test('Python\'s pickle agrees, both ways', async (t) => {
  const state = new ResumableSha256().update(randomBytes(1000)).exportState();
  const ours = encodeShaState(state);
  const py = `
import base64, copyreg, pickle, sys, types
mod = types.ModuleType('resumablesha256')
class sha256:
    def __init__(self): self.state = None
    def __setstate__(self, s): self.state = s
    def __reduce_ex__(self, proto): return (copyreg.__newobj__, (type(self),), self.state)
sha256.__module__ = 'resumablesha256'
mod.sha256 = sha256
sys.modules['resumablesha256'] = mod
obj = pickle.loads(base64.b64decode(sys.argv[1]))
print(type(obj).__module__, type(obj).__qualname__, len(obj.state))
print(base64.b64encode(pickle.dumps(obj)).decode())
`;
  const r = spawnSync('python3', ['-c', py, ours], { encoding: 'utf8' });
  t.equal(r.status, 0, `python3 ran: ${r.stderr}`);
  const [line1, line2] = r.stdout.trim().split('\n');
  t.equal(line1, 'resumablesha256 sha256 112', 'unpickles to resumablesha256.sha256 with 112 state bytes');
  t.equal(line2, ours, 'pickle.dumps (default protocol) gives our exact bytes');
});
