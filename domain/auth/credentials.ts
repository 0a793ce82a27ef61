/**
 * Who an `Authorization: Basic` header is (Quay's auth/credentials.py
 * validate_credentials, data/model/user.py verify_user and verify_robot): a
 * user's password, a robot `ns+name` with its token, `$app` with an
 * app-specific token. The /v2 token endpoint asks it (registryd/auth), and
 * so will the API's Basic logins. A refusal is DomainError UNAUTHORIZED whose
 * `publicMessage` is Quay's wording; each edge adds its own challenge.
 *
 * Password logins are guarded in layers, cheapest first: the limiter (per
 * client address, then per user name), one check per name at a time
 * (login-queue.ts), Quay's back-off read from the database (refused without
 * hashing or counting), bcrypt on the worker pool (bcrypt-pool.ts), and a
 * failure counted with a compare-and-swap, so that wrong passwords racing on
 * this node or others count once per back-off window. Refusals before the
 * check are LoginThrottled (429, as Quay's TooManyLoginAttemptsException).
 * Every refusal is logged with the client's address, never the secret.
 */
import { DomainError } from '../errors.js';
import type { AuthStore, UserRow } from '../../dal/model/auth-store.js';
import { LogSampler, type Logger } from '../../lib/log.js';
import type { FieldEncrypter } from './field-crypto.js';
import { PasswordCheckBusy } from '../../lib/passwords/bcrypt-pool.js';
import { LoginLimiter, REGISTRY_LOGIN_LIMITS, type LoginLimits } from '../../lib/passwords/login-limiter.js';
import { LoginQueue, type LoginTurn } from '../../lib/passwords/login-queue.js';
import { nextFailureCount, retryAfterMs } from '../../lib/passwords/passwords.js';

/**
 * A login refused before its password was checked: Quay's back-off (`backoff`),
 * the limiter (`name`, `address`) or a saturated password checker (`busy`).
 * Answered as Quay answers TooManyLoginAttemptsException (registryd/http/auth.ts).
 */
export class LoginThrottled extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    readonly by: 'backoff' | 'name' | 'address' | 'busy',
  ) {
    super('Too many login attempts.');
    this.name = 'LoginThrottled';
  }
}

/** Who is logging in, as the HTTP layer sees it: for limits and logs. */
export interface LoginClient {
  /** The client's address (through TRUSTED_PROXIES). */
  readonly address: string;
  /** The request's X-Forwarded-For as sent, for the logs (believed only as far as `address` says). */
  readonly forwardedFor: string | null;
  /**
   * The address is a local proxy's that TRUSTED_PROXIES does not name (the
   * switchboard in front, embedded or not), shared by all its clients: no
   * per-address limit, which would lock every client out at once.
   */
  readonly shared: boolean;
  /** The User-Agent header as sent ('' when absent), for action logs. */
  readonly userAgent?: string;
}

/** The address the limiter counts a client's attempts against (none for a shared one). */
function limitedAddress(c: LoginClient): string | null {
  return c.shared ? null : c.address;
}

/** Why a login was refused, in the logs (the dashboard's words where they overlap). */
type LoginFailure = 'wrong_password' | 'unknown_name' | 'rate_limited' | 'disabled' | 'invalid_token' | 'malformed' | 'unsupported';

/** Who presented credentials (to /v2/auth). */
export type Principal =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'user' | 'robot'; readonly user: UserRow }
  | { readonly kind: 'appspecifictoken'; readonly user: UserRow; readonly tokenUuid: string; readonly title: string };

/**
 * Quay's login_failure action log (auth/credentials.py, when
 * ACTION_LOG_AUDIT_LOGIN_FAILURES is on): the account (a user or namespace
 * name, null: none known), the performer, and the metadata in Quay's order.
 */
export interface LoginFailureAudit {
  loginFailed(f: { readonly account: string | null; readonly performerId: number | null; readonly metadata: Readonly<Record<string, string>> }, client: LoginClient): Promise<void>;
}

export interface CredentialDeps {
  readonly store: AuthStore;
  readonly log: Logger;
  readonly now: () => number;
  /** DATABASE_SECRET_KEY's encrypter (robot tokens, app-token secrets); null without the key. */
  readonly encrypter: FieldEncrypter | null;
  /** FEATURE_APP_SPECIFIC_TOKENS. */
  readonly appSpecificTokens: boolean;
  /** Default REGISTRY_LOGIN_LIMITS. */
  readonly loginLimits?: LoginLimits;
  /** Where refused logins are recorded as Quay records them (the action log). */
  readonly audit?: LoginFailureAudit;
}

/** A refused login: UNAUTHORIZED with Quay's message, which clients are shown as it is. */
function unauthorized(message: string): DomainError {
  return new DomainError('UNAUTHORIZED', message, { publicMessage: message, detail: {} });
}

export class Credentials {
  private readonly limiter: LoginLimiter;
  private readonly logins = new LoginQueue();
  private refusedLog: LogSampler | null = null;

  constructor(private readonly deps: CredentialDeps) {
    // Saturation is the pool's answer here (PasswordCheckBusy): robot and app-token logins never wait for it.
    this.limiter = new LoginLimiter(deps.loginLimits ?? REGISTRY_LOGIN_LIMITS, deps.now, () => false);
  }

  /**
   * The entity behind an `Authorization: Basic` header, for a request from
   * `client`. DomainError UNAUTHORIZED with Quay's message (`publicMessage`)
   * on any mismatch; LoginThrottled when a password login may not be tried now.
   */
  async authenticate(header: string, client: LoginClient): Promise<Principal> {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon < 0) {
      this.refused(client, 'anonymous', null, 'malformed');
      throw unauthorized('Specified credentials are invalid');
    }
    const username = decoded.slice(0, colon);
    const secret = decoded.slice(colon + 1);
    if (username === '$app') return this.appToken(secret, client);
    if (username === '$token' || username === '$oauthtoken') {
      this.refused(client, 'anonymous', username, 'unsupported');
      throw unauthorized(`${username} credentials are not supported by this registry yet`);
    }
    if (username.includes('+')) return this.robot(username, secret, client);
    return this.user(username, secret, client);
  }

  /** A refused login, logged with the client's address (a name only when it is a user's: never what was typed). */
  private refused(client: LoginClient, kind: Principal['kind'], user: string | null, reason: LoginFailure, extra: Record<string, unknown> = {}): void {
    (this.refusedLog ??= new LogSampler(this.deps.log, 'registry login refused')).warn({
      user: user ?? '(unknown name)',
      kind,
      client_address: client.address,
      ...(client.forwardedFor !== null ? { forwarded_for: client.forwardedFor } : {}),
      reason,
      ...extra,
    });
  }

  /**
   * A login_failure row as Quay writes it for this refusal: `fields` after
   * `type` and `kind`, then the User-Agent and Quay's message (which is not
   * always the one answered: an unknown robot is answered like a wrong token).
   */
  private async audit(
    client: LoginClient,
    kind: 'user' | 'robot' | 'app_specific_token',
    account: string | null,
    performerId: number | null,
    fields: Record<string, string>,
    message: string,
  ): Promise<void> {
    await this.deps.audit?.loginFailed({ account, performerId, metadata: { type: 'v2auth', kind, ...fields, useragent: client.userAgent ?? '', message } }, client);
  }

  /** LoginThrottled when the limiter refuses `client` (as `name`, when known). */
  private admit(client: LoginClient, name: string | null): void {
    const refusal = this.limiter.check(limitedAddress(client), name);
    if (!refusal) return;
    this.refused(client, 'user', name, 'rate_limited', { by: refusal.by });
    throw new LoginThrottled(refusal.retryAfterSeconds, refusal.by);
  }

  private async user(username: string, password: string, client: LoginClient): Promise<Principal> {
    const invalid = unauthorized('Invalid Username or Password');
    this.admit(client, null);
    const found = /^[\x00-\x7f]*$/.test(username) ? await this.deps.store.userByNameOrEmail(username) : null;
    if (!found || found.robot || found.organization) {
      this.limiter.failed(limitedAddress(client), null);
      this.refused(client, 'user', null, 'unknown_name');
      await this.audit(client, 'user', null, null, { username }, 'Invalid Username or Password');
      throw invalid;
    }
    this.admit(client, found.username);
    try {
      return await this.logins.run(found.username, (turn) => this.passwordLogin(turn, turn.waited ? null : found, found.username, username, password, client));
    } catch (e) {
      if (!(e instanceof PasswordCheckBusy)) throw e;
      this.refused(client, 'user', found.username, 'rate_limited', { by: 'busy' });
      throw new LoginThrottled(e.retryAfterSeconds, 'busy');
    }
  }

  /** One password attempt on `name` (`typed`: as sent), alone for that name in this process (`known`: its row, when still fresh). */
  private async passwordLogin(turn: LoginTurn, known: UserRow | null, name: string, typed: string, password: string, client: LoginClient): Promise<Principal> {
    const invalid = unauthorized('Invalid Username or Password');
    // After waiting for another attempt, the row's back-off may have moved: read it again.
    const user = known ?? (await this.deps.store.userByName(name));
    if (!user || user.robot || user.organization) {
      this.refused(client, 'user', null, 'unknown_name');
      await this.audit(client, 'user', null, null, { username: typed }, 'Invalid Username or Password');
      throw invalid;
    }
    // What the limiter said before this attempt waited may have changed too.
    if (turn.waited) this.admit(client, user.username);
    const now = this.deps.now();
    if (user.invalidLoginAttempts > 0) {
      const at = retryAfterMs(user.invalidLoginAttempts, user.lastInvalidLoginMs);
      if (at > now) {
        // Quay's verify_user: neither hashed nor counted. Retry-After as Quay's int(seconds).
        this.refused(client, 'user', user.username, 'rate_limited', { by: 'backoff' });
        throw new LoginThrottled(Math.floor((at - now) / 1000), 'backoff');
      }
    }
    if (!(await turn.verify(password, user.passwordHash))) {
      // Counted only if nobody counted a failure since the row was read: racing failures count once.
      const counted = await this.deps.store.recordLoginFailure(user.id, user.invalidLoginAttempts, nextFailureCount(user.invalidLoginAttempts), now);
      this.limiter.failed(limitedAddress(client), user.username);
      this.refused(client, 'user', user.username, 'wrong_password', { counted });
      await this.audit(client, 'user', null, null, { username: typed }, 'Invalid Username or Password');
      throw invalid;
    }
    await this.deps.store.recordLogin(user.id, true, now);
    this.limiter.succeeded(user.username);
    if (!user.enabled) {
      this.refused(client, 'user', user.username, 'disabled');
      throw unauthorized('This user has been disabled. Please contact your administrator.');
    }
    return { kind: 'user', user };
  }

  /**
   * Robot tokens and app-specific tokens are random (no bcrypt, nothing to
   * guess), so they are not limited: a CI farm behind one NAT retrying a stale
   * token must not lock its users out. Their failures are logged.
   */
  private async robot(username: string, token: string, client: LoginClient): Promise<Principal> {
    const wrongToken = `Could not find robot with username: ${username} and supplied password.`;
    const invalid = unauthorized(wrongToken);
    const ownerName = username.split('+')[0]!;
    /**
     * Logged, and audited as Quay's except clauses do: with the owner (and the robot as performer) when
     * the robot was found, else with the owner only if it is a user (get_nonrobot_user: not an organisation).
     */
    const refuse = async (e: DomainError, reason: LoginFailure, known: UserRow | null, message: string): Promise<DomainError> => {
      this.refused(client, 'robot', known?.username ?? null, reason);
      const owner = known ? null : await this.deps.store.userByName(ownerName);
      const account = known ? ownerName : owner && !owner.robot && !owner.organization ? ownerName : null;
      await this.audit(client, 'robot', account, known?.id ?? null, { robot: username, username: ownerName }, message);
      return e;
    };
    if (!/^[\x00-\x7f]*$/.test(token)) throw await refuse(invalid, 'invalid_token', null, wrongToken);
    const robot = await this.deps.store.userByName(username);
    if (!robot || !robot.robot) throw await refuse(invalid, 'unknown_name', null, 'Could not find robot with specified username');
    const owner = await this.deps.store.userByName(ownerName);
    if (!owner) throw await refuse(unauthorized(`Robot ${username} owner does not exist`), 'unknown_name', null, `Robot ${username} owner does not exist`);
    const disabled = `Robot ${username} owner ${owner.username} is disabled`;
    if (!owner.enabled) throw await refuse(unauthorized(disabled), 'disabled', robot, disabled);
    const stored = await this.deps.store.robotToken(robot.id);
    if (!stored || !this.deps.encrypter || !this.deps.encrypter.matches(stored, token)) throw await refuse(invalid, 'invalid_token', robot, wrongToken);
    await this.deps.store.touchUser(robot.id, this.deps.now());
    return { kind: 'robot', user: robot };
  }

  private async appToken(code: string, client: LoginClient): Promise<Principal> {
    if (!this.deps.appSpecificTokens) {
      // Quay then takes `$app` for a user name, which no user has.
      await this.audit(client, 'user', null, null, { username: '$app' }, 'Invalid Username or Password');
      throw unauthorized('Invalid Username or Password');
    }
    const invalid = unauthorized('Invalid token');
    if (code.length < 60 || !this.deps.encrypter) {
      this.refused(client, 'appspecifictoken', null, 'invalid_token');
      await this.audit(client, 'app_specific_token', null, null, {}, 'Invalid token');
      throw invalid;
    }
    const now = this.deps.now();
    const t = await this.deps.store.appToken(code.slice(0, 60), now);
    if (!t || !this.deps.encrypter.matches(t.secret, code.slice(60))) {
      this.refused(client, 'appspecifictoken', t?.user.username ?? null, 'invalid_token');
      await this.audit(client, 'app_specific_token', null, null, {}, 'Invalid token');
      throw invalid;
    }
    if (!t.user.enabled) {
      const disabled = 'This user has been disabled. Please contact your administrator.';
      this.refused(client, 'appspecifictoken', t.user.username, 'disabled');
      await this.audit(client, 'app_specific_token', t.user.username, t.user.id, { app_specific_token_title: t.title, username: t.user.username }, disabled);
      throw unauthorized(disabled);
    }
    await this.deps.store.touchAppToken(t.id, now);
    return { kind: 'appspecifictoken', user: t.user, tokenUuid: t.uuid, title: t.title };
  }
}
