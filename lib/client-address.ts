/**
 * Who a /v2 request comes from, for per-client bounds (upload sessions).
 *
 * The connection's peer is the client unless the operator lists it in
 * TRUSTED_PROXIES (the switchboard, a load balancer): then the client is the
 * rightmost X-Forwarded-For entry that is not a trusted proxy itself. Entries
 * left of it were written by the client and prove nothing; a proxy the
 * operator did not list is taken at its word for nothing. Nothing is trusted
 * by default, so a process on the same host cannot pose as many clients by
 * writing X-Forwarded-For.
 *
 * IPv6 clients are grouped by /64, the block one host usually gets: a client
 * with a /64 to itself would otherwise be 2^64 clients.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { addressKey } from './passwords/login-limiter.js';

/** `10.0.0.0/8`, `127.0.0.1`, `::1`, `fd00::/8`: null when it is none of these. */
export function parseAddressRange(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  const v = isIP(address);
  if (v === 0 || rest.length > 0) return null;
  const max = v === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  return prefix <= max ? { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' } : null;
}

/** `::ffff:10.1.2.3` (an IPv4 peer of a dual-stack socket) as `10.1.2.3`. */
function unmapped(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** A loopback address or name: `127.x`, `::1`, `[::1]`, `::ffff:127.x`, `localhost` (a peer, or a configured host). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  const v4 = unmapped(h);
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** The client key of an address: IPv4 as is, IPv6 as its /64 (the login limiter's key). */
export const clientKeyOf = addressKey;

export class ClientAddresses {
  private readonly trusted = new BlockList();
  /** How many addresses and ranges are trusted (0: every peer is the client). */
  readonly size: number;

  /** `trustedProxies`: addresses and ranges whose X-Forwarded-For is believed (malformed entries are the config's to refuse). */
  constructor(trustedProxies: readonly string[] = []) {
    let n = 0;
    for (const t of trustedProxies) {
      const r = parseAddressRange(t);
      if (r) {
        this.trusted.addSubnet(r.address, r.prefix, r.family);
        n++;
      }
    }
    this.size = n;
  }

  /** True when `address` (IPv4-mapped or not) is a trusted proxy. */
  has(address: string | undefined): boolean {
    if (this.size === 0 || !address) return false;
    const a = unmapped(address);
    const v = isIP(a);
    return v !== 0 && this.trusted.check(a, v === 4 ? 'ipv4' : 'ipv6');
  }

  /** The client's address (unmapped), looking through trusted proxies only. */
  addressOf(peer: string, forwardedFor: string | string[] | undefined): string {
    const p = unmapped(peer);
    if (forwardedFor === undefined || !this.has(p)) return p;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((h) => unmapped(h.trim()));
    let nearest = p;
    for (let i = hops.length - 1; i >= 0; i--) {
      const h = hops[i]!;
      // Garbage where an address should be: the last trusted hop is all that is known.
      if (isIP(h) === 0) return nearest;
      if (!this.has(h)) return h;
      nearest = h;
    }
    return nearest;
  }

  /** The per-client key of a request (`clientKeyOf` its address). */
  keyOf(req: IncomingMessage): string {
    return clientKeyOf(this.addressOf(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for']));
  }
}
