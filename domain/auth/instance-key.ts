/**
 * The key this instance signs registry tokens with (quay-schema.md §9): an
 * RSA-2048 private key in a PEM file (Quay's INSTANCE_SERVICE_KEY_LOCATION,
 * PKCS#1 like Quay's) and its kid, the RFC 7638 thumbprint, in a second file
 * (INSTANCE_SERVICE_KEY_KID_LOCATION). The public JWK is registered as an
 * approved `servicekey` row of the service, so every Quay process, Python or
 * ours, validates the tokens; the expiry is pushed forward while we run
 * (Quay's servicekeyworker does the same for its own key).
 *
 * Unlike Quay, which makes a new key at every boot, an existing key is reused
 * while its files are readable and its row is alive.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import type { AuthStore } from '../../dal/model/auth-store.js';
import type { Logger } from '../../lib/log.js';
import { writeFileAtomic } from '../../lib/files.js';

export interface InstanceKeySettings {
  readonly service: string;
  readonly keyFile: string;
  readonly kidFile: string;
  /** INSTANCE_SERVICE_KEY_EXPIRATION, minutes. */
  readonly expirationMinutes: number;
  /** servicekey.name: Quay writes the instance's URL. */
  readonly name: string;
}

export interface InstanceKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly service: string;
  /** Stop extending the key's expiry. */
  stop(): void;
}

async function publicJwk(key: KeyObject): Promise<{ jwk: Record<string, unknown>; kid: string }> {
  const pub = await exportJWK(createPublicKey(key));
  const kid = await calculateJwkThumbprint({ kty: pub.kty!, n: pub.n!, e: pub.e! }, 'sha256');
  return { jwk: { kty: pub.kty, n: pub.n, e: pub.e, kid }, kid };
}

/** Node's timers hold 2^31−1 ms (24.8 days); a longer delay fires after 1 ms, every ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * How often the key's expiry is pushed forward: a third of its lifetime
 * (two missed beats still leave it alive), at least every 10 s, and at most
 * Node's longest timer: Quay's recipes set INSTANCE_SERVICE_KEY_EXPIRATION to
 * 5256000 minutes (ten years), whose third no timer can hold.
 */
export function refreshIntervalMs(expirationMinutes: number): number {
  const third = (expirationMinutes * 60_000) / 3;
  return Math.min(MAX_TIMER_MS, Math.max(10_000, Number.isFinite(third) ? Math.floor(third) : MAX_TIMER_MS));
}

export async function loadOrCreateInstanceKey(store: AuthStore, s: InstanceKeySettings, log: Logger, now: () => number = Date.now): Promise<InstanceKey> {
  const expiry = (): number => now() + s.expirationMinutes * 60_000;
  let privateKey: KeyObject | null = null;
  if (existsSync(s.keyFile) && existsSync(s.kidFile)) {
    try {
      const candidate = createPrivateKey(readFileSync(s.keyFile));
      const { kid } = await publicJwk(candidate);
      if (kid === readFileSync(s.kidFile, 'utf8').trim()) privateKey = candidate;
      else log.warn('instance key and kid files disagree; making a new key', { key_file: s.keyFile, kid_file: s.kidFile });
    } catch (e) {
      log.warn('instance key unreadable; making a new key', { key_file: s.keyFile, error: (e as Error).message });
    }
  }
  if (!privateKey) {
    privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    writeFileAtomic(s.keyFile, privateKey.export({ type: 'pkcs1', format: 'pem' }) as string);
  }
  const { jwk, kid } = await publicJwk(privateKey);
  writeFileAtomic(s.kidFile, kid);
  await store.registerServiceKey({ kid, service: s.service, name: s.name, jwk, expirationMs: expiry() }, now());
  log.info('instance service key registered', { kid, service: s.service, expires_in_minutes: s.expirationMinutes });
  // Extend at a third of the lifetime, so two missed beats still leave the key alive.
  const timer = setInterval(() => {
    store.extendServiceKey(kid, expiry()).then(
      async (ok) => {
        if (!ok) await store.registerServiceKey({ kid, service: s.service, name: s.name, jwk, expirationMs: expiry() }, now());
      },
      (e: unknown) => log.error('cannot extend the instance service key', { kid, error: String(e) }),
    );
  }, refreshIntervalMs(s.expirationMinutes));
  timer.unref();
  return { kid, privateKey, service: s.service, stop: () => clearInterval(timer) };
}
