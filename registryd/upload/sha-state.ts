/**
 * Quay's encoding of an in-progress upload's hasher (`blobupload.sha_state`,
 * quay-schema.md §5): base64 of a pickle (protocol 4, Python's default) of a
 * `resumablesha256.sha256` object, 160 bytes in all:
 *
 *   80 04                      PROTO 4
 *   95 <u64 LE = 149>          FRAME, the rest of the stream
 *   8c 0f "resumablesha256" 94 SHORT_BINUNICODE module, MEMOIZE
 *   8c 06 "sha256" 94          SHORT_BINUNICODE class, MEMOIZE
 *   93 94                      STACK_GLOBAL, MEMOIZE
 *   29 81 94                   EMPTY_TUPLE, NEWOBJ (no arguments), MEMOIZE
 *   43 70 <112 bytes> 94       SHORT_BINBYTES: the C struct below, MEMOIZE
 *   62 2e                      BUILD (→ __setstate__), STOP
 *
 * The 112 bytes are B-Con's SHA256_CTX as the C extension keeps it, in
 * little-endian byte order: data[64] (the pending block), datalen u32 (valid
 * bytes in data), 4 bytes of padding, bitlen u64 (bits of COMPLETED blocks
 * only), state[8] u32 (the working hash words). Bytes hashed = bitlen/8 + datalen.
 *
 * Only this protocol-4 form is accepted: it is what Quay writes (pickle.dumps
 * with the default protocol on Python 3.8–3.13).
 */
import { SHA256_IV, type Sha256State } from './sha256.js';

export class ShaStateError extends Error {
  readonly code = 'REG_SHA_STATE_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'ShaStateError';
  }
}

const MODULE = 'resumablesha256';
const CLASS = 'sha256';
const STATE_LEN = 112;

/** Everything before the 112 state bytes, and everything after. */
const PREFIX = Buffer.concat([
  Buffer.from([0x80, 0x04, 0x95]), Buffer.from([149, 0, 0, 0, 0, 0, 0, 0]),
  Buffer.from([0x8c, MODULE.length]), Buffer.from(MODULE, 'latin1'), Buffer.from([0x94]),
  Buffer.from([0x8c, CLASS.length]), Buffer.from(CLASS, 'latin1'), Buffer.from([0x94]),
  Buffer.from([0x93, 0x94, 0x29, 0x81, 0x94, 0x43, STATE_LEN]),
]);
const SUFFIX = Buffer.from([0x94, 0x62, 0x2e]);
const PICKLE_LEN = PREFIX.length + STATE_LEN + SUFFIX.length;

export function encodeShaState(s: Sha256State): string {
  const out = Buffer.alloc(PICKLE_LEN);
  PREFIX.copy(out, 0);
  const st = out.subarray(PREFIX.length, PREFIX.length + STATE_LEN);
  st.set(s.buffer, 0);
  st.writeUInt32LE(s.buffer.length, 64);
  const bits = (s.bytesHashed - s.buffer.length) * 8;
  st.writeUInt32LE(bits % 0x100000000, 72);
  st.writeUInt32LE(Math.floor(bits / 0x100000000), 76);
  for (let i = 0; i < 8; i++) st.writeUInt32LE(s.h[i]! >>> 0, 80 + 4 * i);
  SUFFIX.copy(out, PREFIX.length + STATE_LEN);
  return out.toString('base64');
}

export function decodeShaState(b64: string): Sha256State {
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== PICKLE_LEN || raw.toString('base64') !== b64.trim()) {
    throw new ShaStateError(`sha_state is ${raw.length} bytes of base64 pickle, expected ${PICKLE_LEN}`);
  }
  if (!raw.subarray(0, PREFIX.length).equals(PREFIX) || !raw.subarray(PREFIX.length + STATE_LEN).equals(SUFFIX)) {
    throw new ShaStateError(`sha_state is not a protocol-4 pickle of ${MODULE}.${CLASS}`);
  }
  const st = raw.subarray(PREFIX.length, PREFIX.length + STATE_LEN);
  const datalen = st.readUInt32LE(64);
  if (datalen > 63) throw new ShaStateError(`sha_state has ${datalen} pending bytes; at most 63 are possible`);
  const bits = st.readUInt32LE(72) + st.readUInt32LE(76) * 0x100000000;
  if (bits % 512 !== 0) throw new ShaStateError(`sha_state counts ${bits} bits of whole blocks, not a multiple of 512`);
  const h = new Uint32Array(8);
  for (let i = 0; i < 8; i++) h[i] = st.readUInt32LE(80 + 4 * i);
  return { h, buffer: new Uint8Array(st.subarray(0, datalen)), bytesHashed: bits / 8 + datalen };
}

/** A stored state, or a fresh hasher's when the column is empty. */
export function freshOrDecode(v: string | null | undefined): Sha256State {
  if (v === null || v === undefined || v === '') return { h: Uint32Array.from(SHA256_IV), buffer: new Uint8Array(0), bytesHashed: 0 };
  return decodeShaState(v);
}
