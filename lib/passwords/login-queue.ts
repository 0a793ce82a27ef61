/**
 * One password check per name at a time in this process.
 *
 * Without it, a flood of attempts on one name fills the bcrypt pool with
 * guesses that Quay's back-off (or the limiter) would refuse as soon as the
 * first of them fails, and all of them pass the back-off check before that
 * failure is recorded. Here later attempts wait for the one in flight, then
 * look again (their `waited` is true: what they read before is stale) before
 * costing a bcrypt run.
 *
 * Correct logins are never refused for running together: an attempt that
 * waited behind one with the same password for the same hash takes its
 * verdict (docker asks for several tokens at once with the same credentials:
 * one bcrypt run, not one each). The verdict lives as long as the burst (the
 * attempts on the name that overlap), in memory, keyed by an HMAC under a
 * per-process key. At most `maxWaiting` attempts wait per name; more are
 * refused at once with PasswordCheckBusy.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { PasswordCheckBusy } from './bcrypt-pool.js';
import { verifyPassword } from './passwords.js';

const DEFAULT_MAX_WAITING_PER_NAME = 16;

export interface LoginTurn {
  /** Whether this attempt waited for another on the same name. */
  readonly waited: boolean;
  /** verifyPassword, or the verdict of an identical check made earlier in this burst. */
  verify(password: string, hash: string | null): Promise<boolean>;
}

interface Verdict {
  readonly hash: string;
  readonly digest: Buffer;
  readonly ok: boolean;
}

interface Burst {
  /** Attempts running or waiting. */
  queued: number;
  /** Settles when the last attempt queued so far is done. */
  tail: Promise<void>;
  verdict: Verdict | null;
}

const KEY = randomBytes(32);

export class LoginQueue {
  private readonly bursts = new Map<string, Burst>();

  constructor(
    private readonly maxWaiting = DEFAULT_MAX_WAITING_PER_NAME,
    private readonly check: (password: string, hash: string | null) => Promise<boolean> = verifyPassword,
  ) {}

  /** Runs `attempt` once no other attempt on `name` is in flight. */
  async run<T>(name: string, attempt: (turn: LoginTurn) => Promise<T>): Promise<T> {
    const found = this.bursts.get(name);
    if (found && found.queued > this.maxWaiting) throw new PasswordCheckBusy();
    const burst = found ?? { queued: 0, tail: Promise.resolve(), verdict: null };
    if (!found) this.bursts.set(name, burst);
    burst.queued++;
    const before = burst.tail;
    let done!: () => void;
    burst.tail = new Promise<void>((resolve) => {
      done = resolve;
    });
    try {
      // The first attempt starts in this very turn of the loop: nothing can slip in between
      // a caller's admission check and its bcrypt job.
      if (found) await before;
      return await attempt({ waited: found !== undefined, verify: (password, hash) => this.verify(burst, password, hash) });
    } finally {
      done();
      if (--burst.queued === 0) this.bursts.delete(name);
    }
  }

  private async verify(burst: Burst, password: string, hash: string | null): Promise<boolean> {
    if (hash === null) return this.check(password, hash);
    const digest = createHmac('sha256', KEY).update(password).digest();
    const v = burst.verdict;
    if (v && v.hash === hash && timingSafeEqual(v.digest, digest)) return v.ok;
    const ok = await this.check(password, hash);
    burst.verdict = { hash, digest, ok };
    return ok;
  }
}
