/**
 * User passwords: bcrypt, as Quay's `"user".password_hash` holds them
 * (`$2b$12$…` from Python's bcrypt; `$2a$`/`$2y$` read too), computed on the
 * process's worker threads (bcrypt-pool.ts) so a login never stalls other
 * requests. Both throw PasswordCheckBusy when the pool's queue is full.
 *
 * And Quay's login back-off (data/model/user.py verify_user, util/backoff.py):
 * after n failures a user may not try again before
 * last_invalid_login + 0.5 s · (2^n − 1). Two deliberate differences (docs/quay-runtime.md, "Auth as Quay does it"):
 * the wait is capped at MAX_LOGIN_BACKOFF_MS, and the stored count stops at
 * MAX_COUNTED_LOGIN_FAILURES, the first count whose wait reaches the cap. An
 * attacker with patience then cannot lock a user out for days, on this side
 * or on Python Quay's, which reads the same count; and the count this side
 * writes never reaches where Python's back-off overflows its datetime (n ≥ 39:
 * every login of the user a 500).
 */
import { sharedBcryptPool } from './bcrypt-pool.js';

export { PasswordCheckBusy } from './bcrypt-pool.js';

/** Python bcrypt.gensalt()'s default cost. */
export const BCRYPT_COST = 12;

/** The longest wait a run of failures imposes here (Quay's has no bound). */
export const MAX_LOGIN_BACKOFF_MS = 15 * 60_000;

/** Quay's EXPONENTIAL_BACKOFF_SCALE (1 s) · 5 / 10: the wait after n failures is BACKOFF_UNIT_MS · (2^n − 1). */
const BACKOFF_UNIT_MS = 500;

/** The smallest count whose back-off reaches the cap (11: 1023.5 s). */
export const MAX_COUNTED_LOGIN_FAILURES = Math.ceil(Math.log2(MAX_LOGIN_BACKOFF_MS / BACKOFF_UNIT_MS + 1));

const BCRYPT_HASH = /^\$2[aby]\$\d\d\$/;

export function hashPassword(password: string, cost = BCRYPT_COST): Promise<string> {
  return sharedBcryptPool().hash(password, cost);
}

/** Whether the password matches; false for a missing or non-bcrypt hash. PasswordCheckBusy when saturated. */
export function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  if (!hash || !BCRYPT_HASH.test(hash)) return Promise.resolve(false);
  return sharedBcryptPool().compare(password, hash);
}

/** When a user with `attempts` failures, the last at `lastFailureMs`, may try again (ms; capped). */
export function retryAfterMs(attempts: number, lastFailureMs: number): number {
  return lastFailureMs + Math.min(BACKOFF_UNIT_MS * (2 ** attempts - 1), MAX_LOGIN_BACKOFF_MS);
}

/** The count a failure leaves: one more, up to MAX_COUNTED_LOGIN_FAILURES (a count already above stays). */
export function nextFailureCount(attempts: number): number {
  return attempts >= MAX_COUNTED_LOGIN_FAILURES ? attempts : attempts + 1;
}
