/**
 * The body of a BcryptPool worker thread (bcrypt-pool.ts): one job at a time,
 * synchronous bcrypt, so the main thread's event loop never runs a round.
 * Messages in: {op: 'compare', password, hash} | {op: 'hash', password, cost};
 * out: {value} or {error}.
 */
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';
import type { WorkerJob, WorkerReply } from './bcrypt-pool.js';

const port = parentPort;
if (!port) throw new Error('bcrypt-worker.ts runs as a worker thread of BcryptPool');

port.on('message', (job: WorkerJob) => {
  let reply: WorkerReply;
  try {
    reply = { value: job.op === 'compare' ? bcrypt.compareSync(job.password, job.hash) : bcrypt.hashSync(job.password, job.cost) };
  } catch (e) {
    reply = { error: (e as Error).message };
  }
  port.postMessage(reply);
});
