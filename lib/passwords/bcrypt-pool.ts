/**
 * bcrypt off the event loop: a few worker threads (bcrypt-worker.ts) and a
 * bounded queue in front of them. A cost-12 check takes a core for a quarter
 * to half a second; run on the event loop (even in bcryptjs's async slices) a
 * flood of wrong passwords stalls every other request of the process, proxy
 * traffic included when the registry is embedded in the switchboard. Here the
 * loop only posts a message and waits.
 *
 * One pool per process (sharedBcryptPool), used by the registry's logins and
 * the dashboard's. When `maxQueue` jobs already wait, a new one is refused at
 * once with PasswordCheckBusy: callers answer "too many requests" instead of
 * queueing without bound. Workers start on first use and are unref'd while
 * idle, so they never keep a process (or a test) alive; a job in flight does.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';

type Job = { readonly op: 'compare'; readonly password: string; readonly hash: string } | { readonly op: 'hash'; readonly password: string; readonly cost: number };

/** One message to a worker. */
export type WorkerJob = Job;

/** A worker's answer: the value (verdict or hash), or bcrypt's error message. */
/** A worker runs one job at a time: its reply belongs to the job it was given last. */
export type WorkerReply = { readonly value: boolean | string } | { readonly error: string };

/** The password checker is saturated: refuse this attempt now (as 429) rather than queue it. */
export class PasswordCheckBusy extends Error {
  readonly retryAfterSeconds = 1;
  constructor() {
    super('too many password checks in progress; try again shortly');
    this.name = 'PasswordCheckBusy';
  }
}

interface BcryptPoolOptions {
  /** Worker threads (default min(2, cores - 1), at least 1). */
  readonly size?: number;
  /** Jobs that may wait for a free worker (default 16). */
  readonly maxQueue?: number;
}

interface BcryptPoolStats {
  readonly size: number;
  readonly running: number;
  readonly queued: number;
  /** Jobs finished, per worker thread id: the work happened on those threads. */
  readonly completedByThread: Readonly<Record<number, number>>;
}

interface Pending {
  readonly job: Job;
  resolve(value: boolean | string): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker | null;
  current: Pending | null;
}

const DEFAULT_POOL_SIZE = Math.max(1, Math.min(2, availableParallelism() - 1));
const DEFAULT_MAX_QUEUE = 16;

/**
 * The worker's file next to this one: `.js` in dist/, `.ts` when the sources
 * run under a TypeScript loader (tap), which the worker inherits through
 * Node's default execArgv.
 */
const WORKER_URL = new URL(`./bcrypt-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

export class BcryptPool {
  readonly size: number;
  readonly maxQueue: number;
  private readonly slots: Slot[];
  private readonly queue: Pending[] = [];
  private readonly completed = new Map<number, number>();
  private closed = false;

  constructor(opts: BcryptPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(opts.size ?? DEFAULT_POOL_SIZE));
    this.maxQueue = Math.max(0, Math.floor(opts.maxQueue ?? DEFAULT_MAX_QUEUE));
    this.slots = Array.from({ length: this.size }, () => ({ worker: null, current: null }));
  }

  /** Whether the password matches the bcrypt hash ($2a$/$2b$/$2y$; false for one bcrypt cannot read). */
  compare(password: string, hash: string): Promise<boolean> {
    return this.submit({ op: 'compare', password, hash }) as Promise<boolean>;
  }

  /** A new bcrypt hash of the password. */
  hash(password: string, cost: number): Promise<string> {
    return this.submit({ op: 'hash', password, cost }) as Promise<string>;
  }

  /** True when the next job would be refused (every worker busy and the queue full). */
  get saturated(): boolean {
    return !this.slots.some((s) => s.current === null) && this.queue.length >= this.maxQueue;
  }

  stats(): BcryptPoolStats {
    return {
      size: this.size,
      running: this.slots.filter((s) => s.current !== null).length,
      queued: this.queue.length,
      completedByThread: Object.fromEntries(this.completed),
    };
  }

  /** Stops the workers; queued and running jobs fail. */
  async close(): Promise<void> {
    this.closed = true;
    const gone = new Error('the bcrypt pool is closed');
    for (const p of this.queue.splice(0)) p.reject(gone);
    await Promise.all(
      this.slots.map(async (s) => {
        const w = s.worker;
        s.current?.reject(gone);
        s.worker = null;
        s.current = null;
        if (w) await w.terminate();
      }),
    );
  }

  private submit(job: Job): Promise<boolean | string> {
    if (this.closed) return Promise.reject(new Error('the bcrypt pool is closed'));
    return new Promise((resolve, reject) => {
      const pending: Pending = { job, resolve, reject };
      const free = this.slots.find((s) => s.current === null);
      if (free) this.run(free, pending);
      else if (this.queue.length < this.maxQueue) this.queue.push(pending);
      else reject(new PasswordCheckBusy());
    });
  }

  private run(slot: Slot, pending: Pending): void {
    const worker = slot.worker ?? this.start(slot);
    slot.current = pending;
    // A job in flight keeps the process alive (a CLI awaiting a hash); an idle worker does not.
    worker.ref();
    worker.postMessage(pending.job);
  }

  private start(slot: Slot): Worker {
    const worker = new Worker(WORKER_URL);
    worker.unref();
    slot.worker = worker;
    const threadId = worker.threadId;
    worker.on('message', (reply: WorkerReply) => {
      const p = slot.current;
      if (!p) return;
      this.completed.set(threadId, (this.completed.get(threadId) ?? 0) + 1);
      // A hash bcrypt cannot read matches nothing; hashing that fails is an error.
      if (!('error' in reply)) p.resolve(reply.value);
      else if (p.job.op === 'compare') p.resolve(false);
      else p.reject(new Error(`bcrypt: ${reply.error}`));
      this.next(slot);
    });
    const lost = (e: Error): void => {
      if (slot.worker !== worker) return;
      slot.worker = null;
      const p = slot.current;
      if (p) p.reject(e);
      this.next(slot);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`bcrypt worker exited (code ${code})`)));
    return worker;
  }

  /** The slot is free: take the next queued job, or go idle. */
  private next(slot: Slot): void {
    slot.current = null;
    const p = this.queue.shift();
    if (p && !this.closed) this.run(slot, p);
    else slot.worker?.unref();
  }
}

let shared: BcryptPool | null = null;

/** The process's pool (made on first use; its workers start with the first job). */
export function sharedBcryptPool(): BcryptPool {
  return (shared ??= new BcryptPool());
}
