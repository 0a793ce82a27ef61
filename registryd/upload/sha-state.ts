/**
 * Quay's encoding of an in-progress upload's hasher: the `blobupload.sha_state`
 * column (quay-schema.md §5). Quay's data/fields.py stores
 * `base64(pickle.dumps(hasher))`, and the hasher is a `resumablesha256.sha256`
 * (a C extension type over Brad Conte's public-domain SHA-256; its
 * __getstate__ returns the raw C context, its __setstate__ copies it back).
 *
 * Pickling such an object with protocol 4 goes through object.__reduce_ex__:
 * "call copyreg.__newobj__(cls) with no arguments, then BUILD with the state".
 * The pickler writes that as one 160-byte stream (216 base64 characters):
 *
 *   offset  bytes                         meaning
 *        0  80 04                         PROTO 4
 *        2  95 <8 bytes LE = 149>         FRAME: the remaining 149 bytes
 *       11  8c 0f "resumablesha256" 94    SHORT_BINUNICODE module name, MEMOIZE
 *       29  8c 06 "sha256" 94             SHORT_BINUNICODE class name, MEMOIZE
 *       38  93 94                         STACK_GLOBAL (the class), MEMOIZE
 *       40  29 81 94                      EMPTY_TUPLE, NEWOBJ (cls()), MEMOIZE
 *       43  43 70                         SHORT_BINBYTES, 112 bytes follow
 *       45  <112 bytes of C context>      the argument of __setstate__
 *      157  94 62 2e                      MEMOIZE, BUILD, STOP
 *
 * The C context, copied byte for byte out of memory (x86-64 and arm64 are
 * little-endian and align a 64-bit integer to 8 bytes):
 *
 *   context offset  field                                   here
 *                0  data[64]   block being filled           the pending bytes, then zeros
 *               64  datalen    u32, valid bytes of data     0..63
 *               68  (4 bytes of alignment padding)          zero
 *               72  bitlen     u64, bits of the blocks      a multiple of 512
 *                              already compressed (the
 *                              pending bytes NOT counted)
 *               80  state[8]   u32 each, the hash words
 *
 * so bytes hashed = bitlen / 8 + datalen. On reading, the bytes of data past
 * datalen and the padding are ignored: the C code leaves stale bytes there.
 *
 * Which pickles are accepted: exactly the stream above, and the same stream
 * with PROTO 5 (Python 3.14's default protocol; for this object protocol 5
 * differs from 4 in that one byte only, as the Python cross-check in
 * sha-state.test.ts shows). Protocols 0–3 are refused: their streams are laid
 * out differently (no frame, GLOBAL instead of STACK_GLOBAL, BINPUT memo
 * slots, and protocol 2 spells bytes as a _codecs.encode call), Quay never
 * writes them (it always uses pickle's default protocol, 4 on Python 3.8–3.13),
 * and a stricter reader is safer than a guessed one. We always write protocol 4,
 * which every Python 3 can read.
 */
import { SHA256_IV, type Sha256State } from './sha256.js';

/** A sha_state value that is not Quay's pickle of a resumable SHA-256 (or a state that cannot be written as one). */
export class ShaStateError extends Error {
  readonly code = 'REG_SHA_STATE_INVALID' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ShaStateError';
  }
}

const MODULE = 'resumablesha256';
const CLASS = 'sha256';
/** sizeof(SHA256_CTX) in the C extension. */
const CTX_LEN = 112;
/** Largest bitlen/8 + datalen we can represent exactly (and far past any blob). */
const MAX_BYTES = Number.MAX_SAFE_INTEGER;

/** Everything before the 112 context bytes … */
const PREFIX = Buffer.concat([
  Buffer.from([0x80, 0x04]),
  Buffer.from([0x95, 149, 0, 0, 0, 0, 0, 0, 0]),
  Buffer.from([0x8c, MODULE.length]),
  Buffer.from(MODULE, 'latin1'),
  Buffer.from([0x94]),
  Buffer.from([0x8c, CLASS.length]),
  Buffer.from(CLASS, 'latin1'),
  Buffer.from([0x94]),
  Buffer.from([0x93, 0x94, 0x29, 0x81, 0x94, 0x43, CTX_LEN]),
]);
/** … and everything after them. */
const SUFFIX = Buffer.from([0x94, 0x62, 0x2e]);
const PICKLE_LEN = PREFIX.length + CTX_LEN + SUFFIX.length;
const PROTO_AT = 1;
const FRAME_LEN = PICKLE_LEN - 11;

if (PREFIX.length !== 45 || PICKLE_LEN !== 160 || FRAME_LEN !== 149) throw new Error('sha-state: layout constants are inconsistent');

/** The base64 text Quay would store for this state (always protocol 4). */
export function encodeShaState(s: Sha256State): string {
  const pending = s.buffer.length;
  const total = s.bytesHashed;
  if (s.h.length !== 8 || pending > 63 || !Number.isSafeInteger(total) || total < pending || (total - pending) % 64 !== 0) {
    throw new ShaStateError(`cannot encode an inconsistent SHA-256 state (${s.h.length} words, ${pending} pending bytes, ${total} bytes hashed)`);
  }
  const out = Buffer.alloc(PICKLE_LEN);
  PREFIX.copy(out, 0);
  const ctx = out.subarray(PREFIX.length, PREFIX.length + CTX_LEN);
  ctx.set(s.buffer, 0);
  ctx.writeUInt32LE(pending, 64);
  const bits = (total - pending) * 8; // < 2^56: exact in a double
  ctx.writeUInt32LE(bits % 0x100000000, 72);
  ctx.writeUInt32LE(Math.floor(bits / 0x100000000), 76);
  for (let i = 0; i < 8; i++) ctx.writeUInt32LE(s.h[i]! >>> 0, 80 + 4 * i);
  SUFFIX.copy(out, PREFIX.length + CTX_LEN);
  return out.toString('base64');
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Parse a stored sha_state strictly; anything but the layout above throws ShaStateError. */
export function decodeShaState(b64: string): Sha256State {
  if (typeof b64 !== 'string') throw new ShaStateError(`sha_state is a ${typeof b64}, not base64 text`);
  const text = b64.trim();
  const raw = Buffer.from(text, 'base64');
  if (raw.toString('base64') !== text) {
    throw new ShaStateError(`sha_state is not canonical base64 (${text.length} characters)`);
  }
  if (raw.length !== PICKLE_LEN) {
    throw new ShaStateError(`sha_state is a ${raw.length}-byte pickle; Quay's resumablesha256.sha256 pickles to ${PICKLE_LEN} bytes`);
  }
  if (raw[0] !== 0x80 || (raw[PROTO_AT] !== 4 && raw[PROTO_AT] !== 5)) {
    throw new ShaStateError(`sha_state does not start with pickle PROTO 4 or 5 (starts ${hex(raw.subarray(0, 2))})`);
  }
  for (let i = PROTO_AT + 1; i < PREFIX.length; i++) {
    if (raw[i] !== PREFIX[i]) {
      throw new ShaStateError(
        `sha_state is not a pickle of ${MODULE}.${CLASS}: byte ${i} is 0x${hex(raw.subarray(i, i + 1))}, expected 0x${hex(PREFIX.subarray(i, i + 1))} (prefix ${JSON.stringify(raw.subarray(0, PREFIX.length).toString('latin1'))})`,
      );
    }
  }
  if (!raw.subarray(PREFIX.length + CTX_LEN).equals(SUFFIX)) {
    throw new ShaStateError(`sha_state does not end with MEMOIZE BUILD STOP (ends ${hex(raw.subarray(PREFIX.length + CTX_LEN))})`);
  }
  const ctx = raw.subarray(PREFIX.length, PREFIX.length + CTX_LEN);
  const datalen = ctx.readUInt32LE(64);
  if (datalen > 63) throw new ShaStateError(`sha_state has datalen ${datalen}; a SHA-256 block holds at most 63 pending bytes`);
  const lo = ctx.readUInt32LE(72);
  const hi = ctx.readUInt32LE(76);
  if (lo % 512 !== 0) throw new ShaStateError(`sha_state has bitlen ${(BigInt(hi) << 32n) | BigInt(lo)}, not a whole number of 512-bit blocks`);
  const bytes = hi * 0x20000000 + lo / 8 + datalen; // hi·2^32/8 + lo/8 + datalen
  if (bytes > MAX_BYTES) throw new ShaStateError(`sha_state claims ${(BigInt(hi) << 32n) | BigInt(lo)} bits hashed, more than this registry can count`);
  const h = new Uint32Array(8);
  for (let i = 0; i < 8; i++) h[i] = ctx.readUInt32LE(80 + 4 * i);
  return { h, buffer: new Uint8Array(ctx.subarray(0, datalen)), bytesHashed: bytes };
}

/** The state of a hasher that has seen nothing: SHA-256's initial words, no bytes. */
export function freshShaState(): Sha256State {
  return { h: Uint32Array.from(SHA256_IV), buffer: new Uint8Array(0), bytesHashed: 0 };
}

/** A stored state, or a fresh hasher's when the column is empty (null, undefined or ''). */
export function freshOrDecode(v: string | null | undefined): Sha256State {
  if (v === null || v === undefined || v === '') return freshShaState();
  return decodeShaState(v);
}
