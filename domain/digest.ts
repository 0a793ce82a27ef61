/**
 * Content digests as registry clients send them (`sha256:<64 hex>`).
 *
 * Quay's routes accept anything shaped `<algorithm>:<hex>` (the route
 * regex); the handlers then refuse what is not a well-formed digest of a
 * supported algorithm. Only sha256 is supported, like Quay: its storage
 * layout (`sha256/<2 hex>/<hex>`) and `imagestorage.content_checksum` know no
 * other algorithm.
 */
import { DomainError } from './errors.js';

export const SHA256_PREFIX = 'sha256:';
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;
/** OCI image-spec digest grammar: algorithm ":" encoded. */
const ANY_DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function isSha256Digest(d: string): boolean {
  return d.length === 71 && SHA256_RE.test(d);
}

/**
 * The digest, checked: DIGEST_INVALID when it is not a digest at all, or
 * names an algorithm other than sha256, or its hex has the wrong length or
 * case (Quay compares digests as strings, so `sha256:ABC…` would name nothing).
 */
export function parseDigest(d: string | null | undefined, what = 'digest'): string {
  if (d && isSha256Digest(d)) return d;
  if (!d) throw new DomainError('DIGEST_INVALID', `${what} is missing`);
  if (!ANY_DIGEST_RE.test(d)) throw new DomainError('DIGEST_INVALID', `${what} ${JSON.stringify(d)} is not a digest`);
  if (!d.startsWith(SHA256_PREFIX)) throw new DomainError('DIGEST_INVALID', `digest algorithm of ${JSON.stringify(d)} is not supported (sha256 only)`);
  throw new DomainError('DIGEST_INVALID', `${what} ${JSON.stringify(d)} is not 64 lowercase hex characters after sha256:`);
}

/** The hex part of a checked sha256 digest. */
export function digestHex(d: string): string {
  return d.slice(SHA256_PREFIX.length);
}
