/**
 * /api/v1 behind the real `switchboard serve` (issue 17): real Python Quay as
 * `python`, the TS runtime as `go`, one database, the switchboard's address
 * as both implementations' SERVER_HOSTNAME. A browser signed in on Python
 * (its Flask session cookie) keeps its answers while API_REPOSITORY_READ,
 * API_TAG_READ and API_USER_READ move to go, to a canary for one
 * organisation, and back to python; the access log shows who answered.
 */
import t from 'tap';
import type { Test } from 'tap';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, tempDir, waitFor } from '../lib/proc.js';
import { buildSwitchboard, startSwitchboard } from '../lib/switchboard.js';
import { startQuayPython, startQuayServe } from '../lib/quay-python.js';
import { diffJson, normalize, pythonSessionCookie } from '../lib/api-contract.js';

t.setTimeout(600_000);
await buildSwitchboard();

const dir = tempDir(t, 'swb-api-flip-');
const sbPort = await freePort();
const host = `127.0.0.1:${sbPort}`;
const quay = await startQuayPython(t, { serverHostname: host });
const { port: goPort } = await startQuayServe(t, { configFile: quay.configFile, dataDir: join(dir, 'ts-data'), what: "quay serve on Quay's database" });
const SB_DIR = join(dir, 'switchboard');
mkdirSync(SB_DIR);
const sb = await startSwitchboard(t, SB_DIR, { python: quay.url, go: `http://127.0.0.1:${goPort}` }, { migration: { ROUTE_OWNER_DEFAULT: 'python' } }, { listen: host });

// A browser session made by Python, through the switchboard (sign-in stays python's).
const cookie = `_csrf_token=${await pythonSessionCookie(`http://${host}`, 'devtable')}`;

const PATHS = [
  '/api/v1/user/',
  '/api/v1/repository/devtable/simple',
  '/api/v1/repository/buynlarge/orgrepo',
  '/api/v1/repository?namespace=buynlarge',
  '/api/v1/repository?namespace=devtable&last_modified=true',
  '/api/v1/repository/devtable/simple/tag/',
  '/api/v1/repository/buynlarge/orgrepo/tag/?onlyActiveTags=true',
];

async function get(path: string): Promise<{ status: number; body: unknown; cookie: string | null }> {
  const res = await fetch(`http://${host}${path}`, { headers: { cookie, 'user-agent': 'node' }, redirect: 'manual' });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, cookie: res.headers.get('set-cookie') };
}

/** Every path's answer with everything on python: what each phase must give again. */
const baseline = new Map<string, { status: number; body: unknown }>();
for (const p of PATHS) baseline.set(p, await get(p));

async function phase(t: Test, name: string, migration: Record<string, unknown>, expectOwner: (path: string) => 'python' | 'go'): Promise<void> {
  await sb.reconfigure({ migration: { ROUTE_OWNER_DEFAULT: 'python', ...migration } });
  const from = sb.accessLog().length;
  for (const p of PATHS) {
    const a = await get(p);
    const want = baseline.get(p)!;
    t.equal(a.status, want.status, `${name}: ${p} status`);
    t.same(diffJson(normalize(want.body), normalize(a.body)), [], `${name}: ${p} body as python gave it`);
    t.match(a.cookie ?? '', /^_csrf_token=/, `${name}: ${p} the session cookie comes back refreshed`);
  }
  // The access log is written after the answer: wait until every request of this phase is in it.
  const logged = await waitFor(
    () =>
      PATHS.every((p) =>
        sb
          .accessLog()
          .slice(from)
          .some((l) => l.path === p),
      ),
    15_000,
  );
  t.ok(logged, `${name}: every request is in the access log`);
  const lines = sb.accessLog().slice(from);
  for (const p of PATHS) {
    const line = lines.find((l) => l.path === p);
    t.equal(line?.owner, expectOwner(p), `${name}: ${p} answered by ${expectOwner(p)}`);
  }
}

t.test('flip the read capabilities to go and back; canary one organisation', async (t) => {
  const FLIPPED = { ROUTE_OWNER_CAP_API_REPOSITORY_READ: 'go', ROUTE_OWNER_CAP_API_TAG_READ: 'go', ROUTE_OWNER_CAP_API_USER_READ: 'go' };
  await phase(t, 'all go', FLIPPED, () => 'go');
  await phase(
    t,
    'canary buynlarge',
    {
      ROUTE_OWNER_CAP_API_REPOSITORY_READ: 'canary',
      ROUTE_OWNER_CAP_API_TAG_READ: 'canary',
      ROUTE_CANARY_CAP_API_REPOSITORY_READ_ORGS: ['buynlarge'],
      ROUTE_CANARY_CAP_API_TAG_READ_ORGS: ['buynlarge'],
    },
    // The canary subject is the path's namespace; a query parameter names none.
    (p) => (p.split('?')[0]!.includes('/buynlarge/') ? 'go' : 'python'),
  );
  await phase(t, 'back to python', {}, () => 'python');
  await phase(t, 'go again', FLIPPED, () => 'go');
});
