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

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function ipv6Groups(address: string): number[] {
  let text = address.split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') as [string, string] : [text, null];
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === null ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** The client key of an address: IPv4 as is, IPv6 as its /64. */
export function clientKeyOf(address: string): string {
  const a = unmapped(address);
  if (isIP(a) !== 6) return a;
  return `${ipv6Groups(a).slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

export class ClientAddresses {
  private readonly trusted = new BlockList();
  private readonly count: number;

  /** `trustedProxies`: addresses and ranges whose X-Forwarded-For is believed (malformed entries are the config's to refuse). */
  constructor(trustedProxies: readonly string[] = []) {
    let n = 0;
    for (const t of trustedProxies) {
      const r = parseAddressRange(t);
      if (r) { this.trusted.addSubnet(r.address, r.prefix, r.family); n++; }
    }
    this.count = n;
  }

  private isTrusted(address: string): boolean {
    if (this.count === 0) return false;
    const v = isIP(address);
    return v !== 0 && this.trusted.check(address, v === 4 ? 'ipv4' : 'ipv6');
  }

  /** The client's address (unmapped), looking through trusted proxies only. */
  addressOf(peer: string, forwardedFor: string | string[] | undefined): string {
    const p = unmapped(peer);
    if (forwardedFor === undefined || !this.isTrusted(p)) return p;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((h) => unmapped(h.trim()));
    let nearest = p;
    for (let i = hops.length - 1; i >= 0; i--) {
      const h = hops[i]!;
      // Garbage where an address should be: the last trusted hop is all that is known.
      if (isIP(h) === 0) return nearest;
      if (!this.isTrusted(h)) return h;
      nearest = h;
    }
    return nearest;
  }

  /** The per-client key of a request (`clientKeyOf` its address). */
  keyOf(req: IncomingMessage): string {
    return clientKeyOf(this.addressOf(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for']));
  }
}
