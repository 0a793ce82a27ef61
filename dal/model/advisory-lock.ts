import { createHash } from 'node:crypto';

/**
 * Quay's advisory lock id (compute_advisory_lock_id in data/database.py): the
 * first 8 bytes of sha256("<namespace>:<key>"), big-endian signed int64, as a
 * decimal string (pass it as `$1::bigint`).
 */
export function advisoryLockId(namespace: string, key: number | string): string {
  return createHash('sha256').update(`${namespace}:${key}`).digest().readBigInt64BE(0).toString();
}
