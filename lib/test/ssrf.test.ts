/**
 * The SSRF check against Quay's own (util/security/ssrf.py, stdlib only, run
 * from Quay's source with Debian's Python, as real Quay runs): for each URL
 * and allow-list, ours refuses exactly when Quay's raises, with the same
 * exception kind (SSRFBlockedError or another ValueError) and message.
 *
 * Names resolve through one table on both sides (Quay's `_getaddrinfo`
 * replaced by a function that IDNA-encodes the name as socket.getaddrinfo
 * does, then reads the table), so no DNS server is asked; `localhost` and the
 * numeric forms glibc reads as addresses go to the machine's resolver on
 * both sides, which answers them without the network.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { QUAY_PYTHON } from '../../test/lib/quay-python.js';
import { isBlockedAddress, ssrfRefusal, systemResolver } from '../ssrf.js';

/** Resolved names (IDNA-encoded, as getaddrinfo receives them). */
const TABLE: Readonly<Record<string, readonly string[]>> = {
  'public.example': ['93.184.216.34'],
  'v6.example': ['2606:4700::6810:84e5'],
  'rebind.example': ['93.184.216.34', '127.0.0.1'],
  'mapped.example': ['::ffff:127.0.0.1'],
  'nat64.example': ['64:ff9b::808:808'],
  'xn--bcher-kva.example': ['10.0.0.5'],
  metadata: ['169.254.169.254'],
  'kubernetes.default.svc': ['10.96.0.1'],
  'foo.internal': ['10.0.0.7'],
  'foo.local': ['93.184.216.34'],
  'public.internal': ['93.184.216.34'],
  empty: [],
};
/** Names the machine's resolver answers from /etc/hosts or as numbers, for both sides. */
const LOCAL = ['localhost', 'localhost.', '2130706433', '0x7f.1', '0177.0.0.1', '127.1', '0x08080808', '010.010.010.010'];

async function resolveTable(host: string): Promise<string[]> {
  const known = TABLE[host];
  if (known) return [...known];
  if (LOCAL.includes(host)) return systemResolver(host);
  throw new Error(`ENOTFOUND ${host}`);
}

const URLS: readonly string[] = [
  // schemes, credentials, missing parts
  'http://8.8.8.8/x',
  'http://8.8.8.8/hook',
  'http:///nohost',
  'https://1.1.1.1:8443/x?y=1',
  'HTTP://8.8.8.8/',
  'ftp://example.com/x',
  'ftp://8.8.8.8/',
  'javascript:alert(1)',
  'no-scheme',
  'localhost:8080',
  '8.8.8.8',
  '//8.8.8.8/',
  '   ',
  '\u3000\u2003',
  '\x1f http://8.8.8.8/ \x1c',
  '\x01http://8.8.8.8/',
  'http:///x',
  'http://',
  'http://:80/',
  'http://user:pw@8.8.8.8/',
  'http://user@8.8.8.8/',
  'http://@8.8.8.8/',
  'http://:@8.8.8.8/',
  'http://:pw@8.8.8.8/',
  'http://a@b@8.8.8.8/',
  'http://a@b@c/',
  'http://8.8.8.8\\@127.0.0.1/',
  // IPv4 literals
  'http://127.0.0.1/x',
  'http://127.0.0.1:9/x',
  'http://127.0.0.2:9000/x',
  'http://10.1.2.3/x',
  'http://100.64.0.1/',
  'http://169.254.169.254/latest/meta-data',
  'http://172.20.0.1/',
  'http://192.168.1.1/',
  'http://192.0.0.9/',
  'http://192.0.2.1/',
  'http://198.18.0.1/',
  'http://224.0.0.1/',
  'http://0.0.0.0/',
  'http://255.255.255.255/',
  'http://1.2.3.4.5/',
  // forms glibc reads as addresses that Python's ipaddress does not
  'http://2130706433/',
  'http://0x7f.1/',
  'http://0177.0.0.1/',
  'http://127.1/',
  'http://0x08080808/',
  'http://010.010.010.010/',
  // IPv6 literals
  'http://[::1]/',
  'http://[::]/',
  'http://[2001:4860:4860::8888]/',
  'http://[2606:4700:4700::1111]/',
  'http://[2001:db8::1]/',
  'http://[fd00::1]/',
  'http://[fe80::1]/',
  'http://[fe80::1%25eth0]/',
  'http://[fec0::1]/',
  'http://[ff02::1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://[::ffff:8.8.8.8]/',
  'http://[::ffff:7f00:1]/',
  'http://[::127.0.0.1]/',
  'http://[64:ff9b::808:808]/',
  'http://[64:ff9b:1::1]/',
  'http://[2002::1]/',
  'http://[2001::1]/',
  'http://[2001:20::1]/',
  'http://[2001:3::1]/',
  'http://[100::1]/',
  'http://[::1]:8080/x',
  'http://[::1/',
  'http://::1]/',
  'http://[127.0.0.1]/',
  'http://[v1.x]/',
  'http://[vz]/',
  'http://[::1]x/',
  'http://x[::1]/',
  'http://[a]@8.8.8.8/',
  // names
  'http://public.example/x',
  'http://PUBLIC.example:8080/x',
  'http://public.example./x',
  'http://v6.example/',
  'http://rebind.example/',
  'http://mapped.example/',
  'http://nat64.example/',
  'http://bücher.example/',
  'http://BÜCHER.example/',
  'http://public.internal/',
  'http://empty/',
  'http://localhost/x',
  'http://localhost:8080/',
  'http://LOCALHOST/',
  'http://localhost./',
  'http://metadata/',
  'http://kubernetes.default.svc/',
  'http://foo.internal/',
  'http://foo.local/',
  'http://nonexistent.invalid/x',
  'http://%31%32%37.0.0.1/',
  'http://127.0.0.1%2f/',
  'http://12\n7.0.0.1/',
  'http://a..b/',
  'http://.a/',
  `http://${'a'.repeat(64)}.invalid/`,
  `http://x.${'a'.repeat(64)}/`,
  'http://bücher.invalid/',
  'http://exa\u2100mple.com/',
  'http://ex\uff0eample.invalid/',
];

const ALLOW_LISTS: readonly (readonly string[])[] = [
  [],
  ['127.0.0.1', '10.0.0.0/8'],
  ['127.0.0.0/8'],
  ['127.0.0.2'],
  ['127.0.0.3'],
  ['localhost'],
  ['LOCALHOST', '::1'],
  ['192.168.0.0/255.255.0.0', '169.254.0.0/0.0.255.255'],
  ['127.0.0.0/33', 'fe80::/10', '2130706433'],
  ['0.0.0.0/0', '::/0'],
  ['foo.internal', 'metadata'],
  ['public.internal', '10.0.0.5'],
  ['192.168.0.0/16', '10.1.2.3/8', '10.0.0.0/', '127.0.0.0/8/8', '::ffff:127.0.0.1'],
  ['fe80::%1/64', '127.0.0.1/032', ' 127.0.0.1', '127.0.0.1/255.0.0.255'],
];

type Verdict = { kind: 'blocked' | 'invalid'; message: string } | null;

function quayVerdicts(cases: readonly (readonly [string, readonly string[]])[]): Verdict[] {
  const code = `
import json, socket, sys
import util.security.ssrf as ssrf
from util.security.ssrf import validate_external_registry_url, SSRFBlockedError
table, local, cases = json.loads(sys.stdin.read())
def fake_getaddrinfo(host, port, family, type):
    name = host.encode("idna").decode("ascii")
    if name in table:
        return [(0, type, 0, "", (ip, 0)) for ip in table[name]]
    if name in local:
        return socket.getaddrinfo(name, port, family, type)
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
ssrf._getaddrinfo = fake_getaddrinfo
out = []
for url, allowed in cases:
    try:
        validate_external_registry_url(url, resolve_dns=True, allowed_hosts=allowed)
        out.append(None)
    except SSRFBlockedError as e:
        out.append({"kind": "blocked", "message": str(e)})
    except ValueError as e:
        out.append({"kind": "invalid", "message": str(e)})
print(json.dumps(out))`;
  const r = spawnSync('/usr/bin/python3', ['-c', code], { input: JSON.stringify([TABLE, LOCAL, cases]), encoding: 'utf8', cwd: join(QUAY_PYTHON, 'src') });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Verdict[];
}

t.test("ours refuses exactly as Quay's validate_external_registry_url does: kind and message", async (t) => {
  const cases = ALLOW_LISTS.flatMap((allowed) => URLS.map((url) => [url, allowed] as const));
  const theirs = quayVerdicts(cases);
  for (const [i, [url, allowed]] of cases.entries()) {
    const ours = await ssrfRefusal(url, allowed, resolveTable);
    t.same(ours, theirs[i], `${JSON.stringify(url)} allowed=${JSON.stringify(allowed)}: ${theirs[i] ? theirs[i].message : 'allowed'}`);
  }
});

t.test('addresses: global unicast only', async (t) => {
  t.equal(isBlockedAddress('8.8.8.8'), false);
  t.equal(isBlockedAddress('127.0.0.1'), true);
  t.equal(isBlockedAddress('fe80::1'), true);
  t.equal(isBlockedAddress('fe80::1%eth0'), true);
  t.equal(isBlockedAddress('2001:20::1'), false);
  t.equal(isBlockedAddress('not-an-ip'), true);
});

t.test('the resolver is injectable and gets the IDNA-encoded name', async (t) => {
  const asked: string[] = [];
  const resolve = async (h: string): Promise<string[]> => {
    asked.push(h);
    if (h === 'public.example') return ['93.184.216.34'];
    if (h === 'xn--bcher-kva.example') return ['10.0.0.5'];
    if (h === 'rebind.example') return ['93.184.216.34', '127.0.0.1'];
    throw new Error('ENOTFOUND');
  };
  t.equal(await ssrfRefusal('http://public.example/', [], resolve), null);
  t.same(await ssrfRefusal('http://bücher.example/', [], resolve), { kind: 'blocked', message: 'URL resolves to a private or reserved IP address' });
  t.equal(await ssrfRefusal('http://bücher.example/', ['10.0.0.0/24'], resolve), null);
  t.same(await ssrfRefusal('http://rebind.example/', [], resolve), { kind: 'blocked', message: 'URL resolves to a private or reserved IP address' });
  t.same(await ssrfRefusal('http://nowhere.example/', [], resolve), { kind: 'invalid', message: "Cannot resolve hostname 'nowhere.example'" });
  t.same(await ssrfRefusal('http://x.local/', [], async () => ['93.184.216.34']), { kind: 'blocked', message: "Hostname 'x.local' is not allowed" });
  t.equal(await ssrfRefusal('http://x.local/', ['93.184.216.0/24'], async () => ['93.184.216.34']), null);
  t.same(asked, ['public.example', 'xn--bcher-kva.example', 'xn--bcher-kva.example', 'rebind.example', 'nowhere.example']);
});
