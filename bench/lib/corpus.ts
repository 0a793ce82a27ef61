/**
 * A deterministic, realistic stream of requests to a Quay registry, for
 * benchmarking owner decisions. Same seed, same corpus, byte for byte.
 *
 * Shape of the traffic (shares of requests):
 *   blob      ~45%  GET/HEAD /v2/<repo>/blobs/sha256:<hex>        (layers repeat: per-repo pools)
 *   manifest  ~20%  GET/HEAD /v2/<repo>/manifests/<tag|digest>
 *   v2-misc   ~11%  /v2/ ping, /v2/auth?... token requests, /v2/<repo>/tags/list
 *   upload     ~7%  push: POST uploads/, PATCH/PUT/GET/DELETE uploads/<uuid>, manifest PUT
 *   api       ~12%  /api/v1 repository, tag, user, organization, build, logs, search, ...
 *   web        ~5%  web UI pages, static assets, health checks, scanner noise (some unknown routes)
 *
 * Repositories follow a Zipf-like popularity over `repos` repositories in
 * `namespaces` namespaces (a few single-segment library repositories, some
 * nested `org/team/repo`). Pulls carry a bearer JWT shaped like Quay's registry
 * tokens (with `sub`), token requests carry Basic auth, API calls an opaque
 * OAuth bearer or no header (cookie session).
 */
import type { DecisionRequest, Owner } from '../../switchboard/core/types.js';

export type Category = 'blob' | 'manifest' | 'v2-misc' | 'upload' | 'api' | 'web';
export const CATEGORIES: readonly Category[] = ['blob', 'manifest', 'v2-misc', 'upload', 'api', 'web'];

export interface CorpusRequest {
  readonly category: Category;
  readonly req: DecisionRequest;
  /** The path's bytes are bytes[at, at + req.path.length): freshRequest() decodes a new string from them. */
  readonly bytes: Buffer;
  readonly at: number;
}

export interface CorpusOptions {
  readonly seed: number;
  readonly requests: number;
  readonly namespaces: number;
  readonly repos: number;
  /** Every blob and manifest digest freshly drawn (no repetition at all): the cold corpus. */
  readonly uniqueDigests: boolean;
}

/** sfc32: small, fast, good enough statistically, and seedable. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) {
      const x = this.u32();
      b[i] = x & 0xff;
      if (i + 1 < n) b[i + 1] = (x >>> 8) & 0xff;
      if (i + 2 < n) b[i + 2] = (x >>> 16) & 0xff;
      if (i + 3 < n) b[i + 3] = x >>> 24;
    }
    return b;
  }
  hex(n: number): string {
    return this.bytes((n + 1) >> 1)
      .toString('hex')
      .slice(0, n);
  }
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

/** Samples ranks 0..n-1 with P(rank k) ∝ 1/(k+1)^s. */
export class Zipf {
  private readonly cdf: Float64Array;
  constructor(n: number, s: number) {
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 0; k < n; k++) {
      sum += 1 / Math.pow(k + 1, s);
      this.cdf[k] = sum;
    }
    for (let k = 0; k < n; k++) this.cdf[k] = (this.cdf[k] as number) / sum;
  }
  sample(rng: Rng): number {
    const u = rng.next();
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cdf[mid] as number) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Weighted choice among a fixed set of outcomes. */
function weighted<T extends string>(rng: Rng, table: readonly (readonly [T, number])[]): T {
  let total = 0;
  for (const [, w] of table) total += w;
  let u = rng.next() * total;
  for (const [k, w] of table) {
    if (u < w) return k;
    u -= w;
  }
  return table[table.length - 1]![0];
}

const WORDS = [
  'acme',
  'infra',
  'data',
  'ml',
  'web',
  'platform',
  'payments',
  'search',
  'mobile',
  'security',
  'devops',
  'ci',
  'edge',
  'core',
  'analytics',
  'billing',
  'media',
  'identity',
  'storage',
  'observability',
  'retail',
  'logistics',
  'cloud',
  'apps',
  'labs',
  'research',
  'ops',
  'sre',
  'frontend',
  'backend',
];
const REPO_WORDS = [
  'api',
  'worker',
  'gateway',
  'frontend',
  'backend',
  'db-migrate',
  'scheduler',
  'auth',
  'proxy',
  'exporter',
  'operator',
  'controller',
  'builder',
  'runner',
  'agent',
  'ingest',
  'etl',
  'notebook',
  'model-server',
  'cache',
  'indexer',
  'crawler',
  'mailer',
  'cron',
  'sidecar',
  'base',
  'toolbox',
  'debug',
  'web',
  'server',
];
const LIBRARY = [
  'ubuntu',
  'alpine',
  'nginx',
  'postgres',
  'redis',
  'python',
  'node',
  'golang',
  'busybox',
  'debian',
  'centos',
  'httpd',
  'mysql',
  'openjdk',
  'ruby',
  'memcached',
  'rabbitmq',
  'traefik',
  'registry',
  'fedora',
];
const TAGS = ['latest', 'stable', 'main', 'v1', 'v1.2', 'v1.2.3', 'v2.0.0', 'v2.1.4', '3.19', '22.04', 'edge', 'dev', 'prod', 'release-2024.06'];
const FIRST = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'mallory',
  'niaj',
  'olivia',
  'peggy',
  'rupert',
  'sybil',
  'trent',
  'victor',
  'walter',
  'zoe',
];

interface Repo {
  /** Repository as it appears in /v2 paths: `ns/name`, `ns/team/name`, or `name` (library). */
  readonly v2: string;
  /** Repository as the API spells it (always namespace/name). */
  readonly api: string;
  readonly ns: string;
  readonly layers: readonly string[];
  readonly layerZipf: Zipf;
  readonly tags: readonly string[];
  readonly manifests: readonly string[];
}

export interface Corpus {
  readonly requests: readonly CorpusRequest[];
  readonly byCategory: ReadonlyMap<Category, readonly CorpusRequest[]>;
  /** Distinct (method, path) pairs in the corpus. */
  readonly uniquePaths: number;
}

function digest(rng: Rng): string {
  return 'sha256:' + rng.hex(64);
}

function b64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}

/** A Quay-style registry JWT: RS256 header, access claim for one repository, context claims, 256-byte signature. */
function registryJwt(rng: Rng, sub: string, repo: string, push: boolean): string {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: rng.hex(43) }));
  const now = 1_717_000_000 + rng.int(1_000_000);
  const payload = b64url(
    JSON.stringify({
      iss: 'quay',
      aud: 'registry.example.com',
      nbf: now,
      iat: now,
      exp: now + 3600,
      sub,
      access: [{ type: 'repository', name: repo, actions: push ? ['push', 'pull'] : ['pull'] }],
      context: {
        version: 2,
        'com.apostille.root': '$disabled',
        'com.apostille.roots': {},
        kind: sub === '(anonymous)' ? 'anonymous' : 'user',
        user: sub === '(anonymous)' ? null : sub,
        entity_kind: sub === '(anonymous)' ? 'anonymous' : 'user',
        entity_reference: sub === '(anonymous)' ? null : rng.uuid(),
      },
    }),
  );
  return `Bearer ${header}.${payload}.${rng.bytes(256).toString('base64url')}`;
}

/** One constructor for every request so all requests share one object shape, as the proxy's would. */
function request(method: string, path: string, authorization: string | undefined, clientAddress: string, uploadPin: Owner | undefined): DecisionRequest {
  return { method, path, authorization, user: undefined, clientAddress, uploadPin };
}

/**
 * The request as the proxy would hand it to decide(): its path a new flat
 * string decoded from bytes, as node:http makes one for every request. A
 * reused string object would keep its hash cached and flatter the match cache;
 * a template-literal string is a rope, which no server receives. Header
 * strings are shared: nothing caches on them.
 */
export function freshRequest(r: CorpusRequest): DecisionRequest {
  const q = r.req;
  return request(q.method, r.bytes.toString('latin1', r.at, r.at + q.path.length), q.authorization, q.clientAddress ?? '', q.uploadPin);
}

export function generateCorpus(opts: CorpusOptions): Corpus {
  const rng = new Rng(opts.seed);

  // Namespaces (index = popularity rank): orgs from word pairs, some user
  // namespaces. `test-org`, in examples/config.yaml's canary org list, is a
  // mid-sized namespace, as a team trying the new implementation first would be.
  const namespaces: string[] = [];
  const seen = new Set(['test-org']);
  while (namespaces.length < opts.namespaces - 1) {
    const ns = rng.chance(0.25) ? `${rng.pick(FIRST)}${rng.chance(0.5) ? rng.int(100) : ''}` : `${rng.pick(WORDS)}${rng.chance(0.6) ? '-' + rng.pick(WORDS) : ''}`;
    if (!seen.has(ns)) {
      seen.add(ns);
      namespaces.push(ns);
    }
  }
  namespaces.splice(Math.min(40, namespaces.length), 0, 'test-org');
  const nsZipf = new Zipf(namespaces.length, 0.9);

  // Repositories, listed in popularity order (index = Zipf rank). Library repositories are popular.
  const repos: Repo[] = [];
  const repoNames = new Set<string>();
  const libraryRanks = new Set<number>();
  while (libraryRanks.size < Math.min(LIBRARY.length, opts.repos)) libraryRanks.add(rng.int(Math.min(200, opts.repos)));
  let lib = 0;
  while (repos.length < opts.repos) {
    let v2: string;
    let api: string;
    let ns: string;
    if (libraryRanks.has(repos.length)) {
      const name = LIBRARY[lib++] as string;
      v2 = name;
      api = `library/${name}`;
      ns = 'library';
    } else {
      ns = namespaces[nsZipf.sample(rng)] as string;
      const name = `${rng.pick(REPO_WORDS)}${rng.chance(0.4) ? '-' + rng.pick(REPO_WORDS) : ''}`;
      v2 = rng.chance(0.08) ? `${ns}/${rng.pick(WORDS)}/${name}` : `${ns}/${name}`;
      api = v2;
    }
    if (repoNames.has(v2)) continue;
    repoNames.add(v2);
    const layers = Array.from({ length: 4 + rng.int(36) }, () => digest(rng));
    const tags = Array.from(new Set(Array.from({ length: 2 + rng.int(10) }, () => rng.pick(TAGS))));
    const manifests = Array.from({ length: tags.length * 2 }, () => digest(rng));
    repos.push({ v2, api, ns, layers, layerZipf: new Zipf(layers.length, 1.0), tags, manifests });
  }
  const repoZipf = new Zipf(repos.length, 1.05);

  const users = Array.from({ length: 1500 }, (_, i) =>
    i % 7 === 0 ? `${namespaces[i % namespaces.length]}+${rng.pick(['deploy', 'ci', 'puller', 'builder'])}` : `${rng.pick(FIRST)}${i}`,
  );
  const userZipf = new Zipf(users.length, 0.8);
  const clients = Array.from({ length: 5000 }, () => (rng.chance(0.85) ? `10.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}` : `2001:db8:${rng.hex(4)}::${rng.hex(4)}`));
  const clientZipf = new Zipf(clients.length, 1.0);
  const oauthTokens = Array.from({ length: 200 }, () => `Bearer ${rng.hex(40)}`);

  // Tokens are reused: a client pulls many blobs with the token it got for that repository.
  const jwts = new Map<string, string>();
  const jwtFor = (user: string, repo: Repo, push: boolean): string => {
    const k = `${user}\u0000${repo.api}\u0000${push}`;
    let t = jwts.get(k);
    if (t === undefined) {
      t = registryJwt(rng, user, repo.api, push);
      jwts.set(k, t);
    }
    return t;
  };
  const puller = (): string => (rng.chance(0.35) ? '(anonymous)' : (users[userZipf.sample(rng)] as string));
  const pullAuth = (repo: Repo): string | undefined => (rng.chance(0.9) ? jwtFor(puller(), repo, false) : undefined);
  // One password (or robot token) per user, so one Basic header per user.
  const basics = new Map<string, string>();
  const basic = (user: string): string => {
    let b = basics.get(user);
    if (b === undefined) {
      b = `Basic ${Buffer.from(`${user}:${rng.hex(user.includes('+') ? 64 : 16)}`).toString('base64')}`;
      basics.set(user, b);
    }
    return b;
  };

  // Push sessions: each upload uuid is seen by several requests (POST, PATCH..., PUT).
  const sessions: { uuid: string; repo: Repo; user: string }[] = [];

  const out: { category: Category; req: DecisionRequest }[] = [];
  const add = (category: Category, req: DecisionRequest): void => {
    out.push({ category, req });
  };

  while (out.length < opts.requests) {
    const client = clients[clientZipf.sample(rng)] as string;
    const repo = repos[repoZipf.sample(rng)] as Repo;
    const cat = weighted<Category | 'tags'>(rng, [
      ['blob', 45],
      ['manifest', 20],
      ['v2-misc', 8],
      ['upload', 7],
      ['tags', 3],
      ['api', 12],
      ['web', 5],
    ]);
    switch (cat) {
      case 'blob': {
        const d = opts.uniqueDigests ? digest(rng) : (repo.layers[repo.layerZipf.sample(rng)] as string);
        add('blob', request(rng.chance(0.8) ? 'GET' : 'HEAD', `/v2/${repo.v2}/blobs/${d}`, pullAuth(repo), client, undefined));
        break;
      }
      case 'manifest': {
        const ref = rng.chance(0.65) ? rng.pick(repo.tags) : opts.uniqueDigests ? digest(rng) : rng.pick(repo.manifests);
        add('manifest', request(rng.chance(0.45) ? 'HEAD' : 'GET', `/v2/${repo.v2}/manifests/${ref}`, pullAuth(repo), client, undefined));
        break;
      }
      case 'v2-misc': {
        if (rng.chance(0.4)) {
          add('v2-misc', request('GET', '/v2/', rng.chance(0.5) ? pullAuth(repo) : undefined, client, undefined));
        } else {
          const anon = rng.chance(0.3);
          const user = anon ? '' : (users[userZipf.sample(rng)] as string);
          const push = !anon && rng.chance(0.15);
          const scope = encodeURIComponent(`repository:${repo.api}:${push ? 'push,pull' : 'pull'}`);
          const acct = anon ? '' : `account=${encodeURIComponent(user)}&`;
          add('v2-misc', request('GET', `/v2/auth?${acct}scope=${scope}&service=registry.example.com`, anon ? undefined : basic(user), client, undefined));
        }
        break;
      }
      case 'tags': {
        const q = rng.chance(0.3) ? `?n=100&last=${rng.pick(repo.tags)}` : '';
        add('v2-misc', request('GET', `/v2/${repo.v2}/tags/list${q}`, pullAuth(repo), client, undefined));
        break;
      }
      case 'upload': {
        const kind = weighted(rng, [
          ['start', 20],
          ['patch', 30],
          ['put', 30],
          ['manifest', 10],
          ['status', 5],
          ['cancel', 5],
        ]);
        if (kind === 'start' || sessions.length === 0) {
          const user = users[userZipf.sample(rng)] as string;
          sessions.push({ uuid: rng.uuid(), repo, user });
          if (sessions.length > 64) sessions.shift();
          add('upload', request('POST', `/v2/${repo.v2}/blobs/uploads/`, jwtFor(user, repo, true), client, undefined));
          break;
        }
        const s = sessions[sessions.length - 1 - rng.int(Math.min(8, sessions.length))]!;
        const auth = jwtFor(s.user, s.repo, true);
        const base = `/v2/${s.repo.v2}/blobs/uploads/${s.uuid}`;
        switch (kind) {
          case 'patch':
            add('upload', request('PATCH', base, auth, client, 'python'));
            break;
          case 'put':
            add('upload', request('PUT', `${base}?digest=${encodeURIComponent(digest(rng))}`, auth, client, 'python'));
            break;
          case 'status':
            add('upload', request('GET', base, auth, client, 'python'));
            break;
          case 'cancel':
            add('upload', request('DELETE', base, auth, client, 'python'));
            break;
          default:
            add('upload', request('PUT', `/v2/${s.repo.v2}/manifests/${rng.chance(0.7) ? rng.pick(s.repo.tags) : digest(rng)}`, auth, client, undefined));
        }
        break;
      }
      case 'api': {
        const auth = rng.chance(0.4) ? rng.pick(oauthTokens) : undefined;
        const r = repo.api;
        const ns = repo.ns === 'library' ? 'library' : repo.ns;
        const kind = weighted(rng, [
          ['repo', 25],
          ['tags', 20],
          ['user', 15],
          ['org', 8],
          ['builds', 6],
          ['buildlogs', 4],
          ['repolist', 6],
          ['security', 4],
          ['logs', 2],
          ['notifications', 3],
          ['find', 2],
          ['tagput', 2],
          ['discovery', 1],
          ['messages', 2],
        ]);
        let method = 'GET';
        let path: string;
        switch (kind) {
          case 'repo':
            path = `/api/v1/repository/${r}${rng.chance(0.5) ? '?includeStats=true&includeTags=false' : ''}`;
            break;
          case 'tags':
            path = `/api/v1/repository/${r}/tag/?limit=100&page=${1 + rng.int(3)}&onlyActiveTags=true`;
            break;
          case 'user':
            path = '/api/v1/user/';
            break;
          case 'org':
            path = `/api/v1/organization/${ns}`;
            break;
          case 'builds':
            path = `/api/v1/repository/${r}/build/?limit=5`;
            break;
          case 'buildlogs':
            path = `/api/v1/repository/${r}/build/${rng.uuid()}/logs${rng.chance(0.5) ? '?start=' + rng.int(500) : ''}`;
            break;
          case 'repolist':
            path = `/api/v1/repository?${rng.chance(0.5) ? 'namespace=' + ns : 'starred=true'}&public=true&last_modified=true`;
            break;
          case 'security':
            path = `/api/v1/repository/${r}/manifest/${rng.pick(repo.manifests)}/security?vulnerabilities=true`;
            break;
          case 'logs':
            path = `/api/v1/organization/${ns}/logs?starttime=06%2F01%2F2024&endtime=06%2F08%2F2024`;
            break;
          case 'notifications':
            path = '/api/v1/user/notifications';
            break;
          case 'find':
            path = `/api/v1/find/repositories?query=${rng.pick(REPO_WORDS)}&page=1&includeUsage=true`;
            break;
          case 'tagput':
            method = 'PUT';
            path = `/api/v1/repository/${r}/tag/${rng.pick(repo.tags)}`;
            break;
          case 'discovery':
            path = '/api/v1/discovery';
            break;
          default:
            path = '/api/v1/messages';
        }
        add('api', request(method, path, auth, client, undefined));
        break;
      }
      case 'web': {
        const kind = weighted(rng, [
          ['index', 15],
          ['org', 10],
          ['repo', 20],
          ['repotab', 5],
          ['static', 20],
          ['health', 15],
          ['user', 3],
          ['signin', 3],
          ['csrf', 3],
          ['config', 3],
          ['noise', 3],
        ]);
        let method = 'GET';
        let path: string;
        switch (kind) {
          case 'index':
            path = '/';
            break;
          case 'org':
            path = `/organization/${repo.ns}`;
            break;
          case 'repo':
            path = `/repository/${repo.api}`;
            break;
          case 'repotab':
            path = `/repository/${repo.api}?tab=${rng.pick(['tags', 'builds', 'settings', 'logs'])}`;
            break;
          case 'static':
            path = `/static/${rng.pick(['js', 'css', 'img', 'fonts'])}/${rng.pick(['quay-frontend', 'vendor', 'main', 'logo'])}.${rng.hex(8)}.${rng.pick(['js', 'css', 'svg', 'woff2'])}`;
            break;
          case 'health':
            path = rng.chance(0.8) ? '/health/instance' : '/health/endtoend';
            break;
          case 'user':
            path = `/user/${users[userZipf.sample(rng)] as string}`;
            break;
          case 'signin':
            path = '/signin/';
            break;
          case 'csrf':
            path = '/csrf_token';
            break;
          case 'config':
            path = '/config';
            break;
          default: {
            // Scanners and misdirected clients: mostly rows nothing matches (unknown route, family by prefix).
            const noise = rng.pick<[string, string]>([
              ['POST', '/wp-login.php'],
              ['GET', '/.env'],
              ['GET', `/v2/${repo.v2}/blobs/latest`],
              ['OPTIONS', '/api/v1/user/'],
              ['GET', '/v2/_catalog?n=100'],
              ['PROPFIND', '/'],
              ['GET', '/api/v2/repositories'],
            ]);
            method = noise[0];
            path = noise[1];
          }
        }
        add('web', request(method, path, undefined, client, undefined));
        break;
      }
    }
  }
  out.length = opts.requests;

  // All paths in one buffer; every stored string (path, header) decoded from
  // bytes, so flat. Equal headers stay one string, as a client's token is.
  const headers = new Map<string, string>();
  const flatHeader = (h: string | undefined): string | undefined => {
    if (h === undefined) return undefined;
    let f = headers.get(h);
    if (f === undefined) {
      f = Buffer.from(h, 'latin1').toString('latin1');
      headers.set(h, f);
    }
    return f;
  };
  let size = 0;
  for (const { req } of out) size += req.path.length;
  const bytes = Buffer.alloc(size);
  let at = 0;
  const requests: CorpusRequest[] = out.map(({ category, req }) => {
    const len = bytes.write(req.path, at, 'latin1');
    if (len !== req.path.length) throw new Error(`corpus: non-latin1 path ${req.path}`);
    const r: CorpusRequest = {
      category,
      req: request(req.method, bytes.toString('latin1', at, at + len), flatHeader(req.authorization), req.clientAddress ?? '', req.uploadPin),
      bytes,
      at,
    };
    at += len;
    return r;
  });

  const byCategory = new Map<Category, CorpusRequest[]>(CATEGORIES.map((c) => [c, []]));
  for (const r of requests) byCategory.get(r.category)!.push(r);
  const unique = new Set(requests.map((r) => `${r.req.method} ${r.req.path}`)).size;
  return { requests, byCategory, uniquePaths: unique };
}
