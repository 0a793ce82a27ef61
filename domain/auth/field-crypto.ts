/**
 * Quay's encrypted text columns (robot tokens, app-token secrets, ...):
 * `v0$$` + base64(nonce[13] ‖ AES-256-CCM ciphertext ‖ tag[16]), no
 * associated data, keyed by convertSecretKey(DATABASE_SECRET_KEY).
 */
import { createCipheriv, createDecipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import { convertSecretKey } from './secret-key.js';

const NONCE_BYTES = 13;
const TAG_BYTES = 16;
const SEPARATOR = '$$';
const VERSION = 'v0';

export class DecryptionFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionFailure';
  }
}

export class FieldEncrypter {
  private readonly key: Buffer;

  constructor(secret: string | number | bigint) {
    this.key = convertSecretKey(secret);
  }

  encrypt(value: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const c = createCipheriv('aes-256-ccm', this.key, nonce, { authTagLength: TAG_BYTES });
    const plain = Buffer.from(value, 'utf8');
    c.setAAD(Buffer.alloc(0), { plaintextLength: plain.length });
    const ct = Buffer.concat([c.update(plain), c.final()]);
    return `${VERSION}${SEPARATOR}${Buffer.concat([nonce, ct, c.getAuthTag()]).toString('base64')}`;
  }

  /** The plain value; DecryptionFailure for a foreign key, a tampered value or an unknown version. */
  decrypt(stored: string): string {
    const at = stored.indexOf(SEPARATOR);
    if (at < 0) throw new DecryptionFailure('not an encrypted value (no $$ separator)');
    const version = stored.slice(0, at);
    if (version !== VERSION) throw new DecryptionFailure(`unknown encryption version ${JSON.stringify(version)}`);
    const raw = Buffer.from(stored.slice(at + SEPARATOR.length), 'base64');
    if (raw.length < NONCE_BYTES + TAG_BYTES) throw new DecryptionFailure('encrypted value is too short');
    const nonce = raw.subarray(0, NONCE_BYTES);
    const ct = raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES);
    try {
      const d = createDecipheriv('aes-256-ccm', this.key, nonce, { authTagLength: TAG_BYTES });
      d.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      d.setAAD(Buffer.alloc(0), { plaintextLength: ct.length });
      const plain = d.update(ct);
      d.final();
      return plain.toString('utf8');
    } catch {
      throw new DecryptionFailure('encrypted value does not decrypt with this DATABASE_SECRET_KEY');
    }
  }

  /** Quay's `EncryptedCharField.matches`: decrypt and compare in constant time; false on any failure. */
  matches(stored: string, candidate: string): boolean {
    let plain: string;
    try {
      plain = this.decrypt(stored);
    } catch {
      return false;
    }
    const a = Buffer.from(plain, 'utf8');
    const b = Buffer.from(candidate, 'utf8');
    return a.length === b.length && timingSafeEqual(a, b);
  }
}
