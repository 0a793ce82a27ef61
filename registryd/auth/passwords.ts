/**
 * User passwords: bcrypt, as Quay's `"user".password_hash` holds them
 * (`$2b$12$…` from Python's bcrypt; `$2a$`/`$2y$` read too). bcryptjs runs
 * its rounds in slices between event-loop turns, so a login does not stall
 * other requests.
 */
import bcrypt from 'bcryptjs';

/** Python bcrypt.gensalt()'s default cost. */
export const BCRYPT_COST = 12;

export function hashPassword(password: string, cost = BCRYPT_COST): Promise<string> {
  return bcrypt.hash(password, cost);
}

export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  if (!hash || !/^\$2[aby]\$\d\d\$/.test(hash)) return false;
  try {
    return await bcrypt.compare(password, hash);
  } catch {
    return false;
  }
}

/** Quay's exponential_backoff: the time a user may try again after `attempts` failures (ms). */
export function retryAfterMs(attempts: number, lastFailureMs: number): number {
  return lastFailureMs + 500 * (2 ** attempts - 1);
}
