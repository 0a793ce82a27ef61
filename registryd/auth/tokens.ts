/**
 * Registry bearer tokens (quay-schema.md §9): RS256 JWTs with a `kid`
 * header, minted for /v2/auth and checked on every /v2 request by Quay's
 * rules, so tokens cross between the Python runtime and ours both ways:
 * the kid must name an approved, unexpired `servicekey` row of the service,
 * `aud` must be SERVER_HOSTNAME, `iss` the service name, 30 s of clock
 * leeway, `exp` at most REGISTRY_JWT_AUTH_MAX_FRESH_S after `iat`, `iat` not
 * in the future, `sub` present.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { AuthStore } from '../../dal/model/auth-store.js';
import type { InstanceKey } from '../../domain/auth/instance-key.js';

export const ANONYMOUS_SUB = '(anonymous)';
export const TOKEN_LIFETIME_S = 3600;
export const CLOCK_SKEW_S = 30;

export interface AccessEntry {
  readonly type: 'repository';
  readonly name: string;
  readonly actions: readonly string[];
}

export interface TokenClaims extends JWTPayload {
  readonly sub: string;
  readonly access?: AccessEntry[];
  readonly context?: Record<string, unknown>;
}

export class InvalidToken extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidToken';
  }
}

export async function mintToken(
  key: InstanceKey,
  t: {
    readonly audience: string | null;
    readonly subject: string;
    readonly access: readonly AccessEntry[];
    readonly context: Record<string, unknown>;
    readonly nowMs: number;
  },
): Promise<string> {
  const now = Math.floor(t.nowMs / 1000);
  // Quay signs `aud: null` when the client sends no `service`; such a token validates nowhere, there or here.
  const payload: Record<string, unknown> = {
    iss: key.service,
    aud: t.audience,
    nbf: now,
    iat: now,
    exp: now + TOKEN_LIFETIME_S,
    sub: t.subject,
    access: t.access,
    context: t.context,
  };
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
}

export interface VerifySettings {
  readonly service: string;
  readonly audience: string;
  readonly maxFreshSeconds: number;
}

/** Public keys by kid, kept a minute (Quay caches them too), so a revoked key stops working within that. */
export class ServiceKeyCache {
  private readonly keys = new Map<string, { key: KeyObject | null; until: number }>();

  constructor(
    private readonly store: AuthStore,
    private readonly service: string,
    private readonly ttlMs = 60_000,
  ) {}

  async get(kid: string, nowMs: number): Promise<KeyObject | null> {
    const hit = this.keys.get(kid);
    if (hit && hit.until > nowMs) return hit.key;
    const row = await this.store.serviceKey(kid, this.service, nowMs);
    let key: KeyObject | null = null;
    if (row) {
      try {
        key = createPublicKey({ key: row.jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
      } catch {
        key = null;
      }
    }
    // Unknown kids are remembered briefly too, so garbage tokens cannot hammer the database.
    const until = nowMs + (key ? this.ttlMs : Math.min(this.ttlMs, 5_000));
    this.keys.set(kid, { key, until: Math.min(until, row?.expirationMs ?? until) });
    if (this.keys.size > 1000) this.keys.delete(this.keys.keys().next().value!);
    return key;
  }
}

export async function verifyToken(jwt: string, keys: ServiceKeyCache, s: VerifySettings, nowMs: number): Promise<TokenClaims> {
  let kid: string | undefined;
  try {
    const header = decodeProtectedHeader(jwt);
    if (header.alg !== 'RS256') throw new InvalidToken(`token algorithm ${String(header.alg)} is not RS256`);
    kid = header.kid;
  } catch (e) {
    if (e instanceof InvalidToken) throw e;
    throw new InvalidToken('Invalid bearer token format');
  }
  // Quay's own wording for these (util/security/registry_jwt.py); a client shows it.
  if (!kid) throw new InvalidToken('Missing kid header');
  const key = await keys.get(kid, nowMs);
  if (!key) throw new InvalidToken('Unknown service key');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(jwt, key, {
      algorithms: ['RS256'],
      audience: s.audience,
      issuer: s.service,
      clockTolerance: CLOCK_SKEW_S,
      requiredClaims: ['exp', 'iat'],
      currentDate: new Date(nowMs),
    }));
  } catch (e) {
    // PyJWT's wording for an expired token, which Quay passes on; other refusals in our words.
    if ((e as { code?: unknown }).code === 'ERR_JWT_EXPIRED') throw new InvalidToken('Signature has expired');
    throw new InvalidToken(`token rejected: ${(e as Error).message}`);
  }
  const iat = payload.iat!;
  const exp = payload.exp!;
  if (iat > nowMs / 1000 + CLOCK_SKEW_S) throw new InvalidToken('token was issued in the future');
  if (exp - iat > s.maxFreshSeconds) throw new InvalidToken(`token lifetime ${exp - iat} s exceeds ${s.maxFreshSeconds} s`);
  if (typeof payload.sub !== 'string') throw new InvalidToken('Missing sub field in JWT');
  if (payload.access !== undefined && !validAccess(payload.access)) throw new InvalidToken('Token contained invalid or malformed access grants');
  return payload as TokenClaims;
}

function validAccess(a: unknown): a is AccessEntry[] {
  return (
    Array.isArray(a) &&
    a.every(
      (e) =>
        e !== null &&
        typeof e === 'object' &&
        (e as AccessEntry).type === 'repository' &&
        typeof (e as AccessEntry).name === 'string' &&
        Array.isArray((e as AccessEntry).actions) &&
        (e as AccessEntry).actions.every((x) => x === 'push' || x === 'pull' || x === '*'),
    )
  );
}
