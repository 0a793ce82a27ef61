/**
 * The check Quay's log-export endpoints make on a `callback_url`
 * (util/security/ssrf.py validate_external_registry_url with DNS
 * resolution, SSRF_ALLOWED_HOSTS as the allow-list): http or https, no
 * credentials, a host, and no address that is loopback, private, link-local,
 * reserved or otherwise not globally routable, unless an allow-list entry (a
 * host name, or a CIDR range holding the address) lets it through.
 *
 * Returns null when the URL passes, else the message Quay's endpoint answers
 * with: "Invalid callback URL" for a blocked destination, the format error's
 * own text otherwise.
 */
import { BlockList, isIP } from 'node:net';
import { lookup } from 'node:dns/promises';

// One list per family: a list holding ::ffff:0:0/96 would also match every IPv4 address.
const BLOCKED_V4 = new BlockList();
const BLOCKED_V6 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
  ['255.255.255.255', 32],
] as const)
  BLOCKED_V4.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::1', 128],
  ['::', 128],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['::ffff:0:0', 96],
] as const)
  BLOCKED_V6.addSubnet(net, prefix, 'ipv6');

const BLOCKED_NAMES = new Set([
  'localhost',
  'metadata.google.internal',
  'metadata.azure.internal',
  'metadata',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
  'kubernetes.default',
  'kubernetes',
]);

const family = (ip: string): 'ipv4' | 'ipv6' => (isIP(ip) === 6 ? 'ipv6' : 'ipv4');
const ipBlocked = (ip: string): boolean => isIP(ip) === 0 || (isIP(ip) === 6 ? BLOCKED_V6.check(ip, 'ipv6') : BLOCKED_V4.check(ip, 'ipv4'));

/** An allow-list entry lets the host (by name, or as an address) or the resolved address through. */
function allowed(hostname: string, ip: string | null, allowList: readonly string[]): boolean {
  for (const entry of allowList) {
    const [addr = '', bits] = entry.split('/');
    if (isIP(addr) !== 0) {
      const list = new BlockList();
      const fam = family(addr);
      list.addSubnet(addr, bits === undefined ? (fam === 'ipv4' ? 32 : 128) : Number(bits), fam);
      for (const candidate of [ip, hostname]) if (candidate && isIP(candidate) !== 0 && family(candidate) === fam && list.check(candidate, fam)) return true;
      continue;
    }
    if (entry.toLowerCase() === hostname.toLowerCase()) return true;
  }
  return false;
}

/** urllib.parse.urlparse's scheme, userinfo and hostname (lower-cased, brackets dropped). */
function parse(url: string): { scheme: string; userinfo: boolean; hostname: string } {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(url);
  const scheme = m ? m[1]!.toLowerCase() : '';
  const rest = m ? m[2]! : url;
  if (!rest.startsWith('//')) return { scheme, userinfo: false, hostname: '' };
  const netloc = rest.slice(2).split(/[/?#]/)[0]!;
  const at = netloc.lastIndexOf('@');
  const hostport = at < 0 ? netloc : netloc.slice(at + 1);
  const hostname = hostport.startsWith('[') ? hostport.slice(1, hostport.indexOf(']') < 0 ? undefined : hostport.indexOf(']')) : hostport.split(':')[0]!;
  return { scheme, userinfo: at >= 0 && netloc.slice(0, at) !== '', hostname: hostname.toLowerCase() };
}

export async function callbackUrlProblem(raw: string, allowList: readonly string[]): Promise<string | null> {
  const url = raw.trim();
  if (!url) return 'External registry URL is required';
  const u = parse(url);
  if (u.scheme !== 'http' && u.scheme !== 'https') return `Invalid URL scheme '${u.scheme}': only HTTP and HTTPS are allowed`;
  if (u.userinfo) return 'URLs with embedded credentials are not allowed';
  if (!u.hostname) return 'URL must include a hostname';
  if (isIP(u.hostname) !== 0) return ipBlocked(u.hostname) && !allowed(u.hostname, u.hostname, allowList) ? 'Invalid callback URL' : null;
  let addresses: string[];
  try {
    addresses = (await lookup(u.hostname, { all: true })).map((a) => a.address);
  } catch {
    return `Cannot resolve hostname '${u.hostname}'`;
  }
  if (addresses.length === 0) return `Cannot resolve hostname '${u.hostname}'`;
  const byName = BLOCKED_NAMES.has(u.hostname) || u.hostname.endsWith('.internal') || u.hostname.endsWith('.local');
  if (byName && !allowed(u.hostname, null, allowList) && !addresses.some((ip) => allowed(u.hostname, ip, allowList))) return 'Invalid callback URL';
  for (const ip of addresses) if (ipBlocked(ip) && !allowed(u.hostname, ip, allowList)) return 'Invalid callback URL';
  return null;
}
