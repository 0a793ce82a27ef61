/**
 * Quay's guard against server-side request forgery for URLs a user gives
 * (util/security/ssrf.py `validate_external_registry_url`, with DNS
 * resolution and SSRF_ALLOWED_HOSTS as the allow-list): http or https only,
 * no credentials in the URL, a host, and no host that is or resolves to a
 * loopback, private, link-local, reserved or otherwise non-global address
 * (or is one of the cloud metadata and cluster names), unless an allow-list
 * entry (a host name, or an address range holding the address) lets it
 * through.
 *
 * The URL is read as Python's `urllib.parse.urlparse` reads it (not as
 * WHATWG `new URL`, which rewrites hosts such as `2130706433` or `0x7f.1`
 * to `127.0.0.1` and decodes percent-escapes), the host is handed to the
 * resolver IDNA-encoded as Python's socket module does, and "global" is
 * the `ipaddress` module of the Python real Quay runs on here (Debian 12's
 * 3.11, with its backported special-purpose ranges).
 *
 * One check, two wordings: a refusal says whether Quay raises
 * SSRFBlockedError (a blocked destination) or a plain ValueError (a malformed
 * URL, a name that does not resolve), with Quay's message; the log-export
 * endpoints answer "Invalid callback URL" for the first (endpoints/api/logs.py),
 * the export worker only logs and skips the callback.
 */
import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { domainToASCII } from 'node:url';

/** Why a URL may not be called: `blocked` is Quay's SSRFBlockedError, `invalid` its other ValueErrors. */
export interface SsrfRefusal {
  readonly kind: 'blocked' | 'invalid';
  /** The exception's text in Quay. */
  readonly message: string;
}

/** Resolves an (IDNA-encoded) host name to its addresses, as getaddrinfo does; throws when it cannot. */
export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

// ---------------------------------------------------------------- addresses

interface Ip {
  readonly v: 4 | 6;
  readonly n: bigint;
}

function v4Int(s: string): bigint {
  return s.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

function v6Int(s: string): bigint {
  let text = s;
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    // An embedded IPv4 address stands for the last two groups.
    const v4 = v4Int(last);
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = text.split('::') as [string, string | undefined];
  const hs = head ? head.split(':') : [];
  const rs = rest ? rest.split(':') : [];
  const zeros = rest === undefined ? [] : Array<string>(8 - hs.length - rs.length).fill('0');
  return [...hs, ...zeros, ...rs].reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** ipaddress.ip_address(text): an IPv4 or IPv6 address (an IPv6 one may carry a %zone), else null. */
export function parseIp(text: string): Ip | null {
  const pct = text.indexOf('%');
  if (pct >= 0) {
    const zone = text.slice(pct + 1);
    const core = text.slice(0, pct);
    if (!zone || zone.includes('%') || isIP(core) !== 6) return null;
    return { v: 6, n: v6Int(core) };
  }
  const fam = isIP(text);
  if (fam === 4) return { v: 4, n: v4Int(text) };
  if (fam === 6) return { v: 6, n: v6Int(text) };
  return null;
}

interface Net {
  readonly v: 4 | 6;
  readonly n: bigint;
  readonly prefix: number;
}

const bitsOf = (v: 4 | 6): number => (v === 4 ? 32 : 128);

function inNet(ip: Ip, net: Net): boolean {
  if (ip.v !== net.v) return false;
  const shift = BigInt(bitsOf(net.v) - net.prefix);
  return ip.n >> shift === net.n >> shift;
}

function net(cidr: string): Net {
  const [addr, prefix] = cidr.split('/') as [string, string];
  const ip = parseIp(addr)!;
  return { v: ip.v, n: ip.n, prefix: Number(prefix) };
}

/** Quay's BLOCKED_NETWORKS. */
const QUAY_BLOCKED = [
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
].map(net);

/**
 * What Python's ipaddress counts as not global, multicast or site-local beyond
 * Quay's list (for IPv4 Quay's list already holds all of it): IPv6 private
 * ranges, less their globally reachable exceptions.
 */
const PY_NOT_GLOBAL_V6 = ['::/128', '64:ff9b:1::/48', '2001::/23', '2002::/16', 'ff00::/8', 'fec0::/10'].map(net);
const PY_GLOBAL_EXCEPTIONS_V6 = ['2001:1::1/128', '2001:1::2/128', '2001:3::/32', '2001:4:112::/48', '2001:20::/28', '2001:30::/28'].map(net);

function ipBlocked(ip: Ip): boolean {
  if (QUAY_BLOCKED.some((b) => inNet(ip, b))) return true;
  return PY_NOT_GLOBAL_V6.some((b) => inNet(ip, b)) && !PY_GLOBAL_EXCEPTIONS_V6.some((e) => inNet(ip, e));
}

/** _is_ip_blocked: not a global unicast address (an unparseable one is blocked). */
export function isBlockedAddress(text: string): boolean {
  const ip = parseIp(text);
  return ip === null || ipBlocked(ip);
}

// ---------------------------------------------------------------- allow-list

/** A contiguous netmask (ones first), or with `inverted` a hostmask, as a prefix length; else null. */
function maskPrefix(mask: bigint, inverted: boolean): number | null {
  const m = inverted ? ~mask & 0xffffffffn : mask;
  for (let p = 0; p <= 32; p++) if (m === ((0xffffffffn << BigInt(32 - p)) & 0xffffffffn)) return p;
  return null;
}

/** ipaddress.ip_network(entry, strict=False), or null when it raises ValueError. */
function parseNetwork(entry: string): Net | null {
  const parts = entry.split('/');
  if (parts.length > 2) return null;
  const [addr = '', mask] = parts;
  const ip = parseIp(addr);
  if (!ip || (ip.v === 4 && addr.includes('%'))) return null;
  const max = bitsOf(ip.v);
  let prefix: number | null = max;
  if (mask !== undefined) {
    if (/^[0-9]+$/.test(mask)) prefix = Number(mask) <= max ? Number(mask) : null;
    else if (ip.v === 4 && isIP(mask) === 4) prefix = maskPrefix(v4Int(mask), false) ?? maskPrefix(v4Int(mask), true);
    else prefix = null;
  }
  return prefix === null ? null : { v: ip.v, n: ip.n, prefix };
}

/** _is_allowed: an entry names the host (case-insensitively), or is a range holding the address or the host as an address. */
function isAllowed(hostname: string, ip: string | null, allowed: readonly string[]): boolean {
  for (const entry of allowed) {
    const range = parseNetwork(entry);
    if (range) {
      for (const candidate of [ip, hostname]) {
        const addr = candidate ? parseIp(candidate) : null;
        if (addr && inNet(addr, range)) return true;
      }
      continue;
    }
    if (entry.toLowerCase() === hostname.toLowerCase()) return true;
  }
  return false;
}

// ---------------------------------------------------------------- URL

/** Python's str.strip() whitespace. */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');

class UrlFormatError extends Error {}

/** The parts of urllib.parse.urlparse(url) the check reads; throws UrlFormatError where urlparse raises ValueError. */
function urlparse(raw: string): { scheme: string; username: string | null; password: string | null; hostname: string | null } {
  const url0 = raw.replace(/^[\x00-\x20]+/, '').replace(/[\t\r\n]/g, '');
  let scheme = '';
  let url = url0;
  const i = url.indexOf(':');
  if (i > 0 && /^[A-Za-z][A-Za-z0-9+.-]*$/.test(url.slice(0, i))) {
    scheme = url.slice(0, i).toLowerCase();
    url = url.slice(i + 1);
  }
  let netloc = '';
  if (url.startsWith('//')) {
    const end = url.slice(2).search(/[/?#]/);
    netloc = end < 0 ? url.slice(2) : url.slice(2, 2 + end);
    const open = netloc.includes('[');
    const close = netloc.includes(']');
    if (open !== close) throw new UrlFormatError('Invalid IPv6 URL');
    if (open && close) checkBracketedNetloc(netloc);
  }
  // _checknetloc: no character that NFKC turns into a URL delimiter.
  if (netloc && /[^\x00-\x7f]/.test(netloc)) {
    const n = netloc.replace(/[@:#?]/g, '');
    const folded = n.normalize('NFKC');
    if (folded !== n && /[/?#@:]/.test(folded)) throw new UrlFormatError('netloc contains invalid characters under NFKC normalization');
  }
  const at = netloc.lastIndexOf('@');
  let username: string | null = null;
  let password: string | null = null;
  if (at >= 0) {
    const userinfo = netloc.slice(0, at);
    const colon = userinfo.indexOf(':');
    username = colon < 0 ? userinfo : userinfo.slice(0, colon);
    password = colon < 0 ? null : userinfo.slice(colon + 1);
  }
  const hostinfo = netloc.slice(at + 1);
  const br = hostinfo.indexOf('[');
  let host: string;
  if (br >= 0) {
    const inner = hostinfo.slice(br + 1);
    const close = inner.indexOf(']');
    host = close < 0 ? inner : inner.slice(0, close);
  } else {
    const colon = hostinfo.indexOf(':');
    host = colon < 0 ? hostinfo : hostinfo.slice(0, colon);
  }
  if (!host) return { scheme, username, password, hostname: null };
  const pct = host.indexOf('%');
  const hostname = pct < 0 ? host.toLowerCase() : host.slice(0, pct).toLowerCase() + host.slice(pct);
  return { scheme, username, password, hostname };
}

/** urllib's _check_bracketed_netloc: nothing before '[', only a port after ']', an IPv6 address or IPvFuture inside. */
function checkBracketedNetloc(netloc: string): void {
  const hostAndPort = netloc.slice(netloc.lastIndexOf('@') + 1);
  const br = hostAndPort.indexOf('[');
  let host: string;
  if (br >= 0) {
    if (br > 0) throw new UrlFormatError('Invalid IPv6 URL');
    const inner = hostAndPort.slice(1);
    const close = inner.indexOf(']');
    host = close < 0 ? inner : inner.slice(0, close);
    const after = close < 0 ? '' : inner.slice(close + 1);
    if (after && !after.startsWith(':')) throw new UrlFormatError('Invalid IPv6 URL');
  } else {
    const colon = hostAndPort.indexOf(':');
    host = colon < 0 ? hostAndPort : hostAndPort.slice(0, colon);
  }
  if (host.startsWith('v')) {
    // Python's `.` (no DOTALL) stops only at a newline, and urlsplit has removed those.
    if (!/^v[a-fA-F0-9]+\.[^\n]+$/.test(host)) throw new UrlFormatError('IPvFuture address is invalid');
    return;
  }
  const ip = parseIp(host);
  if (!ip) throw new UrlFormatError(`'${host}' does not appear to be an IPv4 or IPv6 address`);
  if (ip.v === 4) throw new UrlFormatError('An IPv4 address cannot be in brackets');
}

/** Python's "idna" codec as socket.getaddrinfo applies it to a host name; throws Quay's ValueError text when it refuses. */
function idnaEncode(host: string): string {
  const fail = (why: string): never => {
    throw new UrlFormatError(`encoding with 'idna' codec failed (UnicodeError: ${why})`);
  };
  if (!host) return host;
  if (/^[\x00-\x7f]*$/.test(host)) {
    const labels = host.split('.');
    for (const l of labels.slice(0, -1)) if (l.length === 0 || l.length >= 64) fail('label empty or too long');
    if (labels[labels.length - 1]!.length >= 64) fail('label too long');
    return host;
  }
  const labels = host.split(/[.\u3002\uff0e\uff61]/);
  const trailingDot = labels.length > 1 && labels[labels.length - 1] === '';
  if (trailingDot) labels.pop();
  const out = labels.map((l) => {
    const ascii = /^[\x00-\x7f]*$/.test(l) ? l : domainToASCII(l);
    if (ascii.length === 0 || ascii.length >= 64) fail('label empty or too long');
    return ascii;
  });
  return out.join('.') + (trailingDot ? '.' : '');
}

// ---------------------------------------------------------------- the check

/**
 * validate_external_registry_url(url, resolve_dns=True, allowed_hosts):
 * null when the URL may be called, else why not. `resolve` is the resolver
 * (tests pass their own).
 */
export async function ssrfRefusal(url: string, allowedHosts: readonly string[], resolve: Resolver = systemResolver): Promise<SsrfRefusal | null> {
  const invalid = (message: string): SsrfRefusal => ({ kind: 'invalid', message });
  const blocked = (message: string): SsrfRefusal => ({ kind: 'blocked', message });
  const text = url.replace(PY_STRIP, '');
  if (!text) return invalid('External registry URL is required');
  let parsed: ReturnType<typeof urlparse>;
  try {
    parsed = urlparse(text);
  } catch (e) {
    if (e instanceof UrlFormatError) return invalid('Invalid URL format');
    throw e;
  }
  if (parsed.scheme !== 'http' && parsed.scheme !== 'https') return invalid(`Invalid URL scheme '${parsed.scheme}': only HTTP and HTTPS are allowed`);
  if (parsed.username || parsed.password) return invalid('URLs with embedded credentials are not allowed');
  const hostname = parsed.hostname;
  if (!hostname) return invalid('URL must include a hostname');
  const lower = hostname.toLowerCase();
  const blockedByName = BLOCKED_HOSTNAMES.has(lower) || lower.endsWith('.internal') || lower.endsWith('.local');
  const nameAllowed = isAllowed(hostname, null, allowedHosts);
  const literal = parseIp(hostname);
  if (literal) {
    if (ipBlocked(literal) && !isAllowed(hostname, hostname, allowedHosts)) return blocked('URL points to a private or reserved IP address');
    return null;
  }
  let ips: string[];
  try {
    const ascii = idnaEncode(hostname);
    ips = await resolve(ascii);
  } catch (e) {
    if (e instanceof UrlFormatError) return invalid(e.message);
    return invalid(`Cannot resolve hostname '${hostname}'`);
  }
  if (ips.length === 0) return invalid(`Cannot resolve hostname '${hostname}'`);
  if (blockedByName && !nameAllowed && !ips.some((ip) => isAllowed(hostname, ip, allowedHosts))) return blocked(`Hostname '${hostname}' is not allowed`);
  for (const ip of ips) if (isBlockedAddress(ip) && !isAllowed(hostname, ip, allowedHosts)) return blocked('URL resolves to a private or reserved IP address');
  return null;
}

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
