/**
 * The pieces of the log-export requests that copy Python behaviour, checked
 * against Python itself: the endpoint's wording of a refused callback URL
 * (Quay's util/security/ssrf.py, stdlib only, run from Quay's source), Python's repr
 * of a JSON value (jsonschema's message) and strptime's `%m/%d/%Y`.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { QUAY_PYTHON } from '../../test/lib/quay-python.js';
import { callbackUrlProblem, parseExportDate, pyRepr } from '../resources/log-exports.js';

function python(code: string, input: string): string {
  const r = spawnSync('/usr/bin/python3', ['-c', code], { input, encoding: 'utf8', cwd: join(QUAY_PYTHON, 'src') });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return r.stdout;
}

t.test("a refused callback URL is answered as Quay's _validate_callback_url answers it", async (t) => {
  // One URL per outcome; lib/test/ssrf.test.ts compares the check itself on many more.
  const urls = [
    'http://8.8.8.8/x',
    'http://10.1.2.3/x',
    'http://[::1]/',
    'http://localhost/x',
    'http://a..b/',
    'ftp://example.com/x',
    'http://user:pw@8.8.8.8/',
    'http:///x',
    '   ',
    'http://[::1/',
    'http://nonexistent.invalid/x',
  ];
  const allow = ['10.0.0.0/8'];
  const py = JSON.parse(
    python(
      `import json, sys
from util.security.ssrf import validate_external_registry_url, SSRFBlockedError
out = []
for url, allow in json.loads(sys.stdin.read()):
    # endpoints/api/logs.py _validate_callback_url, without the Flask app around it
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
  t.ok(py.includes('Invalid callback URL') && py.includes(null) && py.includes("Invalid URL scheme 'ftp': only HTTP and HTTPS are allowed"), 'every outcome is exercised');
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
