/**
 * Failed logins, counted per client address and per name over a sliding
 * window: a name or address with too many recent failures is refused (429)
 * before its password is even checked, until the oldest failure leaves the
 * window. Two surfaces use it, each with its own limiter and limits: the
 * switchboard dashboard (its login form and Basic credentials on the control
 * API share one) and the registry's /v2/auth (REGISTRY_LOGIN_LIMITS, on top
 * of Quay's per-user back-off in the database). Memory is bounded: stale keys
 * are dropped, and past MAX_KEYS the oldest key goes first.
 *
 * The name limit stops guessing one account's password; the address limit
 * (higher, as one address may be a bastion or NAT many clients share) stops
 * one client from trying many names. The dashboard's admin token has no name
 * limit (`exemptNames`): bearer tokens are never limited, so one would protect
 * nothing and would let anyone who reaches the listener lock the operator out
 * of the token login (its guesses still count against their address). An
 * IPv6 client is counted by its /64, which one host holds whole; an
 * IPv4-mapped address as IPv4.
 *
 * Every attempt is also refused (`by: 'busy'`) while the process's bcrypt pool
 * cannot take another check: quickly, with a Retry-After, instead of queueing.
 */
import { isIPv6 } from 'node:net';
import { sharedBcryptPool } from './bcrypt-pool.js';

export const LOGIN_WINDOW_SECONDS = 300;
export const MAX_FAILURES_PER_NAME = 5;
export const MAX_FAILURES_PER_ADDRESS = 20;
const MAX_KEYS = 10_000;

export interface LoginLimits {
  readonly windowSeconds: number;
  readonly perName: number;
  readonly perAddress: number;
  /** Names never limited by name (default: the dashboard's admin token, "" and "admin-token"). */
  readonly exemptNames?: readonly string[];
}

/** The dashboard's limits. */
export const DEFAULT_LOGIN_LIMITS: LoginLimits = Object.freeze({
  windowSeconds: LOGIN_WINDOW_SECONDS,
  perName: MAX_FAILURES_PER_NAME,
  perAddress: MAX_FAILURES_PER_ADDRESS,
});

/**
 * The registry's: looser, as Quay's back-off already holds each user (its wait
 * after 10 failures, 8.5 min, outlasts this window), and an address may be a
 * CI farm's NAT. They bound what a client gets past the back-off: failures
 * the back-off does not count (concurrent ones on several nodes count once)
 * and unknown names. Password logins only: robot and app-token secrets are
 * random, nothing to guess.
 */
export const REGISTRY_LOGIN_LIMITS: LoginLimits = Object.freeze({
  windowSeconds: LOGIN_WINDOW_SECONDS,
  perName: 10,
  perAddress: 100,
  exemptNames: Object.freeze([]),
});

const DASHBOARD_EXEMPT: readonly string[] = ['', 'admin-token'];

export interface LoginRefusal {
  /** Which count is over its limit, or `busy`: the password checker is saturated. */
  readonly by: 'name' | 'address' | 'busy';
  /** Whole seconds until one more attempt is allowed. */
  readonly retryAfterSeconds: number;
  readonly message: string;
}

/** Failure times (ms) per key, oldest first. */
class Window {
  private readonly keys = new Map<string, number[]>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  private recent(key: string, now: number): number[] {
    const times = (this.keys.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (times.length) this.keys.set(key, times);
    else this.keys.delete(key);
    return times;
  }

  /** Milliseconds until `key` may try again; 0 when it may now. */
  waitMs(key: string, now: number): number {
    const times = this.recent(key, now);
    return times.length < this.limit ? 0 : times[times.length - this.limit]! + this.windowMs - now;
  }

  add(key: string, now: number): void {
    const times = this.recent(key, now);
    times.push(now);
    if (times.length > this.limit) times.splice(0, times.length - this.limit);
    // Re-inserted last: the Map's order is then oldest activity first.
    this.keys.delete(key);
    this.keys.set(key, times);
    // Oldest activity first: stale keys, then the oldest beyond MAX_KEYS, go from the front (no full scan per failure).
    for (const [k, ts] of this.keys) {
      if (this.keys.size <= MAX_KEYS && ts[ts.length - 1]! > now - this.windowMs) break;
      this.keys.delete(k);
    }
  }

  clear(key: string): void {
    this.keys.delete(key);
  }
}

export class LoginLimiter {
  private readonly names: Window;
  private readonly addresses: Window;
  private readonly exempt: ReadonlySet<string>;

  /** `saturated`: whether a password check would be refused now (default: the process's bcrypt pool). */
  constructor(
    readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
    private readonly now: () => number = Date.now,
    private readonly saturated: () => boolean = () => sharedBcryptPool().saturated,
  ) {
    this.names = new Window(limits.perName, limits.windowSeconds * 1000);
    this.addresses = new Window(limits.perAddress, limits.windowSeconds * 1000);
    this.exempt = new Set(limits.exemptNames ?? DASHBOARD_EXEMPT);
  }

  /** The name a failure counts against; null for an exempt one (the admin token): see above. */
  private nameKey(name: string | null): string | null {
    return name === null || this.exempt.has(name) ? null : name;
  }

  /**
   * Why an attempt from `address` as `name` is refused now, or null when it
   * may go ahead. A null name: the address alone; a null address (one shared
   * by clients that cannot be told apart): the name alone.
   */
  check(address: string | null, name: string | null): LoginRefusal | null {
    const now = this.now();
    const key = this.nameKey(name);
    const byName = key === null ? 0 : this.names.waitMs(key, now);
    const byAddress = address === null ? 0 : this.addresses.waitMs(addressKey(address), now);
    if (byName === 0 && byAddress === 0) {
      if (!this.saturated()) return null;
      return { by: 'busy', retryAfterSeconds: 1, message: 'too many logins in progress; try again in 1 s' };
    }
    const by = byName >= byAddress ? 'name' : 'address';
    const retryAfterSeconds = Math.max(1, Math.ceil(Math.max(byName, byAddress) / 1000));
    return { by, retryAfterSeconds, message: `too many failed logins for this ${by}; try again in ${retryAfterSeconds} s` };
  }

  /** A failed attempt from `address` as `name` (either null: not counted against it; a name that is nobody's: null). */
  failed(address: string | null, name: string | null): void {
    const now = this.now();
    const key = this.nameKey(name);
    if (key !== null) this.names.add(key, now);
    if (address !== null) this.addresses.add(addressKey(address), now);
  }

  /** A good login clears its name's failures (not the address's: another name may be under attack from it). */
  succeeded(name: string): void {
    const key = this.nameKey(name);
    if (key !== null) this.names.clear(key);
  }
}

/** The address a failure counts against: an IPv4 address, or the /64 of an IPv6 one ("2001:db8:1:2::/64"). */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  const bare = address.split('%')[0]!;
  if (!isIPv6(bare)) return address;
  const [head, tail] = bare.includes('::') ? (bare.split('::') as [string, string]) : [bare, null];
  const groups = head ? head.split(':') : [];
  if (tail !== null) {
    const rest = tail ? tail.split(':') : [];
    const width = rest.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
    groups.push(...Array<string>(8 - groups.length - width).fill('0'), ...rest);
  }
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
