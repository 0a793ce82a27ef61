/**
 * bench/hash — the upload hasher: MB/s of the resumable SHA-256 (native block
 * function, and the TypeScript fallback) against node:crypto, plus the cost
 * of saving its state in Quay's encoding after a chunk.
 *
 *   npm run bench:hash
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
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

function mbps(fn: () => void, bytes: number): number {
  fn(); // warm-up
  let best = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    fn();
    best = Math.max(best, bytes / 1e6 / ((performance.now() - t0) / 1000));
  }
  return best;
}

if (process.argv[2] === '--child') {
  // The TypeScript block function, measured in a process started with REGISTRYD_NATIVE=off.
  const d = data();
  console.log(mbps(() => { const h = new ResumableSha256(); for (let i = 0; i < d.length; i += CHUNK) h.update(d.subarray(i, i + CHUNK)); h.digestHex(); }, d.length).toFixed(0));
  process.exit(0);
}

const d = data();
const ours = mbps(() => { const h = new ResumableSha256(); for (let i = 0; i < d.length; i += CHUNK) h.update(d.subarray(i, i + CHUNK)); h.digestHex(); }, d.length);
const node = mbps(() => { const h = createHash('sha256'); for (let i = 0; i < d.length; i += CHUNK) h.update(d.subarray(i, i + CHUNK)); h.digest('hex'); }, d.length);
const js = Number(spawnSync(process.execPath, [process.argv[1]!, '--child'], { encoding: 'utf8', env: { ...process.env, REGISTRYD_NATIVE: 'off' } }).stdout.trim());
const h = new ResumableSha256().update(d.subarray(0, 1000));
const N = 20000;
let t0 = performance.now();
for (let i = 0; i < N; i++) encodeShaState(h.exportState());
const encodeUs = ((performance.now() - t0) * 1000) / N;
const enc = encodeShaState(h.exportState());
t0 = performance.now();
for (let i = 0; i < N; i++) new ResumableSha256(decodeShaState(enc));
const decodeUs = ((performance.now() - t0) * 1000) / N;

console.log(`bench/hash — resumable SHA-256 vs node:crypto, ${MIB} MiB in ${CHUNK / 1024} KiB updates, best of 3`);
console.log(`node ${process.version}, ${cpus()[0]?.model ?? '?'}; block function in use: ${SHA256_IMPLEMENTATION}`);
console.log('');
console.log(columns([
  ['', 'MB/s', 'vs node:crypto'],
  [`ResumableSha256 (${SHA256_IMPLEMENTATION})`, ours.toFixed(0), `${(ours / node).toFixed(2)}×`],
  ['ResumableSha256 (TypeScript fallback)', String(js), `${(js / node).toFixed(2)}×`],
  ['node:crypto createHash', node.toFixed(0), '1.00×'],
]));
console.log('');
console.log(`save state after a chunk (export + Quay pickle + base64): ${encodeUs.toFixed(2)} µs; resume (decode + import): ${decodeUs.toFixed(2)} µs`);
console.log(`hash: ${ours.toFixed(0)} MB/s (${(ours / node).toFixed(2)}× node:crypto) — ${ours / node >= 0.9 ? 'PASS' : 'FAIL'} (target ≥ 0.9× node:crypto)`);
