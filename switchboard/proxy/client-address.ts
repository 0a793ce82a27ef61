/**
 * SWITCHBOARD.TRUSTED_PROXIES for the proxy: the registry's own rules
 * (registryd/http/client-address.ts). A connection's peer is the client
 * unless it is a trusted front proxy; then the client is the nearest
 * X-Forwarded-For hop that is not a trusted proxy itself.
 */
import { ClientAddresses, parseAddressRange } from '../../lib/client-address.js';

/** `10.0.0.0/8`, `::1`, `fd00::/8`; null when it is neither an address nor a range. */
export const parseCidr = parseAddressRange;

export class TrustedProxies extends ClientAddresses {
  /** The client behind `peer` (see ClientAddresses.addressOf). */
  clientOf(peer: string, forwardedFor: string | string[] | undefined): string {
    return this.addressOf(peer, forwardedFor);
  }
}
