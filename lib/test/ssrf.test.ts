/**
 * The SSRF check against Quay's own (util/security/ssrf.py, stdlib only, run
 * with Debian's Python as real Quay runs): for each URL and allow-list, ours
 * refuses exactly when Quay's raises. Host names are IP literals or
 * `localhost` (the machine's resolver, for both), so no network is needed.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { QUAY_PYTHON } from '../../test/lib/quay-python.js';
import { externalUrlRefusal, isBlockedAddress } from '../ssrf.js';

const CASES: readonly (readonly [string, readonly string[]])[] = [
  ['http://8.8.8.8/hook', []],
  ['https://1.1.1.1:8443/x?y=1', []],
  ['http://127.0.0.1/x', []],
  ['http://127.0.0.2:9000/x', ['127.0.0.2']],
  ['http://127.0.0.2:9000/x', ['127.0.0.0/8']],
  ['http://127.0.0.2:9000/x', ['127.0.0.3']],
  ['http://10.1.2.3/', []],
  ['http://100.64.1.1/', []],
  ['http://169.254.169.254/latest/meta-data', []],
  ['http://192.168.1.1/', ['192.168.0.0/16']],
  ['http://224.0.0.1/', []],
  ['http://[::1]/', []],
  ['http://[2001:db8::1]/', []],
  ['http://[2606:4700:4700::1111]/', []],
  ['http://[::ffff:127.0.0.1]/', []],
  ['http://localhost:8080/', []],
  ['http://localhost:8080/', ['localhost']],
  ['http://LOCALHOST/', ['127.0.0.0/8']],
  ['http://user:pw@8.8.8.8/', []],
  ['ftp://8.8.8.8/', []],
  ['http:///nohost', []],
];

function quayRefuses(): boolean[] {
  const code = `
import json, sys
from util.security.ssrf import validate_external_registry_url as v
out = []
for url, allowed in json.loads(sys.stdin.read()):
    try:
        v(url, resolve_dns=True, allowed_hosts=allowed)
        out.append(False)
    except ValueError:
        out.append(True)
print(json.dumps(out))`;
  const r = spawnSync('/usr/bin/python3', ['-c', code], { input: JSON.stringify(CASES), encoding: 'utf8', env: { ...process.env, PYTHONPATH: `${QUAY_PYTHON}/src` } });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as boolean[];
}

t.test("ours refuses exactly the URLs Quay's validate_external_registry_url refuses", async (t) => {
  const theirs = quayRefuses();
  for (const [i, [url, allowed]] of CASES.entries()) {
    const reason = await externalUrlRefusal(url, allowed); // the machine's resolver, as Python's
    t.equal(reason !== null, theirs[i], `${url} allowed=${JSON.stringify(allowed)}: ${reason ?? 'allowed'}`);
  }
});

t.test('addresses: global unicast only', async (t) => {
  t.equal(isBlockedAddress('8.8.8.8'), false);
  t.equal(isBlockedAddress('127.0.0.1'), true);
  t.equal(isBlockedAddress('fe80::1'), true);
  t.equal(isBlockedAddress('not-an-ip'), true);
});

t.test('a name that does not resolve is refused', async (t) => {
  const reason = await externalUrlRefusal('http://nowhere.example/', [], async () => {
    throw new Error('ENOTFOUND');
  });
  t.equal(reason, "Cannot resolve hostname 'nowhere.example'");
});
