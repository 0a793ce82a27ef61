// The nginx renderer without nginx: the model's dispatch trees (hash maps on the
// path's last segments, case-insensitive as nginx's exact keys are) and ordered
// regex maps, evaluated here the way nginx's `map` does (first regex that
// matches), must name the same row and plan as decide() for tens of thousands
// of generated paths, with and without library support; and the rendered text must be deterministic,
// quoted as nginx reads it, and say what nginx cannot do. The real-nginx proof
// is test/e2e/nginx-equivalence.test.ts.

import t from 'tap';
import { loadInventory, type RouteRow } from '../../../owner-maps/index.js';
import { parseConfig } from '../../config/parse.js';
import { buildSnapshot, hardFailureSnapshot, type Snapshot } from '../../core/snapshot.js';
import { decide } from '../../core/decide.js';
import { parsePattern } from '../../../owner-maps/route-pattern.js';
import { buildNginxModel, canaryKind, ngxQuote, type NginxModel } from '../../nginx/model.js';
import { subjectKind } from '../../nginx/pcre.js';
import { renderNginx } from '../../nginx/render.js';
import { isSwitchboardError } from '../../errors.js';

const inv = loadInventory();

function snap(yaml: string): Snapshot {
  const r = parseConfig(yaml, 'c.yaml', inv, {});
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return buildSnapshot(inv, r.config, 1, new Date(0));
}

const UP = 'SWITCHBOARD:\n  UPSTREAMS: {python: "http://127.0.0.1:1", go: "https://go.internal:8443"}\n';

/** nginx's unquoting of a double-quoted token (ngx_conf_read_token). */
function ngxUnquote(q: string): string {
  let out = '';
  for (let i = 1; i < q.length - 1; i++) {
    const c = q[i]!;
    if (c === '\\') {
      const n = q[i + 1]!;
      if (n === '"' || n === "'" || n === '\\') {
        out += n;
        i++;
        continue;
      }
      if (n === 't') {
        out += '\t';
        i++;
        continue;
      }
      if (n === 'r') {
        out += '\r';
        i++;
        continue;
      }
      if (n === 'n') {
        out += '\n';
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/** A PCRE source from the model as a JavaScript RegExp (the subset the renderer emits). */
function jsRegex(pcre: string): RegExp {
  const unicode = pcre.startsWith('(*UTF)(*UCP)');
  let src = pcre
    .replace('(*UTF)(*UCP)', '')
    .replace(/\\z/g, '$')
    // Possessive quantifiers match what the greedy ones do here (nothing after them can start with what they take back).
    .replace(/([+*}])\+/g, '$1')
    // The dispatch's branch reset: its capture is group 1 in either branch, and the second branch captures ''.
    .replace('(?|', '(?:');
  if (unicode) src = src.replace(/\[\\w\.-\]/g, '[\\p{L}\\p{N}_.\\-]').replace(/\\w/g, '[\\p{L}\\p{N}_]');
  return new RegExp(src, unicode ? 'u' : '');
}

interface Compiled {
  readonly model: NginxModel;
  readonly dispatch: RegExp;
  readonly nodes: Map<string, NginxModel['otherGroup']['tree']['nodes'][number]>;
  readonly leaves: Map<string, { re: RegExp; value: string }[]>;
  readonly leafNext: Map<string, string | null>;
}

function compile(m: NginxModel): Compiled {
  const nodes = new Map();
  const leaves = new Map();
  const leafNext = new Map();
  for (const g of [...m.groups, m.otherGroup]) {
    for (const n of g.tree.nodes) nodes.set(n.variable, n);
    for (const l of g.tree.leaves) {
      leaves.set(
        l.variable,
        l.entries.map((e) => ({ re: jsRegex(e.key.slice(1)), value: e.value })),
      );
      leafNext.set(l.variable, l.otherwise);
    }
  }
  return { model: m, dispatch: jsRegex(m.dispatch), nodes, leaves, leafNext };
}

/** What nginx's maps give for "METHOD PATH": [plan, route]. Exact map keys compare case-insensitively. */
function nginxMatch(c: Compiled, method: string, path: string): [string, string] {
  const d = c.dispatch.exec(path)!;
  const seg = d[1] ?? '';
  const keys = { $sb_l1: d.groups!.sb_l1 ?? '', $sb_l2: d.groups!.sb_l2 ?? '', $request_method: method };
  const group = c.model.groups.find((g) => g.segment.toLowerCase() === seg.toLowerCase()) ?? c.model.otherGroup;
  let value: string = group.defaultValue;
  for (let v: string | null = group.variable; v !== null;) {
    const node = c.nodes.get(v);
    if (node) {
      v = node.cases.find((k) => k.key.toLowerCase() === keys[node.source].toLowerCase())?.target ?? node.otherwise;
      continue;
    }
    const hit = c.leaves
      .get(v)!
      .map((e) => e.re.exec(`${method} ${path}`) && e.value)
      .find((x) => x);
    if (hit) {
      value = hit;
      break;
    }
    v = c.leafNext.get(v)!;
  }
  const owner = c.model.planEntries.find((e) => e.key.toLowerCase() === value.toLowerCase())?.value ?? c.model.planDefault;
  // An upload row's pin gives its plan when the request names no owner (none of these do).
  const plan = c.model.pins.find((p) => `$${p.variable}` === owner)?.plan ?? owner;
  return [plan, c.model.noRouteValues.includes(value) ? 'none' : value];
}

/** The plan value nginx should hold for decide()'s answer: the owner, or what the canary's scope renders to. */
function planOf(m: NginxModel, d: ReturnType<typeof decide>): string {
  if (!d.reason.startsWith('canary')) return d.owner;
  const scope = d.trace.find((e) => e.level === 'canary')!.key;
  const c = m.canaries.find((x) => x.scope === scope)!;
  // The canary of the scope for the kind of subject the row's path names.
  const kind = d.route_id ? canaryKind(subjectKind(inv.byId.get(d.route_id)!)) : 'x';
  return c.kinds.find((k) => k.kind === kind)!.value;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

const STATICS = [...new Set(inv.routes.flatMap((r) => r.pattern.split('/').filter((p) => p && !p.includes('{'))))];
const ODD = [
  '',
  'v2',
  'auth',
  'tags',
  'images',
  'latest',
  'sha256:' + 'ab'.repeat(32),
  'x'.repeat(129),
  'tüg',
  'ß',
  '-x',
  '.x',
  'a.b',
  'UPPER',
  'blobs',
  'uploads',
  'manifests',
  'push',
  'repository',
  'cnr',
  'customtrigger',
  'setup',
  'library',
];

function randomPath(r: () => number, route: RouteRow): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const segs = parsePattern(route.pattern, route.id).flatMap((p) => {
    if (p.type === 'static') return [p.value];
    if (p.type === 'many') return Array.from({ length: 1 + Math.floor(r() * 3) }, () => (r() < 0.3 ? pick(ODD) : r() < 0.3 ? pick(STATICS) : `s${Math.floor(r() * 50)}`));
    return [r() < 0.4 ? pick(ODD) : r() < 0.2 ? pick(STATICS) : p.kind === 'digest' ? `sha256:${'cd'.repeat(32)}` : `v${Math.floor(r() * 9)}`];
  });
  // Mutations: drop, add or replace a segment; add or drop a trailing slash.
  const x = r();
  if (x < 0.1 && segs.length > 1) segs.splice(Math.floor(r() * segs.length), 1);
  else if (x < 0.2) segs.splice(Math.floor(r() * (segs.length + 1)), 0, pick(r() < 0.5 ? STATICS : ODD));
  else if (x < 0.3) segs[Math.floor(r() * segs.length)] = pick(STATICS);
  // nginx's hash keys ignore case, its regexes do not: a literal in the last two places in another case.
  if (r() < 0.1) {
    const at = segs.length - 1 - Math.floor(r() * Math.min(2, segs.length));
    segs[at] = r() < 0.5 ? segs[at]!.toUpperCase() : segs[at]!.charAt(0).toUpperCase() + segs[at]!.slice(1);
  }
  if (r() < 0.15) segs.push('');
  return '/' + segs.join('/');
}

const METHODS = ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'];

const MAPS: Record<string, string> = {
  mixed: `MIGRATION:
  ROUTE_OWNER_DEFAULT: python
  ROUTE_OWNER_FAMILY_REGISTRY_V2: go
  ROUTE_OWNER_CAP_V2_PULL: canary
  ROUTE_CANARY_PERCENT: 10
  ROUTE_OWNER_ROUTE_0016: python
  ROUTE_OWNER_FAMILY_API_V1: canary
  ROUTE_CANARY_FAMILY_API_V1_ORGS: [acme]
  ROUTE_OWNER_FAMILY_WEB: go
${UP}`,
  'no library': `FEATURE_LIBRARY_SUPPORT: false
MIGRATION:
  ROUTE_OWNER_DEFAULT: go
  ROUTE_OWNER_FAMILY_REGISTRY_V1: python
  ROUTE_OWNER_CAP_V2_UPLOAD: python
${UP}`,
};

for (const [name, yaml] of Object.entries(MAPS)) {
  t.test(`the maps name decide()'s row and plan: ${name}`, async (t) => {
    const s = snap(yaml);
    const m = buildNginxModel(s);
    const c = compile(m);
    const r = rng(name.length * 7919);
    const bad: string[] = [];
    let n = 0;
    for (let k = 0; k < 40; k++) {
      for (const route of inv.routes) {
        const path = randomPath(r, route);
        const method = k % 3 === 0 ? route.method : METHODS[Math.floor(r() * METHODS.length)]!;
        if (path.includes('//')) continue; // nginx merges slashes before matching: a documented difference
        n++;
        const d = decide(s, { method, path });
        const [plan, id] = nginxMatch(c, method, path);
        const want = planOf(m, d);
        if (id !== (d.route_id ?? 'none') || plan !== want) {
          if (bad.length < 20) bad.push(`${method} ${path}: maps → ${id} ${plan}, decide → ${d.route_id} ${want}`);
        }
      }
    }
    t.same(bad, [], `${n} generated requests: the same row and plan`);
  });
}

t.test('ngxQuote writes what nginx reads back', async (t) => {
  for (const s of ['plain', '^GET /v2/(?<sbj>[^/]+)\\z', 'a"b', 'back\\\\slash', 'tab\\t', 'end\\', 'line\\n', "quote\\'", '\\S+ \\x00']) {
    t.equal(ngxUnquote(ngxQuote(s)), s, JSON.stringify(s));
  }
  t.equal(ngxQuote('^\\S+ /v2\\z'), '"^\\S+ /v2\\z"', 'regex escapes stay as written');
});

t.test('rendering is deterministic and readable', async (t) => {
  const s = snap(MAPS.mixed!);
  const a = renderNginx(s, { listen: '127.0.0.1:8080' }).text;
  const b = renderNginx(snap(MAPS.mixed!), { listen: '127.0.0.1:8080' }).text;
  t.equal(a, b, 'two renders of the same config are byte-identical');
  t.notMatch(a, /[ \t]+$/m, 'no trailing blanks');
  t.match(a, /# ── REGISTRY_V2 ── family switch ROUTE_OWNER_FAMILY_REGISTRY_V2: go/, 'grouped by family');
  t.match(
    a,
    /# ROUTE_0016 {2}V2_PULL {2}GET \/v2\/\{repository:repopath\}\/manifests\/\{manifest_ref:tag\} {2}→ python \(ROUTE_OWNER_ROUTE_0016\)/,
    'each row with its id, capability and why',
  );
  t.match(a, /upstream sb_go \{\n\s+server go\.internal:8443;\n\s+keepalive 64;/, 'keepalive upstreams');
  t.match(a, /proxy_ssl_name \$sb_upstream_host;/, 'https upstreams get SNI');
  t.match(a, /client_max_body_size 0;\n\s+proxy_request_buffering off;\n\s+proxy_buffering off;/, 'registry-friendly proxy settings');
  t.match(a, /location = \/v1\/_ping \{/, "Quay's /v1/_ping location");
  t.match(a, /split_clients "\$sb_ns_r" \$sb_percent_01000_r \{\n\s+10% go;\n\s+\* python;/, 'the percent as split_clients');
  for (const line of a.split('\n')) if (/^\s*default /.test(line)) t.match(line, /;$/, 'every default ends its statement');
});

t.test('the kill switch and hard failure render python everywhere', async (t) => {
  const killed = buildNginxModel(snap(MAPS.mixed!.replace('MIGRATION:\n', 'MIGRATION:\n  MIGRATION_FORCE_PYTHON: true\n')));
  t.equal(killed.canaries.length, 0, 'no canary maps');
  t.equal(killed.pinning, false, 'no upload pins');
  t.same([killed.planDefault, killed.planEntries], ['python', []], 'every row says python');
  t.match(killed.summary[0], /435 python, 0 go, 0 canary/);
  const hard = renderNginx(hardFailureSnapshot(inv, 'missing.yaml', 0, new Date(0)));
  t.match(hard.text, /NO VALID CONFIG WAS EVER LOADED/);
  t.equal(hard.model.upstreams.length, 0);
});

t.test('what nginx cannot do is said', async (t) => {
  const m = buildNginxModel(
    snap(`MIGRATION:
  ROUTE_OWNER_DEFAULT: canary
  ROUTE_CANARY_USERS: [alice]
  ROUTE_CANARY_PERCENT: 5
SWITCHBOARD:
  UPSTREAMS: {python: "http://127.0.0.1:1"}
  EMBEDDED_REGISTRY: {}
`),
  );
  t.match(m.warnings.join('\n'), /users selector \(ROUTE_CANARY_USERS\) matches Basic-auth users only/);
  t.match(m.warnings.join('\n'), /route\(s\) have no namespace in the path; their percent subject in nginx is the Basic-auth user/);
  t.match(m.warnings.join('\n'), /embedded registry .* nginx cannot reach it/);
  t.match(m.warnings.join('\n'), /owner go has no upstream/);
  t.same(m.unconfigured, ['go']);
});

t.test('an upstream URL with a path is refused with the key', async (t) => {
  let err: unknown = null;
  try {
    buildNginxModel(snap('SWITCHBOARD:\n  UPSTREAMS: {python: "http://quay:8080/prefix"}\n'));
  } catch (e) {
    err = e;
  }
  t.ok(isSwitchboardError(err), 'a SwitchboardError');
  t.match((err as Error).message, /SWITCHBOARD\.UPSTREAMS\.python: .*drop the path \/prefix/);
});

t.test('IPv6 listeners and TLS', async (t) => {
  const r = renderNginx(snap(UP), { listen: '[::1]:8443', tls: { cert: '/etc/tls/c.pem', key: '/etc/tls/k.pem' } });
  t.match(r.text, /listen \[::1\]:8443 ssl;\n\s+ssl_certificate "\/etc\/tls\/c\.pem";\n\s+ssl_certificate_key "\/etc\/tls\/k\.pem";/);
});

t.test('config text cannot break out of the rendered file', async (t) => {
  const evil = 'acme\nserver { listen 127.0.0.1:18099; return 200 injected; }';
  const s = snap(`MIGRATION:\n  ROUTE_OWNER_DEFAULT: canary\n  ROUTE_CANARY_ORGS: [${JSON.stringify(evil)}, "a\\"b$c d"]\n  ROUTE_CANARY_USERS: ["x{y};z"]\n${UP}`);
  const text = renderNginx(s).text;
  t.notMatch(text, /^\s*server \{ listen 127\.0\.0\.1:18099/m, 'a newline in a name stays inside its comment and its regex');
  t.match(text, /acme\\x0aserver/, 'control characters are written as \\xNN');
  t.match(text, /\$c d/, 'the $ is escaped in the regex');
  let err: unknown = null;
  try {
    renderNginx(snap(`LIBRARY_NAMESPACE: "lib$remote_user"\n${UP}`));
  } catch (e) {
    err = e;
  }
  t.match(
    (err as Error | null)?.message ?? '',
    /LIBRARY_NAMESPACE: "lib\$remote_user" cannot be written into nginx/,
    'a LIBRARY_NAMESPACE nginx would read as a variable is refused',
  );
  for (const [url, why] of [
    ['http://u:p@quay:8080', /credentials/],
    ['http://quay:8080/?x=1', /drop \?x=1/],
    ['http://a;b:80', /is not a host name/],
  ] as const) {
    err = null;
    try {
      buildNginxModel(snap(`SWITCHBOARD:\n  UPSTREAMS: {python: "${url}"}\n`));
    } catch (e) {
      err = e;
    }
    t.match((err as Error | null)?.message ?? '', why, `upstream ${url} refused`);
  }
});
