/**
 * The compiled route table: Quay's 435 routes as a segment trie, compiled once
 * per inventory and library-support setting, matched in a few map look-ups.
 *
 * Matching follows Werkzeug's (Quay's router) order at every trie node:
 *   1. a literal segment (`/api/v1/repository/mirror/health` beats a repository
 *      named `mirror/health`);
 *   2. single-segment parameters, constrained kinds (digest, tag, file id) first;
 *   3. one multi-segment parameter (a repository path or a Werkzeug `path`). Its
 *      tail (`/manifests/{ref}`) is matched from the END of the request path in a
 *      reverse trie, so the repository takes whatever is left in the middle and
 *      tails with more literal segments win, as Werkzeug's rule weighting does.
 * A dead end backtracks to the next choice, as Werkzeug's state machine does.
 * HEAD falls back to the GET row where Quay registers no explicit HEAD (Flask
 * answers HEAD with the GET handler). A path that ends where a row continues
 * with a trailing slash matches that row, flagged `slashRedirect` (Werkzeug
 * answers it with a 308 to the slashed URL, before trying other rows).
 *
 * Compile errors: a bad pattern, two rows with the same method and pattern shape
 * (ambiguous), or a row whose own sample path resolves to another row (shadowed).
 */
import { SwitchboardError } from '../errors.js';
import type { RouteRow } from '../../owner-maps/index.js';
import {
  parsePattern, patternShape, testManySegments, testOneSegment,
  ONE_SEGMENT_ORDER, MANY_SEGMENT_ORDER,
  type ManySegmentKind, type OneSegmentKind, type PatternPart,
} from './route-pattern.js';

export interface RouteMatch {
  readonly route: RouteRow;
  /** Path parameters by the names the pattern gives them (repository, upload_uuid, ...). */
  readonly params: Readonly<Record<string, string>>;
  /** True when the path matched only with a trailing slash appended. */
  readonly slashRedirect: boolean;
}

interface Leaf {
  readonly route: RouteRow;
  /** Parameter names in capture order: forward params, tail params from the end, the multi-segment param. */
  readonly names: readonly string[];
}

type Methods = Map<string, Leaf>;

interface OneEdge<N> { readonly kind: OneSegmentKind; readonly child: N }

/**
 * Literal children of a node, found without allocating: keyed by segment
 * length and first character, then confirmed with startsWith on the path.
 */
class Statics<N> {
  // Few children: a flat scan beats hashing. Many: bucket by (length, first char).
  private readonly list: { value: string; child: N }[] = [];
  private byKey: Map<number, { value: string; child: N }[]> | null = null;
  private static key(len: number, first: number): number { return len * 65536 + first; }
  getOrAdd(value: string, make: () => N): N {
    const found = this.list.find((e) => e.value === value);
    if (found) return found.child;
    const entry = { value, child: make() };
    this.list.push(entry);
    if (this.list.length > 4) {
      this.byKey = new Map();
      for (const e of this.list) {
        const k = Statics.key(e.value.length, e.value.length ? e.value.charCodeAt(0) : 0);
        const bucket = this.byKey.get(k);
        if (bucket) bucket.push(e); else this.byKey.set(k, [e]);
      }
    }
    return entry.child;
  }
  find(path: string, from: number, to: number): N | undefined {
    const len = to - from;
    if (this.byKey === null) {
      for (const e of this.list) if (e.value.length === len && path.startsWith(e.value, from)) return e.child;
      return undefined;
    }
    if (len >= 16384) return undefined;
    const bucket = this.byKey.get(Statics.key(len, len ? path.charCodeAt(from) : 0));
    if (!bucket) return undefined;
    for (const e of bucket) if (len === 0 || path.startsWith(e.value, from)) return e.child;
    return undefined;
  }
  get(value: string): N | undefined {
    return this.find(value, 0, value.length);
  }
}

class TailNode {
  readonly statics = new Statics<TailNode>();
  ones: OneEdge<TailNode>[] = [];
  ends: { kind: ManySegmentKind; methods: Methods }[] = [];
}

class Node {
  readonly statics = new Statics<Node>();
  ones: OneEdge<Node>[] = [];
  tail: TailNode | null = null;
  methods: Methods | null = null;
}

function oneChild<N>(edges: OneEdge<N>[], kind: OneSegmentKind, make: () => N): N {
  const found = edges.find((e) => e.kind === kind);
  if (found) return found.child;
  const child = make();
  edges.push({ kind, child });
  edges.sort((a, b) => ONE_SEGMENT_ORDER.indexOf(a.kind) - ONE_SEGMENT_ORDER.indexOf(b.kind));
  return child;
}

export interface RouteTableOptions {
  /** Quay's FEATURE_LIBRARY_SUPPORT (default true): a one-segment repository is in the library namespace. */
  readonly librarySupport: boolean;
  /** Match-cache size per method and generation (default 8192; 0 disables caching). */
  readonly cacheEntries?: number;
}

/** Request path as the router sees it: no query string or fragment, percent-decoded where valid. */
export function normalizePath(rawPath: string): string {
  let p = rawPath;
  const q = p.indexOf('?');
  if (q >= 0) p = p.slice(0, q);
  const h = p.indexOf('#');
  if (h >= 0) p = p.slice(0, h);
  if (p.includes('%')) {
    try { p = decodeURIComponent(p); } catch { /* malformed escapes: route on the raw path, like a 404 would */ }
  }
  return p;
}

export class RouteTable {
  readonly librarySupport: boolean;
  readonly size: number;
  private readonly root = new Node();
  // Per-match scratch state, reused: the table is used from one thread and
  // matching never re-enters. Segment i of the path is path[starts[i], ends[i]).
  private path = '';
  private starts = new Int32Array(64);
  private ends = new Int32Array(64);
  private nsegs = 0;
  private caps = new Int32Array(32);
  private ncaps = 0;
  private method = 'GET';
  private slashRedirect = false;
  private allowed: Set<string> | null = null;
  private readonly cacheYoung = new Map<string, Map<string, RouteMatch | null>>();
  private readonly cacheOld = new Map<string, Map<string, RouteMatch | null>>();
  /** Entries per method and generation; at most 2 × this many paths are remembered per method. */
  private readonly cacheLimit: number;

  private constructor(opts: RouteTableOptions, size: number) {
    this.librarySupport = opts.librarySupport;
    this.cacheLimit = opts.cacheEntries ?? 8192;
    this.size = size;
  }

  static compile(routes: readonly RouteRow[], opts: RouteTableOptions): RouteTable {
    const table = new RouteTable(opts, routes.length);
    const shapes = new Map<string, RouteRow>();
    for (const route of routes) {
      const parts = parsePattern(route.pattern, route.id);
      const key = `${route.method} ${patternShape(parts)}`;
      const other = shapes.get(key);
      if (other) {
        throw new SwitchboardError('SWB_ROUTE_AMBIGUOUS',
          `${route.id} and ${other.id} are ambiguous: both are ${route.method} ${patternShape(parts)}`);
      }
      shapes.set(key, route);
      table.insert(route, parts);
    }
    for (const route of routes) table.checkReachable(route);
    return table;
  }

  private insert(route: RouteRow, parts: readonly PatternPart[]): void {
    const manyAt = parts.findIndex((p) => p.type === 'many');
    const forward = manyAt < 0 ? parts : parts.slice(0, manyAt);
    const names: string[] = [];
    let node = this.root;
    for (const p of forward) {
      if (p.type === 'static') node = node.statics.getOrAdd(p.value, () => new Node());
      else if (p.type === 'one') { names.push(p.name); node = oneChild(node.ones, p.kind, () => new Node()); }
    }
    let methods: Methods;
    if (manyAt < 0) {
      methods = node.methods ??= new Map();
    } else {
      const many = parts[manyAt] as Extract<PatternPart, { type: 'many' }>;
      let t = node.tail ??= new TailNode();
      for (const p of parts.slice(manyAt + 1).reverse()) {
        if (p.type === 'static') t = t.statics.getOrAdd(p.value, () => new TailNode());
        else if (p.type === 'one') { names.push(p.name); t = oneChild(t.ones, p.kind, () => new TailNode()); }
      }
      names.push(many.name);
      let end = t.ends.find((e) => e.kind === many.kind);
      if (!end) {
        end = { kind: many.kind, methods: new Map() };
        t.ends.push(end);
        t.ends.sort((a, b) => MANY_SEGMENT_ORDER.indexOf(a.kind) - MANY_SEGMENT_ORDER.indexOf(b.kind));
      }
      methods = end.methods;
    }
    methods.set(route.method, { route, names });
  }

  private checkReachable(route: RouteRow): void {
    const sample = samplePath(parsePattern(route.pattern, route.id));
    const m = this.matchUncached(route.method, sample);
    if (!m || m.route !== route || m.slashRedirect) {
      throw new SwitchboardError('SWB_ROUTE_SHADOWED',
        `${route.id} (${route.method} ${route.pattern}) is never matched: its sample path ${sample} resolves to ${m ? m.route.id : 'nothing'}`);
    }
  }

  /**
   * Matches a request; `rawPath` is the request target (query string ignored).
   * Results are immutable and depend only on the table, so a bounded
   * two-generation cache keeps hot paths (popular tags and layers) to two map
   * look-ups; unseen paths pay the trie walk.
   */
  match(method: string, rawPath: string): RouteMatch | null {
    let young = this.cacheYoung.get(method);
    if (young === undefined) {
      // Methods are a closed set in node:http, but never let a client grow this map.
      if (this.cacheYoung.size >= 16 || this.cacheLimit === 0) return this.matchUncached(method, rawPath);
      young = new Map();
      this.cacheYoung.set(method, young);
      this.cacheOld.set(method, new Map());
    }
    let hit = young.get(rawPath);
    if (hit === undefined) {
      const old = this.cacheOld.get(method)!;
      hit = old.get(rawPath);
      if (hit === undefined) hit = this.matchUncached(method, rawPath);
      if (young.size >= this.cacheLimit) {
        this.cacheOld.set(method, young);
        young = new Map();
        this.cacheYoung.set(method, young);
      }
      young.set(rawPath, hit);
    }
    return hit;
  }

  /** The trie walk itself, without the cache (benchmarks and tests use it to measure cold matching). */
  matchUncached(method: string, rawPath: string): RouteMatch | null {
    const path = normalizePath(rawPath);
    if (path.charCodeAt(0) !== 47 /* / */) return null;
    this.method = method;
    this.segment(path);
    return this.run();
  }

  /** Methods for which `path` matches some row: the Allow set of a 405, for diagnostics. */
  allowedMethods(rawPath: string): string[] {
    const path = normalizePath(rawPath);
    if (path.charCodeAt(0) !== 47) return [];
    this.allowed = new Set();
    try {
      this.method = '\u0000';
      this.segment(path);
      this.run();
      return [...this.allowed].sort();
    } finally {
      this.allowed = null;
    }
  }

  private segment(path: string): void {
    this.path = path;
    let n = 0;
    let i = 1;
    for (;;) {
      if (n === this.starts.length) {
        const s = new Int32Array(n * 2); s.set(this.starts); this.starts = s;
        const e = new Int32Array(n * 2); e.set(this.ends); this.ends = e;
      }
      const j = path.indexOf('/', i);
      this.starts[n] = i;
      this.ends[n] = j < 0 ? path.length : j;
      n++;
      if (j < 0) break;
      i = j + 1;
    }
    this.nsegs = n;
  }

  private run(): RouteMatch | null {
    this.ncaps = 0;
    this.slashRedirect = false;
    if (this.caps.length < this.nsegs * 2 + 2) this.caps = new Int32Array(this.nsegs * 2 + 2);
    const leaf = this.walk(this.root, 0);
    if (!leaf) return null;
    const params: Record<string, string> = {};
    const names = leaf.names;
    for (let i = 0; i < names.length; i++) {
      params[names[i] as string] = this.path.slice(this.caps[2 * i] as number, this.caps[2 * i + 1] as number);
    }
    return Object.freeze({ route: leaf.route, params: Object.freeze(params), slashRedirect: this.slashRedirect });
  }

  private capture(from: number, to: number): void {
    this.caps[2 * this.ncaps] = from;
    this.caps[2 * this.ncaps + 1] = to;
    this.ncaps++;
  }

  private pick(methods: Methods | null): Leaf | null {
    if (!methods) return null;
    const m = this.method;
    const leaf = methods.get(m) ?? (m === 'HEAD' ? methods.get('GET') : undefined);
    if (!leaf && this.allowed) {
      for (const k of methods.keys()) { this.allowed.add(k); if (k === 'GET') this.allowed.add('HEAD'); }
    }
    return leaf ?? null;
  }

  private walk(node: Node, i: number): Leaf | null {
    if (i === this.nsegs) {
      const leaf = this.pick(node.methods);
      if (leaf) return leaf;
      // Werkzeug: a path that ends where a rule continues with "/" is answered
      // with a redirect to the slashed URL by that rule, before any backtracking.
      const slashed = this.pick(node.statics.get('')?.methods ?? null);
      if (slashed) this.slashRedirect = true;
      return slashed;
    }
    const from = this.starts[i] as number;
    const to = this.ends[i] as number;
    const child = node.statics.find(this.path, from, to);
    if (child) { const r = this.walk(child, i + 1); if (r) return r; }
    for (const e of node.ones) {
      if (!testOneSegment(e.kind, this.path, from, to)) continue;
      const depth = this.ncaps;
      this.capture(from, to);
      const r = this.walk(e.child, i + 1);
      if (r) return r;
      this.ncaps = depth;
    }
    if (node.tail) return this.walkTail(node.tail, i, this.nsegs);
    return null;
  }

  /** Matches the tail backwards from segment hi-1; segments lo..hi-1 are left for the multi-segment parameter. */
  private walkTail(node: TailNode, lo: number, hi: number): Leaf | null {
    if (hi > lo + 1) {
      const from = this.starts[hi - 1] as number;
      const to = this.ends[hi - 1] as number;
      const child = node.statics.find(this.path, from, to);
      if (child) { const r = this.walkTail(child, lo, hi - 1); if (r) return r; }
      for (const e of node.ones) {
        if (!testOneSegment(e.kind, this.path, from, to)) continue;
        const depth = this.ncaps;
        this.capture(from, to);
        const r = this.walkTail(e.child, lo, hi - 1);
        if (r) return r;
        this.ncaps = depth;
      }
    }
    for (const end of node.ends) {
      if (!testManySegments(end.kind, this.path, this.starts, this.ends, lo, hi, this.librarySupport)) continue;
      const leaf = this.pick(end.methods);
      if (leaf) { this.capture(this.starts[lo] as number, this.ends[hi - 1] as number); return leaf; }
    }
    return null;
  }
}

/** A concrete path for a pattern, used to prove every row reachable. */
export function samplePath(parts: readonly PatternPart[]): string {
  return '/' + parts.map((p, i) => {
    if (p.type === 'static') return p.value;
    if (p.type === 'many') return p.kind === 'path' ? `zqp${i}/zqq${i}` : `zqns${i}/zqrepo${i}`;
    switch (p.kind) {
      case 'digest': return 'sha256:' + 'ab'.repeat(32);
      case 'tag': return `zqtag${i}`;
      case 'fileid': return `zqf-${i}`;
      default: return `zqs${i}`;
    }
  }).join('/');
}
