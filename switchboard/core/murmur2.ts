/**
 * nginx-compatible `split_clients` bucketing.
 *
 * nginx's `split_clients "<key>" $var { P% a; * b; }` hashes the key with
 * MurmurHash2 (32-bit, seed = byte length) and puts the subject in the first
 * bucket when `hash < floor(P_hundredths * 0xffffffff / 10000)`. The functions
 * here reproduce that decision bit for bit so that the Node side and the nginx
 * edge always agree on who is "in" a rollout percentage.
 *
 * Contract:
 *  - sticky: the same key always gets the same hash, hence the same answer for
 *    a given percent (no randomness, no per-process seed);
 *  - monotonic: thresholds only grow with the percent, so a subject that is in
 *    at percent p stays in at every q > p (raising a rollout never evicts
 *    anyone).
 *
 * Checked against a real nginx in switchboard/test/core/split-clients-nginx.test.ts.
 */

const M = 0x5bd1e995;

const encoder = new TextEncoder();
/** Reusable scratch space for the non-ASCII path (grown on demand). */
let scratch = new Uint8Array(256);

/** Mixes one little-endian 4-byte block `k` into the running hash `h`. */
function mixBlock(h: number, k: number): number {
  k = Math.imul(k, M);
  k ^= k >>> 24;
  k = Math.imul(k, M);
  return Math.imul(h, M) ^ k;
}

/** Final avalanche, returned as an unsigned 32-bit number. */
function finish(h: number): number {
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h >>> 0;
}

function hashBytes(data: Uint8Array, len: number): number {
  let h = len | 0;
  let i = 0;
  const blocks = len & ~3;
  while (i < blocks) {
    const k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    h = mixBlock(h, k);
    i += 4;
  }
  const rest = len & 3;
  if (rest !== 0) {
    if (rest === 3) h ^= data[i + 2]! << 16;
    if (rest >= 2) h ^= data[i + 1]! << 8;
    h ^= data[i]!;
    h = Math.imul(h, M);
  }
  return finish(h);
}

function hashNonAscii(key: string): number {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  const need = key.length * 3;
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  const { written } = encoder.encodeInto(key, scratch);
  return hashBytes(scratch, written);
}

/**
 * nginx's `ngx_murmur_hash2`: MurmurHash2, 32-bit, seed = byte length,
 * little-endian 4-byte blocks. Strings are hashed as their UTF-8 bytes (lone
 * surrogates become U+FFFD, like TextEncoder/Buffer). Returns an unsigned
 * 32-bit integer. Allocation-free for ASCII strings.
 */
export function murmurHash2(key: string | Uint8Array): number {
  if (typeof key !== 'string') return hashBytes(key, key.length);

  // Single pass over the string assuming ASCII (byte length === string
  // length); bail out to the UTF-8 encoder at the first non-ASCII code unit.
  const len = key.length;
  let h = len | 0;
  let i = 0;
  const blocks = len & ~3;
  while (i < blocks) {
    const c0 = key.charCodeAt(i);
    const c1 = key.charCodeAt(i + 1);
    const c2 = key.charCodeAt(i + 2);
    const c3 = key.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) > 0x7f) return hashNonAscii(key);
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
    i += 4;
  }
  const rest = len & 3;
  if (rest !== 0) {
    const c0 = key.charCodeAt(i);
    const c1 = rest >= 2 ? key.charCodeAt(i + 1) : 0;
    const c2 = rest === 3 ? key.charCodeAt(i + 2) : 0;
    if ((c0 | c1 | c2) > 0x7f) return hashNonAscii(key);
    h ^= (c2 << 16) | (c1 << 8) | c0;
    h = Math.imul(h, M);
  }
  return finish(h);
}

/**
 * The 32-bit boundary nginx's `split_clients` computes for a single first
 * bucket of `percent`%: the percent is read as fixed-point hundredths
 * p = round(percent * 100) in 0..10000 and the boundary is
 * floor(p * 0xffffffff / 10000). A subject is in the bucket when
 * `hash < boundary`.
 *
 * Exactness: p * 0xffffffff <= ~4.3e13 < 2^53, so the product is an exact
 * double; the quotient is <= 2^32, where doubles are spaced 2^-20 apart, while
 * a non-integer quotient n/10000 is at least 1e-4 away from the next integer,
 * so rounding the division can never cross an integer and Math.floor is exact
 * (also checked against BigInt for every p in the test).
 *
 * Like nginx (which rejects `12.345%` and `-1%` as "invalid percent value"),
 * percents outside [0, 100], non-finite values, or values with more than two
 * decimals throw a RangeError. (nginx also rejects `0%` in a config; here 0
 * simply yields boundary 0, i.e. nobody.)
 */
export function percentThreshold(percent: number): number {
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new RangeError(`percent must be a number in [0, 100], got ${percent}`);
  }
  const scaled = percent * 100;
  const p = Math.round(scaled);
  if (Math.abs(scaled - p) > 1e-6) {
    throw new RangeError(`percent may have at most two decimals, got ${percent}`);
  }
  return Math.floor((p * 0xffffffff) / 10000);
}

/**
 * True when a subject with MurmurHash2 `hash` falls in a rollout of `percent`%,
 * with the same decision as nginx's `split_clients "<key>" $v { percent% in; * out; }`.
 *
 *  - percent <= 0 → false (nobody). nginx refuses `0%` in config altogether,
 *    so a renderer must omit the bucket instead.
 *  - percent >= 100 → true (everybody). Deliberate deviation: nginx's `100%`
 *    gives boundary 0xffffffff, so the single hash value 0xffffffff would fall
 *    through to `*`. We treat 100 as everyone, and the nginx renderer must emit
 *    `*` (not `100%`) for a 100% bucket so both sides agree.
 *  - otherwise hash < percentThreshold(percent) (throws RangeError for more
 *    than two decimals or NaN, like nginx's config parser).
 *
 * Sticky and monotonic: see the module comment.
 */
export function inPercent(hash: number, percent: number): boolean {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  return hash < percentThreshold(percent);
}
