/**
 * Quay's guard against server-side request forgery for URLs a user gives
 * (util/security/ssrf.py `validate_external_registry_url`): http or https
 * only, no credentials in the URL, and no host that is or resolves to a
 * loopback, private, link-local, reserved or otherwise non-global address
 * (or one of the cloud metadata and cluster names), unless SSRF_ALLOWED_HOSTS
 * lists the host name or a range holding the address.
 *
 * "Global" is Python 3.11's `ipaddress` `is_global` (Debian 12's Python, the
 * one real Quay runs on here) plus Quay's own list of blocked networks.
 */
import { BlockList, isIP } from 'node:net';
import { lookup } from 'node:dns/promises';

/** Quay's BLOCKED_NETWORKS, and the ranges Python 3.11 counts as not global beyond them. */
const BLOCKED: readonly string[] = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '255.255.255.255/32',
  '::1/128',
  '64:ff9b::/96',
  '100::/64',
  '2001:db8::/32',
  'fc00::/7',
  'fe80::/10',
  '::ffff:0:0/96',
  // Python 3.11's IPv6 is_private beyond Quay's list, multicast and site-local.
  '::/128',
  '2001::/23',
  '2001:2::/48',
  '2001:10::/28',
  'ff00::/8',
  'fec0::/10',
];

const BLOCKED_HOSTNAMES = new Set([
  'localhost',
  'metadata.google.internal',
  'metadata.azure.internal',
  'metadata',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
  'kubernetes.default',
  'kubernetes',
]);

function blockList(cidrs: readonly string[]): { check(ip: string): boolean } {
  const v4 = new BlockList();
  const v6 = new BlockList();
  for (const c of cidrs) {
    const [net, bits] = c.split('/') as [string, string];
    if (isIP(net) === 4) v4.addSubnet(net, Number(bits), 'ipv4');
    else v6.addSubnet(net, Number(bits), 'ipv6');
  }
  return { check: (ip) => (isIP(ip) === 4 ? v4.check(ip, 'ipv4') : isIP(ip) === 6 ? v6.check(ip, 'ipv6') : false) };
}

const BLOCKED_LIST = blockList(BLOCKED);

/** _is_ip_blocked: not a global unicast address (an unparseable one is blocked). */
export function isBlockedAddress(ip: string): boolean {
  return isIP(ip) === 0 || BLOCKED_LIST.check(ip);
}

/** _is_allowed: the host name (case-insensitively) or the address within an entry's range. */
function isAllowed(hostname: string, ip: string | null, allowed: readonly string[]): boolean {
  for (const entry of allowed) {
    const [net, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(net);
    if (family !== 0) {
      const max = family === 4 ? 32 : 128;
      const prefix = bits === undefined ? max : Number(bits);
      if (Number.isInteger(prefix) && prefix >= 0 && prefix <= max) {
        const range = blockList([`${net}/${prefix}`]);
        if ((ip !== null && range.check(ip)) || range.check(hostname)) return true;
        continue;
      }
    }
    if (entry.toLowerCase() === hostname.toLowerCase()) return true;
  }
  return false;
}

/**
 * validate_external_registry_url(url, resolve_dns=True, allowed_hosts):
 * resolves with a reason when the URL may not be called. `resolve` is the
 * resolver (tests pass their own).
 */
export async function externalUrlRefusal(
  url: string,
  allowedHosts: readonly string[],
  resolve: (host: string) => Promise<string[]> = async (h) => (await lookup(h, { all: true })).map((a) => a.address),
): Promise<string | null> {
  const text = url.trim();
  if (!text) return 'External registry URL is required';
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return 'Invalid URL format';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `Invalid URL scheme '${u.protocol.slice(0, -1)}': only HTTP and HTTPS are allowed`;
  if (u.username || u.password) return 'URLs with embedded credentials are not allowed';
  // Python's urlparse gives the host lower-cased and an IPv6 literal without its brackets.
  const hostname = u.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (!hostname) return 'URL must include a hostname';
  const blockedByName = BLOCKED_HOSTNAMES.has(hostname) || hostname.endsWith('.internal') || hostname.endsWith('.local');
  const nameAllowed = isAllowed(hostname, null, allowedHosts);
  if (isIP(hostname) !== 0) {
    if (isBlockedAddress(hostname) && !isAllowed(hostname, hostname, allowedHosts)) return 'URL points to a private or reserved IP address';
    return null;
  }
  let ips: string[];
  try {
    ips = await resolve(hostname);
  } catch {
    return `Cannot resolve hostname '${hostname}'`;
  }
  if (ips.length === 0) return `Cannot resolve hostname '${hostname}'`;
  if (blockedByName && !nameAllowed && !ips.some((ip) => isAllowed(hostname, ip, allowedHosts))) return `Hostname '${hostname}' is not allowed`;
  for (const ip of ips) {
    if (isBlockedAddress(ip) && !isAllowed(hostname, ip, allowedHosts)) return 'URL resolves to a private or reserved IP address';
  }
  return null;
}
