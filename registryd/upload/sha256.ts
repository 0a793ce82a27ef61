/**
 * SHA-256 whose state can be exported and imported mid-stream (FIPS 180-4).
 * node:crypto cannot export its midstate, and a resumable upload must store
 * it after every chunk (blobupload.sha_state), so this is plain TypeScript,
 * written for speed: whole 64-byte blocks are compressed straight out of the
 * caller's buffer, only a block that straddles two calls is copied.
 *
 * The block function runs natively when the project's addon is built
 * (../native/sha256-blocks.c: OpenSSL's SHA-NI/AVX2 code, 5× the TypeScript
 * one here); otherwise the TypeScript block function below does the work.
 */
import { native as addon } from '../native/index.js';

export interface Sha256State {
  /** The eight working hash words. */
  readonly h: Uint32Array;
  /** Pending bytes of an incomplete block (length < 64). */
  readonly buffer: Uint8Array;
  /** Total bytes fed, pending ones included. */
  readonly bytesHashed: number;
}

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export const SHA256_IV: readonly number[] = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/** Compress every whole block of data[from, to) into h (to - from is a multiple of 64). */
function jsBlocks(h: Int32Array, w: Int32Array, data: Uint8Array, from: number, to: number): void {
  let h0 = h[0]!, h1 = h[1]!, h2 = h[2]!, h3 = h[3]!, h4 = h[4]!, h5 = h[5]!, h6 = h[6]!, h7 = h[7]!;
  for (let p = from; p < to; p += 64) {
    for (let i = 0, j = p; i < 16; i++, j += 4) {
      w[i] = (data[j]! << 24) | (data[j + 1]! << 16) | (data[j + 2]! << 8) | data[j + 3]!;
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15]!;
      const y = w[i - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, hh = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + hh) | 0;
  }
  h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4; h[5] = h5; h[6] = h6; h[7] = h7;
}

const native = addon ? addon.sha256_blocks : null;

/** Which block function is in use: 'native' (OpenSSL via the addon) or 'js'. */
export const SHA256_IMPLEMENTATION: 'native' | 'js' = native ? 'native' : 'js';

function blocks(h: Int32Array, w: Int32Array, data: Uint8Array, from: number, to: number): void {
  if (native) native(h, from === 0 && to === data.length ? data : data.subarray(from, to));
  else jsBlocks(h, w, data, from, to);
}

export class ResumableSha256 {
  private readonly h = new Int32Array(8);
  private readonly w = new Int32Array(64);
  private readonly pending = new Uint8Array(64);
  private pendingLen = 0;
  private total = 0;

  constructor(state?: Sha256State) {
    if (!state) {
      this.h.set(SHA256_IV.map((x) => x | 0));
      return;
    }
    if (state.h.length !== 8 || state.buffer.length >= 64 || state.bytesHashed < state.buffer.length || (state.bytesHashed - state.buffer.length) % 64 !== 0) {
      throw new Error('inconsistent SHA-256 state');
    }
    this.h.set(new Int32Array(state.h.buffer, state.h.byteOffset, 8));
    this.pending.set(state.buffer);
    this.pendingLen = state.buffer.length;
    this.total = state.bytesHashed;
  }

  get bytesHashed(): number {
    return this.total;
  }

  update(data: Uint8Array): this {
    let from = 0;
    const n = data.length;
    this.total += n;
    if (this.pendingLen > 0) {
      const take = Math.min(64 - this.pendingLen, n);
      this.pending.set(data.subarray(0, take), this.pendingLen);
      this.pendingLen += take;
      from = take;
      if (this.pendingLen < 64) return this;
      blocks(this.h, this.w, this.pending, 0, 64);
      this.pendingLen = 0;
    }
    const whole = from + ((n - from) & ~63);
    if (whole > from) blocks(this.h, this.w, data, from, whole);
    if (whole < n) {
      this.pending.set(data.subarray(whole), 0);
      this.pendingLen = n - whole;
    }
    return this;
  }

  exportState(): Sha256State {
    return { h: new Uint32Array(this.h), buffer: this.pending.slice(0, this.pendingLen), bytesHashed: this.total };
  }

  /** The digest of everything so far, as lowercase hex; the hasher can keep going afterwards. */
  digestHex(): string {
    const h = new Int32Array(this.h);
    const tail = new Uint8Array(this.pendingLen < 56 ? 64 : 128);
    tail.set(this.pending.subarray(0, this.pendingLen));
    tail[this.pendingLen] = 0x80;
    const bits = this.total * 8;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 0x100000000));
    view.setUint32(tail.length - 4, bits >>> 0);
    blocks(h, new Int32Array(64), tail, 0, tail.length);
    let out = '';
    for (let i = 0; i < 8; i++) out += (h[i]! >>> 0).toString(16).padStart(8, '0');
    return out;
  }
}
