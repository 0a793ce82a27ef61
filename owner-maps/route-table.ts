/**
 * The compiled route table: Quay's 435 routes as a segment trie, compiled once
 * per inventory and library-support setting, matched without allocating.
 *
 * It reproduces the matcher of Werkzeug 3.0 (Quay's router) exactly:
 *  - A rule is split at slashes into parts. Up to the first multi-segment
 *    parameter (a repository path or a `path`) each part is one segment;
 *    from there the rest of the rule is ONE "tail" part matched against all
 *    remaining segments at once (its repository takes what the tail leaves).
 *  - At every node a literal segment is tried first, then the dynamic parts in
 *    Werkzeug's weight order: more literal pieces first, longer literals first,
 *    more parameters first, lighter converters (single segment, 100) before
 *    heavier ones (repository and path, 200); ties go to the rule Quay
 *    registers first. A dead end backtracks, as Werkzeug does.
 *  - Strict slashes: a path that ends where a rule continues with "/" is
 *    answered by that rule with a redirect (`slashRedirect`), immediately.
 *  - HEAD falls back to the GET row; OPTIONS (answered by Flask for every
 *    rule) to the explicit OPTIONS row, else the GET row, else the first row.
 *  - `//` is merged into `/` (Werkzeug answers the merged path's rule with a redirect).
 *
 * Compile errors: a bad pattern, two rows with the same method and shape
 * (ambiguous), or a row whose sample path resolves elsewhere (shadowed) unless
 * the inventory records that Quay itself never reaches it (`shadowed_by`).
 */
import { InventoryError } from './errors.js';
import type { RouteRow } from './index.js';
import { MethodRows, methodSlot } from './method-rows.js';
import { parsePattern, patternShape, testManySegments, testOneSegment, ONE_SEGMENT_ORDER, type ManySegmentKind, type OneSegmentKind, type PatternPart } from './route-pattern.js';

export interface RouteMatch {
  readonly route: RouteRow;
  /** Path parameters by the names the pattern gives them (repository, upload_uuid, ...). */
  readonly params: Readonly<Record<string, string>>;
  /** True when Quay answers this path with a redirect from `route` (missing trailing slash, or `//`). */
  readonly slashRedirect: boolean;
}

interface Leaf {
  readonly route: RouteRow;
  /** Parameter names in capture order (path order). */
  readonly names: readonly string[];
  /** The params object from the captures: capture i is path[caps[2i], caps[2i + 1]). */
  readonly build: ParamsBuilder;
}

type ParamsBuilder = (path: string, caps: Int32Array) => Record<string, string>;

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A leaf's params builder: an object literal with the leaf's own property
 * names, so every match of a leaf makes objects of one shape through plain
 * stores. Filling `{}` by name instead goes through V8's megamorphic keyed
 * store, a stub-cache probe per parameter on every request. The names are
 * identifiers (the pattern grammar and PARAM_NAME both require it), so the
 * generated source is only property names and capture offsets.
 */
function paramsBuilder(names: readonly string[]): ParamsBuilder {
  const key = names.join(',');
  let build = BUILDERS.get(key);
  if (build === undefined) {
    build = compileParamsBuilder(names);
    BUILDERS.set(key, build);
  }
  return build;
}

/** Builders by parameter list: leaves with the same names share one, so their params share one shape. */
const BUILDERS = new Map<string, ParamsBuilder>();

function compileParamsBuilder(names: readonly string[]): ParamsBuilder {
  const fields = names.map((n, i) => {
    if (!PARAM_NAME.test(n)) throw new InventoryError('SWB_ROUTE_BAD_PATTERN', `parameter name ${JSON.stringify(n)} is not an identifier`);
    return `${n}: path.slice(caps[${2 * i}], caps[${2 * i + 1}])`;
  });
  return new Function('path', 'caps', `return { ${fields.join(', ')} };`) as ParamsBuilder;
}

type Methods = MethodRows<Leaf>;

/** Werkzeug's Weighting of a rule part: compared field by field, lists lexicographically. */
interface Weight {
  readonly statics: readonly (readonly [number, number])[];
  readonly args: readonly number[];
}

function compareLists(a: readonly (number | readonly number[])[], b: readonly (number | readonly number[])[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const c = typeof x === 'number' ? x - (y as number) : compareLists(x, y as readonly number[]);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

function compareWeights(a: Weight, b: Weight): number {
  return b.statics.length - a.statics.length || compareLists(a.statics, b.statics) || b.args.length - a.args.length || compareLists(a.args, b.args);
}

const ONE_SEGMENT_WEIGHT: Weight = { statics: [], args: [100] };
const MANY_WEIGHT = 200;

/**
 * Literal children of a node, found without allocating: few children are
 * scanned, many are bucketed by (length, first character); startsWith confirms.
 */
class Statics<N> {
  private readonly list: { value: string; child: N }[] = [];
  private byKey: Map<number, { value: string; child: N }[]> | null = null;
  private static key(len: number, first: number): number {
    return len * 65536 + first;
  }
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
        if (bucket) bucket.push(e);
        else this.byKey.set(k, [e]);
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
  forEach(fn: (child: N) => void): void {
    for (const e of this.list) fn(e.child);
  }
}

/** One multi-segment parameter and everything after it: Werkzeug's final rule part. */
interface TailRule {
  readonly kind: ManySegmentKind;
  /** Parts after the multi-segment parameter, without the trailing "/" of a suffixed rule. */
  readonly tail: readonly Exclude<PatternPart, { type: 'many' }>[];
  /** The rule ends with "/": the path may lack it (then Quay redirects). */
  readonly suffixed: boolean;
  readonly shape: string;
  readonly weight: Weight;
  /** Insertion order among equal weights: suffixed rules first (Quay registers them first). */
  readonly tie: number;
  readonly methods: Methods;
}

type Dynamic =
  | { readonly type: 'one'; readonly kind: OneSegmentKind; readonly child: Node; readonly weight: Weight }
  | { readonly type: 'tail'; readonly rule: TailRule; readonly weight: Weight };

/**
 * Dynamic parts of a node narrowed by the request's second-to-last segment: a
 * tail rule whose penultimate part is a literal (`blobs/{digest}`,
 * `manifests/{tag}`) can only match when that segment is the literal. Same order.
 */
class Candidates {
  readonly byPenult: Statics<Dynamic[]> | null = null;
  /** The rules for a penultimate segment no rule names literally. */
  readonly otherPenult: Dynamic[];
  readonly penultMaxLen: number;
  constructor(readonly all: Dynamic[]) {
    const literals = new Set(all.map(penultLiteral).filter((x): x is string => x !== null));
    this.otherPenult = all.filter((d) => penultLiteral(d) === null);
    this.penultMaxLen = Math.max(0, ...[...literals].map((l) => l.length));
    if (literals.size === 0) return;
    const byPenult = new Statics<Dynamic[]>();
    for (const lit of literals) byPenult.getOrAdd(lit, () => all.filter((d) => penultLiteral(d) === null || penultLiteral(d) === lit));
    this.byPenult = byPenult;
  }
}

class Node {
  readonly statics = new Statics<Node>();
  dynamics: Dynamic[] = [];
  methods: Methods | null = null;
  /**
   * `dynamics` filtered by the request's last segment: a tail rule whose last
   * part is a literal can only match when the path ends with it. Same order.
   */
  byLast: Statics<Candidates> | null = null;
  /** `dynamics` for a last segment no tail rule names literally. */
  otherLast = new Candidates([]);
  /** Length of the longest literal in `byLast`: longer last segments (digests) skip the look-up. */
  byLastMaxLen = 0;
}

/** The literal a tail rule's path must end with (before the trailing slash of a suffixed rule), or null. */
function lastLiteral(d: Dynamic): string | null {
  if (d.type !== 'tail') return null;
  const last = d.rule.tail[d.rule.tail.length - 1];
  return last !== undefined && last.type === 'static' ? last.value : null;
}

/** The literal a tail rule's path must have as its second-to-last segment, or null. */
function penultLiteral(d: Dynamic): string | null {
  if (d.type !== 'tail') return null;
  const p = d.rule.tail[d.rule.tail.length - 2];
  return p !== undefined && p.type === 'static' ? p.value : null;
}

export interface RouteTableOptions {
  /** Quay's FEATURE_LIBRARY_SUPPORT (default true): a one-segment repository is in the library namespace. */
  readonly librarySupport: boolean;
  /** Match-cache size per method and generation (default 8192; 0 disables caching). */
  readonly cacheEntries?: number;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Percent-decoding as Werkzeug does it: valid escapes decoded, bad UTF-8 replaced, bad escapes kept. */
function percentDecode(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      const bytes = new Uint8Array(run.length / 3);
      for (let i = 0; i < bytes.length; i++) bytes[i] = hexValue(run.charCodeAt(3 * i + 1)) * 16 + hexValue(run.charCodeAt(3 * i + 2));
      return Buffer.from(bytes).toString('utf8');
    });
  }
}

const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/**
 * Request path as the router sees it: no query string or fragment,
 * percent-decoded; an absolute-form target (`http://host/v2/...`, RFC 9112
 * §3.2.2, which servers must accept) is reduced to its path, as gunicorn and nginx do.
 */
export function normalizePath(rawPath: string): string {
  let p = rawPath;
  if (p.charCodeAt(0) !== 47 /* / */) {
    const m = ABSOLUTE_FORM.exec(p);
    if (m) p = p.slice(m[0].length) || '/';
  }
  const q = p.indexOf('?');
  if (q >= 0) p = p.slice(0, q);
  const h = p.indexOf('#');
  if (h >= 0) p = p.slice(0, h);
  if (p.includes('%')) p = percentDecode(p);
  return p;
}

/** Longest path the match cache keeps (characters): a cache of 16 × 2 × 8,192 paths stays under ~256 MiB. */
export const MAX_CACHED_PATH = 1024;

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
  private slot = 0;
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
        throw new InventoryError('SWB_ROUTE_AMBIGUOUS', `${route.id} and ${other.id} are ambiguous: both are ${route.method} ${patternShape(parts)}`);
      }
      shapes.set(key, route);
      table.insert(route, parts);
    }
    table.sortDynamics(table.root);
    const byId = new Map(routes.map((r) => [r.id, r]));
    for (const route of routes) table.checkReachable(route, byId);
    return table;
  }

  private insert(route: RouteRow, parts: readonly PatternPart[]): void {
    const manyAt = parts.findIndex((p) => p.type === 'many');
    const forward = manyAt < 0 ? parts : parts.slice(0, manyAt);
    const names: string[] = [];
    let node = this.root;
    for (const p of forward) {
      if (p.type === 'static') {
        node = node.statics.getOrAdd(p.value, () => new Node());
        continue;
      }
      if (p.type !== 'one') continue;
      names.push(p.name);
      const kind = p.kind;
      let edge = node.dynamics.find((d) => d.type === 'one' && d.kind === kind);
      if (!edge) {
        edge = { type: 'one', kind, child: new Node(), weight: ONE_SEGMENT_WEIGHT };
        node.dynamics.push(edge);
      }
      node = (edge as Extract<Dynamic, { type: 'one' }>).child;
    }
    let methods: Methods;
    if (manyAt < 0) {
      methods = node.methods ??= new MethodRows();
    } else {
      const many = parts[manyAt] as Extract<PatternPart, { type: 'many' }>;
      let tail = parts.slice(manyAt + 1) as Exclude<PatternPart, { type: 'many' }>[];
      const last = tail[tail.length - 1];
      const suffixed = last !== undefined && last.type === 'static' && last.value === '';
      if (suffixed) tail = tail.slice(0, -1);
      names.push(many.name);
      for (const p of tail) if (p.type === 'one') names.push(p.name);
      const shape = `${many.kind}|${suffixed}|${patternShape(tail)}`;
      let dyn = node.dynamics.find((d) => d.type === 'tail' && d.rule.shape === shape) as Extract<Dynamic, { type: 'tail' }> | undefined;
      if (!dyn) {
        const statics = tail.filter((p) => p.type === 'static').map((p, i) => [i, -(p as { value: string }).value.length] as const);
        const weight: Weight = { statics, args: [MANY_WEIGHT, ...tail.filter((p) => p.type === 'one').map(() => 100)] };
        const rule: TailRule = { kind: many.kind, tail, suffixed, shape, weight, tie: suffixed ? 0 : 1, methods: new MethodRows() };
        dyn = { type: 'tail', rule, weight };
        node.dynamics.push(dyn);
      }
      methods = dyn.rule.methods;
    }
    methods.set(route.method, { route, names, build: paramsBuilder(names) });
  }

  private sortDynamics(node: Node): void {
    const tieOf = (d: Dynamic): number => (d.type === 'one' ? ONE_SEGMENT_ORDER.indexOf(d.kind) : d.rule.tie);
    node.dynamics.sort((a, b) => compareWeights(a.weight, b.weight) || tieOf(a) - tieOf(b));
    const literals = new Set(node.dynamics.map(lastLiteral).filter((x): x is string => x !== null));
    if (literals.size > 0) {
      const byLast = new Statics<Candidates>();
      for (const lit of literals) byLast.getOrAdd(lit, () => new Candidates(node.dynamics.filter((d) => lastLiteral(d) === null || lastLiteral(d) === lit)));
      node.byLast = byLast;
    }
    node.otherLast = new Candidates(node.dynamics.filter((d) => lastLiteral(d) === null));
    node.byLastMaxLen = Math.max(0, ...[...literals].map((l) => l.length));
    for (const d of node.dynamics) if (d.type === 'one') this.sortDynamics(d.child);
    node.statics.forEach((child) => this.sortDynamics(child));
  }

  private checkReachable(route: RouteRow, byId: ReadonlyMap<string, RouteRow>): void {
    const sample = samplePath(parsePattern(route.pattern, route.id), this.librarySupport);
    const m = this.matchUncached(route.method, sample);
    const expected = route.shadowedBy ? byId.get(route.shadowedBy) : route;
    if (!m || m.route !== expected || (m.slashRedirect && !route.shadowedBy)) {
      throw new InventoryError(
        'SWB_ROUTE_SHADOWED',
        `${route.id} (${route.method} ${route.pattern}) is never matched: its sample path ${sample} resolves to ${m ? m.route.id : 'nothing'}` +
          (route.shadowedBy ? ` (the inventory expects ${route.shadowedBy})` : ''),
      );
    }
  }

  /**
   * Every leaf of the trie in the order the matcher tries them (depth first:
   * at each node its own rows, then the rows reached without their trailing
   * slash, then literal children, then the dynamic parts by weight). The first
   * leaf whose pattern and method accept a request is the one match() returns,
   * so a first-match list (the nginx renderer's `map`) in this order decides
   * like the trie. `slashless`: the leaf's rows match here only without their
   * trailing "/" (Quay answers with a redirect).
   */
  ruleOrder(): { readonly methods: ReadonlyMap<string, RouteRow>; readonly slashless: boolean }[] {
    const out: { methods: ReadonlyMap<string, RouteRow>; slashless: boolean }[] = [];
    const rows = (m: Methods): Map<string, RouteRow> => new Map([...m.byName].map(([k, leaf]) => [k, leaf.route]));
    const visit = (node: Node): void => {
      if (node.methods) out.push({ methods: rows(node.methods), slashless: false });
      const slashed = node.statics.get('')?.methods;
      if (slashed) out.push({ methods: rows(slashed), slashless: true });
      node.statics.forEach(visit);
      for (const d of node.dynamics) {
        if (d.type === 'one') visit(d.child);
        else out.push({ methods: rows(d.rule.methods), slashless: false });
      }
    };
    visit(this.root);
    return out;
  }

  /**
   * Matches a request; `rawPath` is the request target (query string ignored).
   * Paths longer than MAX_CACHED_PATH are walked every time.
   * Results are immutable and depend only on the table, so a bounded
   * two-generation cache keeps hot paths (popular tags and layers) to two map
   * look-ups; unseen paths pay the trie walk.
   */
  match(method: string, rawPath: string): RouteMatch | null {
    // A registry path is well under this; a client sending long ones must not fill memory with them.
    if (rawPath.length > MAX_CACHED_PATH) return this.matchUncached(method, rawPath);
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

  /** The trie walk itself, without the cache. */
  matchUncached(method: string, rawPath: string): RouteMatch | null {
    const path = normalizePath(rawPath);
    if (path.charCodeAt(0) !== 47 /* / */) return null;
    this.method = method;
    this.slot = methodSlot(method);
    this.segment(path);
    const m = this.run();
    if (m || !path.includes('//')) return m;
    // Werkzeug merges repeated slashes and redirects to the merged path's rule.
    this.segment(path.replace(/\/{2,}/g, '/'));
    const merged = this.run();
    return merged ? { route: merged.route, params: merged.params, slashRedirect: true } : null;
  }

  /** Methods for which `path` matches some row: the Allow set of a 405, for diagnostics. */
  allowedMethods(rawPath: string): string[] {
    const path = normalizePath(rawPath);
    if (path.charCodeAt(0) !== 47) return [];
    this.allowed = new Set();
    try {
      this.method = '\u0000';
      this.slot = -1;
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
        const s = new Int32Array(n * 2);
        s.set(this.starts);
        this.starts = s;
        const e = new Int32Array(n * 2);
        e.set(this.ends);
        this.ends = e;
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
    // Not frozen: freezing per request costs more than the match. Callers must not mutate.
    return { route: leaf.route, params: leaf.build(this.path, this.caps), slashRedirect: this.slashRedirect };
  }

  private capture(from: number, to: number): void {
    this.caps[2 * this.ncaps] = from;
    this.caps[2 * this.ncaps + 1] = to;
    this.ncaps++;
  }

  private pick(methods: Methods | null): Leaf | null {
    if (!methods) return null;
    const leaf = methods.get(this.slot, this.method);
    if (!leaf && this.allowed) {
      for (const k of methods.byName.keys()) {
        this.allowed.add(k);
        if (k === 'GET') this.allowed.add('HEAD');
      }
    }
    return leaf;
  }

  private walk(node: Node, i: number): Leaf | null {
    if (i === this.nsegs) {
      const leaf = this.pick(node.methods);
      if (leaf) return leaf;
      // Strict slashes: the rule continues with "/" — Quay redirects, before any backtracking.
      const slashed = this.pick(node.statics.get('')?.methods ?? null);
      if (slashed) this.slashRedirect = true;
      return slashed;
    }
    const from = this.starts[i] as number;
    const to = this.ends[i] as number;
    const child = node.statics.find(this.path, from, to);
    if (child) {
      const r = this.walk(child, i + 1);
      if (r) return r;
    }
    // The candidates, narrowed by the last and second-to-last non-empty
    // segments (a suffixed rule's literals sit before its trailing slash);
    // looked up in place: slicing a segment would allocate and hash a new string.
    let last = this.nsegs - 1;
    if (last > i && (this.ends[last] as number) === (this.starts[last] as number)) last--;
    let cands = node.otherLast;
    if (node.byLast !== null) {
      const lf = this.starts[last] as number;
      const lt = this.ends[last] as number;
      if (lt - lf <= node.byLastMaxLen) cands = node.byLast.find(this.path, lf, lt) ?? node.otherLast;
    }
    let dynamics = cands.all;
    if (cands.byPenult !== null) {
      // A rule with a literal penultimate part needs that segment after segment i.
      const pen = last - 1;
      dynamics = cands.otherPenult;
      if (pen > i) {
        const pf = this.starts[pen] as number;
        const pt = this.ends[pen] as number;
        if (pt - pf <= cands.penultMaxLen) dynamics = cands.byPenult.find(this.path, pf, pt) ?? cands.otherPenult;
      }
    }
    for (const d of dynamics) {
      if (d.type === 'one') {
        if (!testOneSegment(d.kind, this.path, from, to)) continue;
        const depth = this.ncaps;
        this.capture(from, to);
        const r = this.walk(d.child, i + 1);
        if (r) return r;
        this.ncaps = depth;
      } else {
        const r = this.matchTail(d.rule, i);
        if (r) return r;
      }
    }
    return null;
  }

  /** Segment j of the path equals the literal `value`. */
  private segIs(j: number, value: string): boolean {
    const from = this.starts[j] as number;
    return (this.ends[j] as number) - from === value.length && this.path.startsWith(value, from);
  }

  /**
   * A tail rule against segments i..n-1: its tail parts take the last segments
   * (before a trailing "/" for a suffixed rule) and the multi-segment parameter
   * takes the rest, which must satisfy its converter.
   */
  private matchTail(rule: TailRule, i: number): Leaf | null {
    // A rule without a row for this method cannot answer: skip its converters (a digest is 71 characters).
    if (this.allowed === null && rule.methods.get(this.slot, this.method) === null) return null;
    const n = this.nsegs;
    let end = n;
    let redirect = false;
    if (rule.suffixed) {
      if (n - 1 > i && (this.ends[n - 1] as number) === (this.starts[n - 1] as number)) end = n - 1;
      else redirect = true;
    }
    const k = rule.tail.length;
    const mid = end - k;
    if (mid <= i) return null;
    for (let j = 0; j < k; j++) {
      const p = rule.tail[j]!;
      const seg = mid + j;
      if (p.type === 'static') {
        if (!this.segIs(seg, p.value)) return null;
      } else if (!testOneSegment(p.kind, this.path, this.starts[seg] as number, this.ends[seg] as number)) return null;
    }
    if (!testManySegments(rule.kind, this.path, this.starts, this.ends, i, mid, this.librarySupport)) return null;
    const leaf = this.pick(rule.methods);
    if (!leaf) return null;
    this.capture(this.starts[i] as number, this.ends[mid - 1] as number);
    for (let j = 0; j < k; j++) if (rule.tail[j]!.type === 'one') this.capture(this.starts[mid + j] as number, this.ends[mid + j] as number);
    if (redirect) this.slashRedirect = true;
    return leaf;
  }
}

/** A concrete path for a pattern, used to prove every row reachable. */
export function samplePath(parts: readonly PatternPart[], librarySupport = true): string {
  return (
    '/' +
    parts
      .map((p, i) => {
        if (p.type === 'static') return p.value;
        if (p.type === 'many') {
          if (p.kind === 'path') return `zqp${i}/zqq${i}`;
          void librarySupport;
          return `zqns${i}/zqrepo${i}`;
        }
        switch (p.kind) {
          case 'digest':
            return 'sha256:' + 'ab'.repeat(32);
          case 'tag':
            return `zqtag${i}`;
          case 'fileid':
            return `zqf-${i}`;
          // Not a valid tag or digest, so a plain segment is not taken by a constrained sibling.
          default:
            return `zq~s${i}`;
        }
      })
      .join('/')
  );
}
