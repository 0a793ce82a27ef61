/**
 * Quay's sha_state encoding: exact bytes, round trips, resuming across an
 * encode/decode, strict decoding, and a cross-check with Python's own pickle
 * (python3 must be installed; its absence fails the test): our bytes unpickle
 * to a `resumablesha256.sha256` holding the 112-byte context, and Python's
 * pickle.dumps of such an object is byte-identical to ours.
 */
import t from 'tap';
import type { Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { ResumableSha256, SHA256_IV, type Sha256State } from '../../upload/sha256.js';
import { decodeShaState, encodeShaState, freshOrDecode, freshShaState, ShaStateError } from '../../upload/sha-state.js';

const CTX = 45; // offset of the 112-byte C context in the 160-byte pickle

function stateAfter(data: Uint8Array): Sha256State {
  return new ResumableSha256().update(data).exportState();
}

function rejects(t: Test, v: string, why: string, pattern?: RegExp): void {
  let err: unknown = null;
  try {
    decodeShaState(v);
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof ShaStateError && err.code === 'REG_SHA_STATE_INVALID', `${why}: ${String(err)}`);
  if (pattern && err instanceof Error) t.match(err.message, pattern, `${why}: message`);
}

t.test('layout: 160-byte protocol-4 pickle, 216 base64 characters', async (t) => {
  const data = randomBytes(100);
  const state = stateAfter(data);
  const enc = encodeShaState(state);
  t.equal(enc.length, 216);
  t.match(enc, /^[A-Za-z0-9+/]+=*$/, "standard base64 alphabet, as Python's b64encode");
  const raw = Buffer.from(enc, 'base64');
  t.equal(raw.length, 160);
  t.same([...raw.subarray(0, 3)], [0x80, 0x04, 0x95], 'PROTO 4, FRAME');
  t.equal(raw.readBigUInt64LE(3), 149n, 'frame length');
  t.equal(raw.subarray(11, CTX).toString('latin1'), '\x8c\x0fresumablesha256\x94\x8c\x06sha256\x94\x93\x94)\x81\x94C\x70', 'class, NEWOBJ, SHORT_BINBYTES 112');
  t.same([...raw.subarray(157)], [0x94, 0x62, 0x2e], 'MEMOIZE BUILD STOP');
  const ctx = raw.subarray(CTX, CTX + 112);
  t.same(ctx.subarray(0, 36), data.subarray(64), 'pending bytes first');
  t.same(ctx.subarray(36, 64), Buffer.alloc(28), 'rest of data[] zero');
  t.equal(ctx.readUInt32LE(64), 36, 'datalen');
  t.equal(ctx.readUInt32LE(68), 0, 'padding');
  t.equal(ctx.readBigUInt64LE(72), 512n, 'bitlen counts the completed block only');
  t.same(
    Array.from({ length: 8 }, (_, i) => ctx.readUInt32LE(80 + 4 * i)),
    [...state.h],
    'state[8] little-endian',
  );
});

t.test('a fresh hasher: IV, no bytes', async (t) => {
  const enc = encodeShaState(freshShaState());
  const ctx = Buffer.from(enc, 'base64').subarray(CTX, CTX + 112);
  t.same(ctx.subarray(0, 80), Buffer.alloc(80), 'no data, datalen 0, bitlen 0');
  t.same(
    Array.from({ length: 8 }, (_, i) => ctx.readUInt32LE(80 + 4 * i)),
    SHA256_IV,
  );
  t.equal(enc, encodeShaState(new ResumableSha256().exportState()));
  for (const v of [null, undefined, '']) {
    const s = freshOrDecode(v);
    t.same([...s.h], SHA256_IV, `${String(v)}: IV`);
    t.equal(s.bytesHashed, 0);
    t.equal(new ResumableSha256(s).digestHex(), createHash('sha256').digest('hex'), `${JSON.stringify(v)} is a fresh hasher`);
  }
});

t.test('round trip at every pending length and some block counts', async (t) => {
  const data = randomBytes(64 * 40);
  let bad = 0;
  for (let n = 0; n < data.length; n += n < 200 ? 1 : 61) {
    const s = stateAfter(data.subarray(0, n));
    const back = decodeShaState(encodeShaState(s));
    if (back.bytesHashed !== n || !Buffer.from(back.buffer).equals(Buffer.from(s.buffer)) || ![...back.h].every((w, i) => w === s.h[i])) bad++;
  }
  t.equal(bad, 0);
  const big: Sha256State = { h: Uint32Array.from([1, 2, 3, 0xffffffff, 5, 6, 7, 8]), buffer: new Uint8Array([9, 9, 9]), bytesHashed: 2 ** 40 + 3 };
  const back = decodeShaState(encodeShaState(big));
  t.equal(back.bytesHashed, 2 ** 40 + 3, 'a count past 2^32 bits');
  t.equal(Buffer.from(encodeShaState(big), 'base64').readBigUInt64LE(CTX + 72), 2n ** 43n);
  t.equal(back.h[3], 0xffffffff);
});

t.test('resume across encode/decode at random points', async (t) => {
  const data = randomBytes(1_000_000);
  const want = createHash('sha256').update(data).digest('hex');
  for (let i = 0; i < 30; i++) {
    const cut = i < 5 ? [0, 1, 63, 64, 65][i]! : Math.floor(Math.random() * data.length);
    const enc = encodeShaState(stateAfter(data.subarray(0, cut)));
    t.equal(new ResumableSha256(decodeShaState(enc)).update(data.subarray(cut)).digestHex(), want, `cut at ${cut}`);
  }
  // A whole upload as Quay does it: state saved and reloaded after every chunk.
  let stored: string | null = null;
  for (let at = 0; at < data.length;) {
    const n = Math.min(data.length - at, 1 + Math.floor(Math.random() * 150_000));
    stored = encodeShaState(new ResumableSha256(freshOrDecode(stored)).update(data.subarray(at, at + n)).exportState());
    at += n;
  }
  t.equal(new ResumableSha256(freshOrDecode(stored)).digestHex(), want, 'chunk by chunk through the column');
});

t.test('what the C code may leave behind is accepted', async (t) => {
  const data = randomBytes(64 + 10);
  const raw = Buffer.from(encodeShaState(stateAfter(data)), 'base64');
  raw.fill(0xee, CTX + 10, CTX + 64); // stale bytes past datalen
  raw.fill(0xdd, CTX + 68, CTX + 72); // padding
  const s = decodeShaState(raw.toString('base64'));
  t.equal(s.bytesHashed, 74);
  t.same(Buffer.from(s.buffer), data.subarray(64));
  t.equal(new ResumableSha256(s).digestHex(), createHash('sha256').update(data).digest('hex'));
  t.equal(decodeShaState(raw.toString('base64') + '\n').bytesHashed, 74, 'a trailing newline');
  const p5 = Buffer.from(raw);
  p5[1] = 5;
  t.equal(decodeShaState(p5.toString('base64')).bytesHashed, 74, "PROTO 5 (Python 3.14's default)");
});

t.test('malformed states are refused with REG_SHA_STATE_INVALID', async (t) => {
  const good = Buffer.from(encodeShaState(stateAfter(randomBytes(70))), 'base64');
  const mutate = (at: number, v: number): string => {
    const b = Buffer.from(good);
    b[at] = v;
    return b.toString('base64');
  };
  const edit = (f: (b: Buffer) => void): string => {
    const b = Buffer.from(good);
    f(b);
    return b.toString('base64');
  };
  rejects(t, good.subarray(0, 150).toString('base64'), 'too short', /150-byte/);
  rejects(t, Buffer.concat([good, Buffer.from([0x2e])]).toString('base64'), 'too long', /161-byte/);
  rejects(t, '!'.repeat(216), 'not base64', /base64/);
  rejects(t, good.toString('base64url'), 'URL-safe alphabet', /base64/);
  rejects(t, good.toString('base64').replace(/=+$/, ''), 'padding stripped', /base64/);
  rejects(t, 'gAR9lC4=', 'pickle of an empty dict', /5-byte/);
  rejects(t, mutate(0, 0x81), 'not PROTO', /PROTO/);
  for (const p of [0, 1, 2, 3, 6]) rejects(t, mutate(1, p), `protocol ${p}`, /PROTO 4 or 5/);
  rejects(t, mutate(2, 0x8c), 'no FRAME', /byte 2/);
  rejects(t, mutate(3, 148), 'frame length 148', /byte 3/);
  rejects(t, mutate(10, 1), 'frame length high byte', /byte 10/);
  rejects(t, mutate(14, 0x41), 'other module', /resumablesha256\.sha256/);
  rejects(t, mutate(33, 0x41), 'other class', /byte 33/);
  rejects(t, mutate(38, 0x63), 'GLOBAL instead of STACK_GLOBAL', /byte 38/);
  rejects(t, mutate(41, 0x52), 'REDUCE instead of NEWOBJ', /byte 41/);
  rejects(t, mutate(44, 0x6f), 'state of 111 bytes', /byte 44/);
  rejects(t, mutate(158, 0x2e), 'no BUILD', /MEMOIZE BUILD STOP/);
  rejects(t, mutate(159, 0x00), 'no STOP', /MEMOIZE BUILD STOP/);
  rejects(
    t,
    edit((b) => b.writeUInt32LE(64, CTX + 64)),
    'datalen 64',
    /datalen 64/,
  );
  rejects(
    t,
    edit((b) => b.writeUInt32LE(0xffffffff, CTX + 64)),
    'datalen 2^32-1',
    /datalen/,
  );
  rejects(
    t,
    edit((b) => b.writeUInt32LE(8, CTX + 72)),
    'bitlen not whole blocks',
    /512-bit/,
  );
  rejects(
    t,
    edit((b) => b.writeUInt32LE(512 + 256, CTX + 72)),
    'bitlen of one and a half blocks',
    /512-bit/,
  );
  rejects(
    t,
    edit((b) => b.writeUInt32LE(0x01000000, CTX + 76)),
    'bitlen past 2^53 bytes',
    /more than/,
  );
  t.throws(() => encodeShaState({ h: new Uint32Array(8), buffer: new Uint8Array(64), bytesHashed: 64 }), ShaStateError, 'encoding 64 pending bytes');
  t.throws(() => encodeShaState({ h: new Uint32Array(8), buffer: new Uint8Array(3), bytesHashed: 4 }), ShaStateError, 'encoding an inconsistent count');
  t.throws(() => encodeShaState({ h: new Uint32Array(7), buffer: new Uint8Array(0), bytesHashed: 0 }), ShaStateError, 'encoding 7 words');
});

/**
 * The stub stands in for the C extension type (which cannot be installed
 * here): a class whose module/qualname are resumablesha256/sha256, that
 * keeps the bytes given to __setstate__. Two flavours of pickling it:
 *  - 'default': only __getstate__/__setstate__, so pickle goes through
 *    object.__reduce_ex__, exactly the path the C type takes;
 *  - 'reduce': an explicit __reduce_ex__ returning (copyreg.__newobj__, (cls,), state).
 * Both, in the C pickler and the pure-Python one, must give our bytes.
 */
const PY = String.raw`
import base64, copyreg, pickle, sys, types, json
mod = types.ModuleType('resumablesha256')
class sha256:
    def __init__(self):
        self.state = None
    def __getstate__(self):
        return self.state
    def __setstate__(self, s):
        if not isinstance(s, bytes) or len(s) != 112:
            raise ValueError('Invalid state length')
        self.state = s
class sha256_reduce(sha256):
    def __reduce_ex__(self, proto):
        return (copyreg.__newobj__, (type(self),), self.state)
sha256.__module__ = 'resumablesha256'
sha256_reduce.__module__ = 'resumablesha256'
mod.sha256 = sha256
sys.modules['resumablesha256'] = mod
req = json.loads(sys.stdin.read())
out = {'python': sys.version.split()[0], 'default_protocol': pickle.DEFAULT_PROTOCOL}
obj = pickle.loads(base64.b64decode(req['ours'], validate=True))
out['loaded'] = [type(obj).__module__, type(obj).__qualname__, len(obj.state), obj.state.hex()]
state = bytes.fromhex(req['state_hex'])
def enc(b): return base64.b64encode(b).decode('ascii')
def fresh(cls):
    o = cls.__new__(cls)
    o.__setstate__(state)
    return o
mod.sha256 = sha256
out['default'] = enc(pickle.dumps(fresh(sha256)))
out['default_p4'] = enc(pickle.dumps(fresh(sha256), protocol=4))
out['default_p5'] = enc(pickle.dumps(fresh(sha256), protocol=5))
out['default_pure_python'] = enc(pickle._dumps(fresh(sha256), protocol=4))
# The reduce flavour must be reachable as resumablesha256.sha256 for the pickler's lookup.
mod.sha256 = sha256_reduce
sha256_reduce.__qualname__ = 'sha256'
out['reduce_p4'] = enc(pickle.dumps(fresh(sha256_reduce), protocol=4))
print(json.dumps(out))
`;

t.test("Python's pickle agrees, both ways", async (t) => {
  const data = randomBytes(1000);
  const state = stateAfter(data);
  const ours = encodeShaState(state);
  const ctxHex = Buffer.from(ours, 'base64')
    .subarray(CTX, CTX + 112)
    .toString('hex');
  const r = spawnSync('python3', ['-c', PY], { input: JSON.stringify({ ours, state_hex: ctxHex }), encoding: 'utf8' });
  if (r.error) t.fail(`python3 could not be run (it is required for this test): ${r.error.message}`);
  t.equal(r.status, 0, `python3 ran: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  t.comment(`python ${String(out.python)}, pickle.DEFAULT_PROTOCOL ${String(out.default_protocol)}`);
  t.same(out.loaded, ['resumablesha256', 'sha256', 112, ctxHex], 'our bytes unpickle to resumablesha256.sha256 with our 112-byte context');
  t.equal(out.default_p4, ours, 'pickle.dumps(protocol=4) through object.__reduce_ex__ gives our exact bytes');
  t.equal(out.default_pure_python, ours, 'so does the pure-Python pickler');
  t.equal(out.reduce_p4, ours, 'and an explicit __reduce_ex__ → copyreg.__newobj__');
  if (out.default_protocol === 4) t.equal(out.default, ours, 'pickle.dumps with the default protocol, as Quay calls it');
  const p5 = Buffer.from(String(out.default_p5), 'base64');
  const p4 = Buffer.from(ours, 'base64');
  t.equal(p5[1], 5);
  t.same(p5.subarray(2), p4.subarray(2), 'protocol 5 differs only in the PROTO byte');
  for (const k of ['default', 'default_p4', 'default_p5', 'default_pure_python', 'reduce_p4']) {
    const s = decodeShaState(String(out[k]));
    t.equal(new ResumableSha256(s).update(randomBytes(0)).digestHex(), createHash('sha256').update(data).digest('hex'), `${k}: decodes and resumes`);
  }
});
