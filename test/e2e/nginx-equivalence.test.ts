// Proof that the rendered nginx front door decides as the switchboard does.
//
// For each owner map below, `switchboard nginx render` output is run in real
// nginx (Debian nginx-light) in front of two upstreams that echo who they are.
// A concrete request for every one of the 435 inventory rows (plus HEAD and
// OPTIONS forms, trailing-slash forms, unknown paths of every family, encoded
// paths) goes through nginx, and the owner that answered must equal
// decide(snapshot, request).owner for every request. The differences the
// renderer documents (/v1/_ping answered by nginx, users known only from a
// bearer token) are pinned explicitly.

import t from 'tap';
import type { Test } from 'tap';
import http from 'node:http';
import { loadInventory, type RouteRow } from '../../owner-maps/index.js';
import { parseConfig } from '../../switchboard/config/parse.js';
import { buildSnapshot, type Snapshot } from '../../switchboard/core/snapshot.js';
import { decide } from '../../switchboard/core/decide.js';
import { murmurHash2, inPercent } from '../../switchboard/core/murmur2.js';
import { parsePattern } from '../../owner-maps/route-pattern.js';
import { renderNginx } from '../../switchboard/nginx/render.js';
import { freePort, tempDir } from '../lib/proc.js';
import { requireNginx, startEcho, startNginx, type EchoServer } from '../lib/nginx.js';

requireNginx();
const inv = loadInventory();

/** A namespace in the first 5% bucket and one outside 50%, found by the same hash nginx uses. */
function nsWhere(pred: (h: number) => boolean, prefix: string): string {
  for (let k = 0; ; k++) if (pred(murmurHash2(`${prefix}${k}`))) return `${prefix}${k}`;
}
const NS = [
  'acme',
  'beta',
  'library',
  'team-x',
  'org_1',
  'quay',
  'alpha',
  'zeta',
  'megacorp',
  'dev',
  nsWhere((h) => inPercent(h, 5), 'in5-'),
  nsWhere((h) => !inPercent(h, 50), 'out50-'),
  nsWhere((h) => inPercent(h, 50) && !inPercent(h, 5), 'in50-'),
];
const USERS = ['alice', 'bob', 'carol', 'dave', nsWhere((h) => inPercent(h, 5), 'u5-')];

interface Req {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
  readonly note: string;
  /** The row the request is meant to reach (coverage check), if any. */
  readonly row?: RouteRow;
}

function basic(user: string): string {
  return `Basic ${Buffer.from(`${user}:secret`).toString('base64')}`;
}
function bearer(sub: string): string {
  const b = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `Bearer ${b({ alg: 'RS256', typ: 'JWT' })}.${b({ sub, aud: 'quay' })}.c2ln`;
}

function concretePath(route: RouteRow, i: number): string {
  const ns = NS[i % NS.length]!;
  return (
    '/' +
    parsePattern(route.pattern, route.id)
      .map((p) => {
        if (p.type === 'static') return p.value;
        if (p.type === 'many') {
          if (p.kind === 'path') return `dir${i}/file.txt`;
          const shape = p.kind === 'apirepopath' ? i % 2 : p.kind === 'repopathredirect' ? 0 : i % 3;
          return shape === 0 ? `${ns}/repo${i}` : shape === 1 ? (p.kind === 'apirepopath' ? `${ns}/team/repo${i}` : `repo${i}`) : `${ns}/team/repo${i}`;
        }
        switch (p.kind) {
          case 'digest':
            return `sha256:${murmurHash2(String(i)).toString(16).padStart(8, '0').repeat(8)}`;
          case 'tag':
            return `v${i}.0`;
          case 'fileid':
            return `f-${i}`;
          default:
            return p.name === 'orgname' || p.name === 'namespace' || p.name === 'username' ? ns : `x${i}`;
        }
      })
      .join('/')
  );
}

function requests(): Req[] {
  const out: Req[] = [];
  inv.routes.forEach((r, i) => {
    const path = concretePath(r, i);
    // Every third request carries credentials: the user is the percent subject of paths without a namespace.
    const authorization = i % 3 === 0 ? basic(USERS[i % USERS.length]!) : undefined;
    out.push({ method: r.method, path, note: `${r.id} ${r.method} ${r.pattern}`, row: r, ...(authorization ? { authorization } : {}) });
    if (r.method === 'GET') out.push({ method: 'HEAD', path, note: `${r.id} as HEAD` });
    if (i % 5 === 0) out.push({ method: 'OPTIONS', path, note: `${r.id} as OPTIONS` });
    if (r.pattern.endsWith('/') && r.pattern !== '/') out.push({ method: r.method, path: path.slice(0, -1), note: `${r.id} without its trailing slash` });
    else if (i % 4 === 0) out.push({ method: r.method, path: `${path}/`, note: `${r.id} with a trailing slash` });
    // nginx picks the rows to try by hashing the last two segments, and its hash keys ignore
    // case where the row regexes do not: the same path with one of them in upper case.
    const segs = path.split('/');
    const at = segs.length - 1 - (i % 2);
    if (at > 0 && /[a-z]/.test(segs[at]!)) {
      const upper = [...segs.slice(0, at), segs[at]!.toUpperCase(), ...segs.slice(at + 1)].join('/');
      out.push({ method: r.method, path: upper, note: `${r.id} with segment ${at} in upper case` });
    }
  });
  const extra: [string, string][] = [
    ['GET', '/v2/acme/app/unknown'],
    ['PATCH', '/v2/'],
    ['POST', '/v2/acme/app/manifests/v1'],
    ['GET', '/v2/acme/app/manifests/'],
    ['GET', '/api/v1/nope/x'],
    ['DELETE', '/api/v1/user/'],
    ['GET', '/api/v2/thing'],
    ['GET', '/v1/nope/x/y'],
    ['GET', '/v1'],
    ['GET', '/nonexistent/a/b/c'],
    ['GET', '/'],
    ['GET', '/keys/x/y/z'],
    ['PUT', '/oauth2/x/y'],
    ['GET', '/secscan/zzz'],
    ['GET', '/.well-known/nothing'],
    ['GET', '/userfiles/'],
    ['GET', '/realtime/x/y/z'],
    ['GET', '/v2/acme%2Fapp/manifests/v1'],
    ['GET', '/v2/acme/app/manifests/t%C3%BCag'],
    ['GET', '/v2/acme/app/manifests/t%FFag'],
    ['GET', '/v2/acme/app/manifests/-bad'],
    ['GET', '/v2/acme/app/blobs/sha256:zz'],
    ['GET', '/v2/app/tags/list'],
    ['GET', '/v2/a/b/c/d/tags/list'],
    ['GET', '/v2//acme/app/manifests/v1'],
    ['GET', '/api/v1/repository/acme/app/tag/'],
    ['GET', '/acme'],
    ['GET', '/acme/app'],
    ['GET', '/v2'],
    ['GET', '/v1/_ping'],
    ['GET', '/api/v1/organization/in5-x/robots'],
    ['GET', '/v1/repositories/acme/app/tags'],
    ['PUT', '/v1/repositories/acme/app/auth'],
    ['PUT', '/v1/repositories/acme/images'],
    ['GET', '/customtrigger/setup/'],
    ['GET', '/bitbucket/setup/'],
    ['GET', '/github/callback/trigger/'],
    ['GET', '/v2/x/'],
    ['GET', '/push/x'],
    ['GET', `/v2/acme/app/manifests/${'%F0%9D%90%80'.repeat(70)}`],
    ['GET', `/v2/acme/app/manifests/${'%F0%9D%90%80'.repeat(128)}`],
    ['GET', `/v2/acme/app/manifests/${'%F0%9D%90%80'.repeat(129)}`],
    ['GET', `/v2/acme/app/manifests/${'a'.repeat(128)}`],
    ['GET', `/v2/acme/app/manifests/${'a'.repeat(129)}`],
    ['GET', 'http://registry.example.com/v2/acme/app/manifests/v1'],
    ['GET', '/v2/acme/app/manifests/v%zz'],
    ['GET', '/acme/app%00'],
    ['GET', '/v2/acme/app/tags/list%'],
    ['GET', '/v2/acme%0Aapp/tags/list'],
    // Where the dispatch on the first and last two segments has its edges.
    ['GET', '/V2/acme/app/manifests/v1'],
    ['GET', '/Api/v1/user/'],
    ['GET', '/v2/acme/app/MANIFESTS/v1'],
    ['GET', '/v2/acme/app/Tags/list'],
    ['POST', '/api/v1/organization/acme/VALIDATEPROXYCACHE'],
    ['GET', '/api/v1/organization/logs'],
    ['GET', '/api/v1/organization/logs/logs'],
    ['GET', '/api/v1/user/logs/logs'],
    ['GET', '/api/v1/user/robots/logs'],
    ['GET', '/v2/tags/list'],
    ['GET', '/v2/manifests/manifests/latest'],
    ['GET', '/v2/acme/manifests/tags/list'],
    ['GET', '/v2/acme/tags/list/manifests/list'],
    ['GET', '/v2/acme/app/blobs/uploads'],
    ['PATCH', '/v2/acme/app/blobs/uploads'],
    ['POST', '/v2/acme/app/blobs/uploads'],
    ['GET', '/v2/acme/app/blobs/uploads/'],
    ['GET', '/api/v1/repository/acme/app/tag'],
    ['GET', '/api/v1/repository/a/b/c/d/tag/'],
    ['DELETE', '/api/v1/organization/acme/team/t/members/m'],
    ['GET', '/api/v1/superuser/users/x/quota/y'],
    ['GET', '/v1/repositories/a/b/tags/c'],
    ['PUT', '/v1/repositories/a/b/c/'],
    ['GET', '/a/b/c/d/e/f/g/h'],
    ['GET', '/organization/acme/'],
    ['GET', '/user/'],
  ];
  for (const [method, path] of extra) out.push({ method, path, note: `extra ${method} ${path}` });
  for (const [j, ns] of NS.entries()) {
    out.push({ method: 'GET', path: `/v2/${ns}/app${j}/manifests/latest`, note: `namespace ${ns}` });
    out.push({ method: 'GET', path: `/api/v1/user/`, authorization: basic(`${ns}-user`), note: `user ${ns}-user` });
  }
  return out;
}

const ALL = requests();

function snapshotOf(yaml: string): Snapshot {
  const r = parseConfig(yaml, 'owner-map.yaml', inv, {});
  if (!r.ok) throw new Error(`test config invalid: ${JSON.stringify(r.issues)}`);
  return buildSnapshot(inv, r.config, 1, new Date());
}

/** Paths nginx answers 400 itself: not UTF-8 once percent-decoded, a bad percent escape, or %00. */
function nginxRefuses(p: string): boolean {
  const path = p.split('?')[0]!;
  if (/%(?![0-9A-Fa-f]{2})|%00/.test(path)) return true;
  const bytes = Buffer.from(
    path.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  );
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function send(port: number, r: Req): Promise<{ status: number; owner: string; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: r.method, path: r.path, agent, headers: r.authorization ? { authorization: r.authorization } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, owner: String(res.headers['x-echo-owner'] ?? 'nginx'), headers: res.headers, body }));
    });
    req.setTimeout(20_000, () => req.destroy(new Error(`${r.method} ${r.path}: no answer`)));
    req.on('error', reject);
    req.end();
  });
}

async function all<T, R>(items: readonly T[], fn: (x: T) => Promise<R>, width = 16): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
    }),
  );
  return out;
}

let echo: { python: EchoServer; go: EchoServer };

function config(migration: string, extra = ''): string {
  return `SERVER_HOSTNAME: registry.example.com
${extra}
MIGRATION:
${migration
  .trim()
  .split('\n')
  .map((l) => `  ${l.trim()}`)
  .join('\n')}
SWITCHBOARD:
  UPSTREAMS: {python: "http://127.0.0.1:${echo.python.port}", go: "http://127.0.0.1:${echo.go.port}"}
  ACCESS_LOG: "off"
  DEBUG_HEADERS: true
`;
}

interface Run {
  readonly snapshot: Snapshot;
  readonly port: number;
  readonly text: string;
  stop(): Promise<void>;
}

async function front(tt: Test, yaml: string): Promise<Run> {
  const dir = tempDir(tt, 'swb-nginx-');
  const port = await freePort();
  const snapshot = snapshotOf(yaml);
  const { text } = renderNginx(snapshot, { listen: `127.0.0.1:${port}`, runtimeDir: dir, accessLog: 'off' });
  const n = await startNginx(tt, dir, text, port);
  return { snapshot, port, text, stop: n.stop };
}

/** Sends every request through nginx and compares with decide(); returns per-owner counts. */
async function prove(tt: Test, run: Run, reqs: readonly Req[] = ALL): Promise<Record<string, number>> {
  const answers = await all(reqs, (r) => send(run.port, r));
  const mismatches: string[] = [];
  const counts: Record<string, number> = {};
  const covered = new Set<string>();
  reqs.forEach((r, i) => {
    const a = answers[i]!;
    const d = decide(run.snapshot, { method: r.method, path: r.path, authorization: r.authorization, clientAddress: '127.0.0.1' });
    if (r.row) {
      if (d.route_id === r.row.id || d.route_id === r.row.shadowedBy) covered.add(r.row.id);
      else mismatches.push(`coverage: ${r.note} resolved to ${d.route_id} in decide()`);
    }
    counts[a.owner] = (counts[a.owner] ?? 0) + 1;
    if (r.path === '/v1/_ping' && (r.method === 'GET' || r.method === 'HEAD')) {
      // Documented: nginx answers the v1 ping itself, as Quay's nginx does.
      if (a.owner !== 'nginx' || a.status !== 200 || a.headers['x-docker-registry-version'] !== '0.6.0')
        mismatches.push(`${r.note}: nginx should answer /v1/_ping itself, got ${a.status} from ${a.owner}`);
      return;
    }
    if (nginxRefuses(r.path)) {
      // Documented: nginx refuses a path that is not UTF-8 once decoded, a bad escape or %00.
      if (a.status !== 400 || a.owner !== 'nginx') mismatches.push(`${r.note}: nginx should refuse this path with 400, got ${a.status} from ${a.owner}`);
      return;
    }
    if (a.owner !== d.owner) {
      mismatches.push(
        `${r.note} [${r.method} ${r.path}${r.authorization ? ' +auth' : ''}]: nginx → ${a.owner} (${a.status}, route ${String(a.headers['x-switchboard-route'])}), decide → ${d.owner} (${d.reason}, ${d.route_id})`,
      );
    }
  });
  tt.same(mismatches, [], `nginx's owner equals decide() for all ${reqs.length} requests`);
  if (reqs === ALL) tt.equal(covered.size, inv.routes.length, `every one of the ${inv.routes.length} inventory rows was requested`);
  return counts;
}

t.before(async () => {
  echo = { python: await startEcho(t, 'python'), go: await startEcho(t, 'go') };
});
t.teardown(() => agent.destroy());

t.test('all python', async (tt) => {
  const run = await front(tt, config('ROUTE_OWNER_DEFAULT: python'));
  const c = await prove(tt, run);
  tt.equal(c.go ?? 0, 0, 'nothing reaches go');
});

t.test('all go', async (tt) => {
  const run = await front(tt, config('ROUTE_OWNER_DEFAULT: go'));
  const c = await prove(tt, run);
  tt.equal(c.python ?? 0, 0, 'nothing reaches python');
});

const MIXED = `
ROUTE_OWNER_DEFAULT: python
ROUTE_OWNER_FAMILY_REGISTRY_V2: go
ROUTE_OWNER_CAP_V2_PUSH: python
ROUTE_OWNER_ROUTE_0016: python
ROUTE_OWNER_FAMILY_API_V1: go
ROUTE_OWNER_CAP_API_BILLING: python
ROUTE_OWNER_ROUTE_0058: python
ROUTE_OWNER_CAP_API_SUPERUSER_READ: python
ROUTE_OWNER_FAMILY_WEB: go
ROUTE_OWNER_CAP_WEB_UI: python
ROUTE_OWNER_FAMILY_REGISTRY_V1: go
ROUTE_OWNER_CAP_V1_PING: python
`;

t.test('mixed levels: family, capability and route switches', async (tt) => {
  const run = await front(tt, config(MIXED));
  const c = await prove(tt, run);
  tt.ok((c.go ?? 0) > 100 && (c.python ?? 0) > 100, `both owners answer (${JSON.stringify(c)})`);
});

t.test('canary by org and repo, with a renamed library namespace', async (tt) => {
  const run = await front(
    tt,
    config(
      `
    ROUTE_OWNER_DEFAULT: python
    ROUTE_OWNER_FAMILY_REGISTRY_V2: canary
    ROUTE_CANARY_ORGS: [acme, lib, quay]
    ROUTE_OWNER_FAMILY_API_V1: canary
    ROUTE_CANARY_FAMILY_API_V1_ORGS: [beta]
    ROUTE_CANARY_FAMILY_API_V1_REPOS: [zeta/team/repo5, megacorp/repo8]
    ROUTE_OWNER_CAP_V1_PULL: canary
    ROUTE_CANARY_CAP_V1_PULL_REPOS: ['lib/repo150', 'dev/repo159']
  `,
      'LIBRARY_NAMESPACE: lib',
    ),
  );
  tt.match(run.text, /# ROUTE_CANARY_ORGS: acme, lib, quay/, 'the org list is shown');
  const c = await prove(tt, run);
  tt.ok((c.go ?? 0) > 10 && (c.python ?? 0) > 100, `both owners answer (${JSON.stringify(c)})`);
});

t.test('5% canary everywhere', async (tt) => {
  const run = await front(tt, config('ROUTE_OWNER_DEFAULT: canary\nROUTE_CANARY_PERCENT: 5'));
  tt.match(run.text, /split_clients "\$sb_ns_r" \$sb_percent_00500_r \{\n\s+5% go;\n\s+\* python;/, 'one split_clients at 5%');
  const c = await prove(tt, run);
  tt.ok((c.go ?? 0) > 0 && (c.python ?? 0) > (c.go ?? 0), `a few subjects reach go (${JSON.stringify(c)})`);
});

t.test('50% canary on /v2, scoped percents elsewhere', async (tt) => {
  const run = await front(
    tt,
    config(`
    ROUTE_OWNER_DEFAULT: canary
    ROUTE_CANARY_PERCENT: 50
    ROUTE_OWNER_FAMILY_REGISTRY_V2: canary
    ROUTE_CANARY_FAMILY_REGISTRY_V2_PERCENT: 50
    ROUTE_OWNER_CAP_V2_UPLOAD: canary
    ROUTE_CANARY_CAP_V2_UPLOAD_PERCENT: 12.34
    ROUTE_OWNER_CAP_API_BILLING: canary
    ROUTE_CANARY_CAP_API_BILLING_PERCENT: 0
    ROUTE_OWNER_CAP_WEB_UI: canary
    ROUTE_CANARY_CAP_WEB_UI_PERCENT: 100
  `),
  );
  const c = await prove(tt, run);
  tt.ok((c.go ?? 0) > 100 && (c.python ?? 0) > 100, `about half each (${JSON.stringify(c)})`);
});

t.test('kill switch: everything on python, whatever the switches say', async (tt) => {
  const run = await front(tt, config(`${MIXED}\nMIGRATION_FORCE_PYTHON: true\nROUTE_OWNER_CAP_V2_PULL: canary\nROUTE_CANARY_PERCENT: 50`));
  tt.match(run.text, /MIGRATION_FORCE_PYTHON is on/, 'the output says the kill switch is on');
  const c = await prove(tt, run, [...ALL, { method: 'PATCH', path: '/v2/acme/app/blobs/uploads/u1?sb_owner=go', note: 'a go upload pin under the kill switch' }]);
  tt.equal(c.go ?? 0, 0, 'nothing reaches go, not even a pinned upload');
});

t.test('users selector: Basic users are matched, bearer-token users are the documented difference', async (tt) => {
  const run = await front(tt, config('ROUTE_OWNER_DEFAULT: python\nROUTE_OWNER_FAMILY_API_V1: canary\nROUTE_CANARY_USERS: [alice]'));
  tt.match(run.text, /WARNING: canary FAMILY_API_V1: the users selector \(ROUTE_CANARY_USERS\) matches Basic-auth users only/, 'the render says nginx sees Basic users only');
  await prove(tt, run);
  const path = '/api/v1/user/';
  const viaBasic = await send(run.port, { method: 'GET', path, authorization: basic('alice'), note: '' });
  tt.equal(viaBasic.owner, 'go', 'alice with Basic credentials reaches go through nginx');
  const token = bearer('alice');
  const viaToken = await send(run.port, { method: 'GET', path, authorization: token, note: '' });
  const d = decide(run.snapshot, { method: 'GET', path, authorization: token, clientAddress: '127.0.0.1' });
  tt.equal(d.owner, 'go', 'the switchboard reads alice from the bearer token: go');
  tt.equal(viaToken.owner, 'python', 'nginx cannot read a bearer token: python (documented difference)');
  // Malformed Basic credentials are no user to either (read as nginx reads $remote_user).
  const odd = [
    `Basic ${Buffer.from('alice').toString('base64')}`,
    'Basic YWxp Y2U6cHc=',
    'Basic !YWxpY2U6cHc=',
    'basic   YWxpY2U6cHc=',
    'BASIC YWxpY2U6cHc=junk!',
    `Basic ${Buffer.from('alice:pw').toString('base64')}x`,
    'Basic',
    'Basic ',
    'Basic ==',
    `Basic ${Buffer.from(':pw').toString('base64')}`,
  ];
  for (const authorization of odd) {
    const want = decide(run.snapshot, { method: 'GET', path, authorization, clientAddress: '127.0.0.1' }).owner;
    tt.equal((await send(run.port, { method: 'GET', path, authorization, note: '' })).owner, want, `${JSON.stringify(authorization)}: nginx and decide() agree (${want})`);
  }
});

t.test('upload pins follow the Location across a config change', async (tt) => {
  const dir = tempDir(tt, 'swb-nginx-');
  const port = await freePort();
  const render = (yaml: string): { snapshot: Snapshot; text: string } => {
    const snapshot = snapshotOf(yaml);
    return { snapshot, text: renderNginx(snapshot, { listen: `127.0.0.1:${port}`, runtimeDir: dir, accessLog: 'off' }).text };
  };
  const first = render(config('ROUTE_OWNER_DEFAULT: python\nROUTE_OWNER_CAP_V2_UPLOAD: go'));
  const n = await startNginx(tt, dir, first.text, port);
  const start = await send(port, { method: 'POST', path: '/v2/acme/app/blobs/uploads/', note: '' });
  tt.equal(start.status, 202);
  tt.equal(start.owner, 'go', 'go starts the upload');
  const location = String(start.headers.location);
  tt.match(location, /^\/v2\/acme\/app\/blobs\/uploads\/go-upload-\d+\?sb_owner=go$/, 'the Location names the owner');

  // The capability moves back to python mid-upload.
  const second = render(config('ROUTE_OWNER_DEFAULT: python'));
  const { writeFileSync } = await import('node:fs');
  writeFileSync(n.conf, second.text);
  await n.reload();
  const patch = await send(port, { method: 'PATCH', path: location, note: '' });
  tt.equal(patch.owner, 'go', 'the rest of the upload stays with go');
  tt.equal(decide(second.snapshot, { method: 'PATCH', path: location, uploadPin: 'go' }).owner, 'go', 'as decide() with the pin');
  tt.match(String(patch.headers.location), /\?sb_owner=go$/, 'the PATCH answer keeps the pin in its Location');
  const put = await send(port, { method: 'PUT', path: `${location}&digest=sha256:${'a'.repeat(64)}`, note: '' });
  tt.equal(put.owner, 'go', 'the closing PUT (with its digest) goes to go');
  tt.match(JSON.parse(put.body).url, /digest=sha256:a{64}/, 'the digest parameter reaches the owner');
  const fresh = await send(port, { method: 'POST', path: '/v2/acme/app/blobs/uploads/', note: '' });
  tt.equal(fresh.owner, 'python', 'a new upload follows the new switches');
  tt.match(String(fresh.headers.location), /\?sb_owner=python$/);
  const unpinned = await send(port, { method: 'PATCH', path: '/v2/acme/app/blobs/uploads/go-upload-1', note: '' });
  tt.equal(unpinned.owner, 'python', 'without the parameter the switches decide');
  const forged = await send(port, { method: 'GET', path: '/v2/acme/app/tags/list?sb_owner=go', note: '' });
  tt.equal(forged.owner, 'python', 'the parameter pins upload routes only');
});

t.test('owners without an upstream, and upstreams that are down', async (tt) => {
  const dir = tempDir(tt, 'swb-nginx-');
  const port = await freePort();
  const dead = await freePort();
  const yaml = `MIGRATION:
  ROUTE_OWNER_DEFAULT: python
  ROUTE_OWNER_FAMILY_REGISTRY_V2: go
  ROUTE_OWNER_FAMILY_API_V1: go
SWITCHBOARD:
  UPSTREAMS: {python: "http://127.0.0.1:${dead}"}
`;
  const snapshot = snapshotOf(yaml);
  const r = renderNginx(snapshot, { listen: `127.0.0.1:${port}`, runtimeDir: dir, accessLog: 'off' });
  tt.ok(
    r.model.warnings.some((w) => /owner go has no upstream/.test(w)),
    'the render warns about go',
  );
  await startNginx(tt, dir, r.text, port);
  const v2 = await send(port, { method: 'GET', path: '/v2/acme/app/tags/list', note: '' });
  tt.equal(v2.status, 503);
  tt.equal(v2.headers['x-switchboard-error'], 'not_configured');
  tt.equal(JSON.parse(v2.body).errors[0].code, 'UNAVAILABLE', 'an OCI error body on /v2');
  tt.match(JSON.parse(v2.body).errors[0].message, /set SWITCHBOARD.UPSTREAMS.go/);
  const api = await send(port, { method: 'GET', path: '/api/v1/user/', note: '' });
  tt.equal(api.status, 503);
  tt.equal(JSON.parse(api.body).error_type, 'upstream_not_configured', "Quay's API error shape on /api/v1");
  const web = await send(port, { method: 'GET', path: '/health/instance', note: '' });
  tt.equal(web.status, 502, 'python is down: 502');
  tt.equal(web.headers['x-switchboard-error'], 'unavailable');
  tt.equal(web.headers['x-switchboard-owner'], 'python', 'never sent to the other owner');
  tt.equal(JSON.parse(web.body).owner, 'python');
});

t.test('hostile requests: the front door refuses and rewrites as the switchboard does (issue 14)', async (tt) => {
  const run = await front(tt, config('ROUTE_OWNER_DEFAULT: python\nROUTE_OWNER_FAMILY_REGISTRY_V2: go'));
  const get = (path: string, headers: Record<string, string> = {}): Promise<{ status: number; owner: string; body: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: run.port, path, agent, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, owner: String(res.headers['x-echo-owner'] ?? 'nginx'), body }));
      });
      req.on('error', reject);
      req.end();
    });
  for (const path of ['/api/v1/../../v2/acme/app/manifests/latest', '/v2/acme/app/%2e%2e/%2E%2e/api/v1/user/', '/v2/acme/./app/tags/list']) {
    const r = await get(path);
    tt.same({ status: r.status, owner: r.owner }, { status: 400, owner: 'nginx' }, `${path}: refused by nginx, as by the switchboard`);
  }
  const ok = await get('/v2/acme/app..x/tags/list?last=../a');
  tt.equal(ok.owner, 'go', 'dots inside a segment or in the query pass');
  const spoofed = await get('/v2/acme/app/tags/list', { 'x-forwarded-for': '6.6.6.6', forwarded: 'for=6.6.6.6' });
  tt.equal(JSON.parse(spoofed.body).xff, '127.0.0.1', "a client's X-Forwarded-For is replaced (no TRUSTED_PROXIES)");
  const trusting = await front(tt, config('ROUTE_OWNER_DEFAULT: python').replace('  ACCESS_LOG: "off"', '  ACCESS_LOG: "off"\n  TRUSTED_PROXIES: [127.0.0.0/8]'));
  const kept = await new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: trusting.port, path: '/v2/acme/app/tags/list', agent, headers: { 'x-forwarded-for': '203.0.113.7' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
  tt.equal(JSON.parse(kept).xff, '203.0.113.7, 127.0.0.1', 'from a trusted proxy it is appended to');
});
