/**
 * bench/hash — the upload hasher: MB/s of the resumable SHA-256 (the block
 * function in use, normally the native one, and the TypeScript fallback)
 * against node:crypto, plus the cost of saving its state in Quay's encoding
 * after a chunk and of resuming from it.
 *
 *   npm run bench:hash          (BENCH_HASH_MIB=64 for a shorter run)
 *
 * hash-wasm is measured too when it happens to be installed (it is not a
 * dependency of this project).
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { ResumableSha256, SHA256_IMPLEMENTATION } from '../registryd/upload/sha256.js';
import { encodeShaState, decodeShaState } from '../registryd/upload/sha-state.js';
import { columns } from './lib/procs.js';

const MIB = Number(process.env.BENCH_HASH_MIB ?? 256);
const CHUNK = 64 * 1024;

function data(): Buffer {
  const b = Buffer.allocUnsafe(MIB * 1048576);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE((i * 2654435761) >>> 0, i);
  return b;
}

/** Best of three after a warm-up, in MB/s (10^6 bytes). */
async function mbps(fn: () => unknown, bytes: number): Promise<number> {
  await fn();
  let best = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    await fn();
    best = Math.max(best, bytes / 1e6 / ((performance.now() - t0) / 1000));
  }
  return best;
}

function ours(d: Buffer): string {
  const h = new ResumableSha256();
  for (let i = 0; i < d.length; i += CHUNK) h.update(d.subarray(i, i + CHUNK));
  return h.digestHex();
}

if (process.argv[2] === '--child') {
  // The TypeScript block function, measured in a process started with SWITCHBOARD_NATIVE=off.
  const d = data();
  if (SHA256_IMPLEMENTATION !== 'js') throw new Error('child expected the TypeScript block function');
  console.log((await mbps(() => ours(d), d.length)).toFixed(0));
  process.exit(0);
}

interface WasmHasher {
  init(): unknown;
  update(b: Uint8Array): unknown;
  digest(enc: 'hex'): string;
}

/** hash-wasm's SHA-256, only if some other package put it in node_modules. */
async function hashWasm(): Promise<WasmHasher | null> {
  try {
    const path = createRequire(import.meta.url).resolve('hash-wasm');
    const m = (await import(path)) as { createSHA256?: () => Promise<WasmHasher> };
    return m.createSHA256 ? await m.createSHA256() : null;
  } catch {
    return null;
  }
}

const d = data();
const want = createHash('sha256').update(d).digest('hex');
if (ours(d) !== want) throw new Error('ResumableSha256 disagrees with node:crypto');
const mine = await mbps(() => ours(d), d.length);
const node = await mbps(() => {
  const h = createHash('sha256');
  for (let i = 0; i < d.length; i += CHUNK) h.update(d.subarray(i, i + CHUNK));
  return h.digest('hex');
}, d.length);
const child = spawnSync(process.execPath, [process.argv[1]!, '--child'], { encoding: 'utf8', env: { ...process.env, SWITCHBOARD_NATIVE: 'off' } });
const js = Number(child.stdout.trim());
if (!(js > 0)) throw new Error(`TypeScript fallback run failed: ${child.stderr}`);
const wasm = await hashWasm();
const wasmMbps = wasm
  ? await mbps(() => {
      wasm.init();
      for (let i = 0; i < d.length; i += CHUNK) wasm.update(d.subarray(i, i + CHUNK));
      return wasm.digest('hex');
    }, d.length)
  : null;

// Saving the state after a chunk, and resuming from it (a state with pending bytes).
const h = new ResumableSha256().update(d.subarray(0, 1000));
const N = 50_000;
let sink = 0;
for (let i = 0; i < N; i++) sink += encodeShaState(h.exportState()).length; // warm-up
let t0 = performance.now();
for (let i = 0; i < N; i++) sink += encodeShaState(h.exportState()).length;
const encodeUs = ((performance.now() - t0) * 1000) / N;
const enc = encodeShaState(h.exportState());
for (let i = 0; i < N; i++) sink += new ResumableSha256(decodeShaState(enc)).bytesHashed; // warm-up
t0 = performance.now();
for (let i = 0; i < N; i++) sink += new ResumableSha256(decodeShaState(enc)).bytesHashed;
const decodeUs = ((performance.now() - t0) * 1000) / N;
const chunkUs = (CHUNK / (mine * 1e6)) * 1e6;

const ratio = (x: number): string => `${(x / node).toFixed(2)}×`;
console.log(`bench/hash — resumable SHA-256 vs node:crypto, ${MIB} MiB in ${CHUNK / 1024} KiB updates, best of 3 after a warm-up`);
console.log(`node ${process.version}, ${cpus()[0]?.model ?? '?'} (${cpus().length} CPUs); block function in use: ${SHA256_IMPLEMENTATION}`);
console.log('');
console.log(
  columns([
    ['', 'MB/s', 'vs node:crypto'],
    [`ResumableSha256 (${SHA256_IMPLEMENTATION === 'native' ? 'native block function' : 'TypeScript block function'})`, mine.toFixed(0), ratio(mine)],
    ...(SHA256_IMPLEMENTATION === 'native' ? [['ResumableSha256 (TypeScript fallback, SWITCHBOARD_NATIVE=off)', js.toFixed(0), ratio(js)]] : []),
    ['node:crypto createHash (not resumable)', node.toFixed(0), '1.00×'],
    ['hash-wasm createSHA256', wasmMbps === null ? '—' : wasmMbps.toFixed(0), wasmMbps === null ? 'not installed, skipped' : ratio(wasmMbps)],
  ]),
);
console.log('');
console.log(`save state after a chunk (exportState + Quay pickle + base64): ${encodeUs.toFixed(2)} µs (hashing ${CHUNK / 1024} KiB takes ${chunkUs.toFixed(0)} µs)`);
if (sink === 0) throw new Error('state benchmark measured nothing');
console.log(`resume (decodeShaState + new ResumableSha256): ${decodeUs.toFixed(2)} µs`);
console.log(
  `verdict: hash ${mine.toFixed(0)} MB/s = ${ratio(mine)} node:crypto — ${mine / node >= 0.9 ? 'PASS' : 'FAIL'} (target ≥ 0.9× node:crypto); TypeScript fallback ${js.toFixed(0)} MB/s = ${ratio(js)}`,
);
