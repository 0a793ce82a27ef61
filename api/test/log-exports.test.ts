/**
 * The pieces of the log-export requests that copy Python behaviour, checked
 * against Python itself: the callback-URL check against Quay's own
 * util/security/ssrf.py (stdlib only, run from Quay's source), Python's repr
 * of a JSON value (jsonschema's message) and strptime's `%m/%d/%Y`.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { QUAY_PYTHON } from '../../test/lib/quay-python.js';
import { callbackUrlProblem } from '../resources/callback-url.js';
import { parseExportDate, pyRepr } from '../resources/log-exports.js';

function python(code: string, input: string): string {
  const r = spawnSync('/usr/bin/python3', ['-c', code], { input, encoding: 'utf8', cwd: join(QUAY_PYTHON, 'src') });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return r.stdout;
}

t.test("callback URLs are judged as Quay's validate_external_registry_url judges them", async (t) => {
  const urls = [
    'http://8.8.8.8/x',
    'https://1.1.1.1:8443/cb',
    'http://127.0.0.1:9/x',
    'http://10.1.2.3/x',
    'http://100.64.0.1/',
    'http://169.254.169.254/latest',
    'http://172.20.0.1/',
    'http://192.168.1.1/',
    'http://192.0.2.1/',
    'http://198.18.0.1/',
    'http://224.0.0.1/',
    'http://0.0.0.0/',
    'http://255.255.255.255/',
    'http://[::1]/',
    'http://[2001:4860:4860::8888]/',
    'http://[2001:db8::1]/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
    'http://[::ffff:8.8.8.8]/',
    'http://[64:ff9b::808:808]/',
    'http://[2002::1]/',
    'http://[2001::1]/',
    'ftp://example.com/x',
    'HTTP://8.8.8.8/',
    'http://user:pw@8.8.8.8/',
    'http://user@8.8.8.8/',
    'http:///x',
    'no-scheme',
    '   ',
    'http://localhost/x',
    'http://nonexistent.invalid/x',
  ];
  const allow = ['127.0.0.1', '10.0.0.0/8'];
  const py = JSON.parse(
    python(
      `import json, sys
from util.security.ssrf import validate_external_registry_url, SSRFBlockedError
out = []
for url, allow in json.loads(sys.stdin.read()):
    try:
        validate_external_registry_url(url, allowed_hosts=allow)
        out.append(None)
    except SSRFBlockedError:
        out.append("Invalid callback URL")
    except ValueError as e:
        out.append(str(e))
print(json.dumps(out))`,
      JSON.stringify([...urls.map((u) => [u, []]), ...urls.map((u) => [u, allow])]),
    ),
  ) as (string | null)[];
  const ours = [...(await Promise.all(urls.map((u) => callbackUrlProblem(u, [])))), ...(await Promise.all(urls.map((u) => callbackUrlProblem(u, allow))))];
  for (let i = 0; i < ours.length; i++) t.equal(ours[i], py[i], `${urls[i % urls.length]}${i >= urls.length ? ' (allow-list)' : ''}: ${String(py[i])}`);
});

t.test("a JSON value's repr is Python's", async (t) => {
  const values = ['[]', '1', '-2', '1.5', 'true', 'false', 'null', '"x"', '"it\'s"', '"say \\"hi\\""', '"a\\nb"', '[1, "a", null]', '{"a": [true, {}]}', '{}', '"\\\\"'];
  const py = python('import json, sys\nfor line in sys.stdin.read().splitlines(): print(repr(json.loads(line)))', values.join('\n')).trimEnd().split('\n');
  values.forEach((v, i) => t.equal(pyRepr(JSON.parse(v)), py[i], v));
});

t.test("dates are read as strptime's %m/%d/%Y reads them", async (t) => {
  const inputs = [
    '12/01/2026',
    '1/2/2026',
    '02/29/2024',
    '02/29/2026',
    '13/01/2026',
    '00/10/2026',
    '12/32/2026',
    '2026-12-01',
    '12/01/26',
    'bad',
    '12/1/2026 ',
    ' 12/1/2026',
    '12/1/2026\t',
    '',
    '012/01/2026',
    '1/1/0999',
  ];
  const py = JSON.parse(
    python(
      `import json, sys, calendar
from datetime import datetime
out = []
for s in json.loads(sys.stdin.read()):
    try:
        d = datetime.strptime(s + " UTC", "%m/%d/%Y %Z") if s else None
        out.append(calendar.timegm(d.timetuple()) * 1000 if d else None)
    except ValueError:
        out.append(None)
print(json.dumps(out))`,
      JSON.stringify(inputs),
    ),
  ) as (number | null)[];
  inputs.forEach((s, i) => t.equal(parseExportDate(s), py[i], JSON.stringify(s)));
});
