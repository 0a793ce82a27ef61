/**
 * Who the client is (SWITCHBOARD.TRUSTED_PROXIES). A connection's peer is the
 * client unless it is a front proxy the operator trusts; then the client is
 * the nearest address in X-Forwarded-For that is not a trusted proxy itself
 * (the rightmost untrusted hop: anything left of it was written by the client
 * and proves nothing).
 */
import { BlockList, isIP } from 'node:net';

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `::1`, `fd00::/8`; null when it is neither an address nor a range. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const address = (slash < 0 ? text : text.slice(0, slash)).trim();
  const v = isIP(address);
  if (v === 0) return null;
  const max = v === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > max) return null;
  }
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** `::ffff:10.1.2.3` (an IPv4 client on a dual-stack socket) as `10.1.2.3`. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(entries: readonly string[]) {
    let n = 0;
    for (const e of entries) {
      const c = parseCidr(e);
      if (!c) continue; // the schema refused it already
      this.list.addSubnet(c.address, c.prefix, c.family);
      n++;
    }
    this.size = n;
  }

  has(address: string | undefined): boolean {
    if (!address || this.size === 0) return false;
    const a = plain(address);
    const v = isIP(a);
    return v !== 0 && this.list.check(a, v === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client behind `peer`: `peer` itself unless it is trusted, else the
   * rightmost X-Forwarded-For entry that is not trusted (or the leftmost
   * entry when all of them are).
   */
  clientOf(peer: string, forwardedFor: string | string[] | undefined): string {
    if (!this.has(peer) || forwardedFor === undefined) return peer;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map((h) => h.trim()).filter((h) => h !== '');
    for (let i = hops.length - 1; i >= 0; i--) {
      const h = hops[i] as string;
      if (isIP(plain(h)) === 0) return peer; // garbage from the client: the trusted peer is all we know
      if (!this.has(h)) return plain(h);
    }
    return hops.length ? plain(hops[0] as string) : peer;
  }
}
