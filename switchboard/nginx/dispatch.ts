/**
 * The dispatch tree of one path group: hash `map`s that narrow the group's
 * ordered rows down to the few a request can match, so nginx runs a handful of
 * regexes per request instead of the whole group. Pure and deterministic.
 *
 *   $sb_m_api_v1_user         map $sb_l1 (the path's last segment)
 *     "logs"  → $sb_m_api_v1_user_4    rows up to the last one ending in /logs,
 *                                      default → $sb_m_api_v1_user_1
 *     default → $sb_m_api_v1_user_1    map $sb_l2 (the segment before it) → ...
 *                                      the rows with a parameter there
 *
 * Keys: `$sb_l1` and `$sb_l2`, captured from $uri by the group dispatch. A
 * node splits its rows on one key. The rows with a parameter in that place (any
 * value can match) form the node's default subtree. For each literal k a row
 * has there, the case holds the node's rows with k there and, before the last
 * of them, the parameter rows that may match a path one of the rows kept after
 * them matches (mayOverlap); it falls through to the default subtree. Cases are
 * packed into maps of up to BUNDLE_ROWS rows (fewer nginx variables: nginx
 * zeroes and flushes every variable on every request).
 *
 * Why nginx still finds decide()'s row. Take a request with literal k in that
 * place and its first matching row X in the node's order. Rows with another
 * literal there cannot match it. If X is kept in k's case (or its bundle), every
 * row before X there failed, so X is found. If X is a parameter row left out, no
 * row kept after X can match the request (it would match a path X matches, and
 * X would have been kept), so the case finds nothing and the default subtree,
 * the parameter rows in order, finds X (rows tried again there failed the first
 * time). A bundle adds only rows kept for its other literals: those with
 * another literal cannot match, and a parameter row kept for one of them keeps,
 * the same way, every earlier parameter row that may match the same request.
 * nginx's exact `map` keys compare case-insensitively, so literals are grouped
 * by their lower case: a request differing only in case tries a superset, and
 * the case-sensitive row regexes decide.
 */

import type { RowShape } from './pcre.js';

export type DispatchKey = '$sb_l1' | '$sb_l2';

export interface DispatchEntry<E> {
  readonly entry: E;
  /** The literals a key may have for the entry to match; null where any value can. */
  readonly keys: Readonly<Record<DispatchKey, readonly string[] | null>>;
  /** The methods it answers, or null for any. */
  readonly methods: readonly string[] | null;
  /** The paths it matches, or null for any path (a family prefix). */
  readonly shape: RowShape | null;
}

/** False only when no request can match both rows: methods, a literal place or the segment count differ. */
export function mayOverlap<E>(a: DispatchEntry<E>, b: DispatchEntry<E>): boolean {
  const ma = a.methods;
  const mb = b.methods;
  if (ma !== null && mb !== null && !ma.some((m) => mb.includes(m))) return false;
  if (a.shape === null || b.shape === null) return true;
  const ha = a.shape.head;
  const hb = b.shape.head;
  for (let i = 0; i < Math.min(ha.length, hb.length); i++) if (ha[i] !== null && hb[i] !== null && ha[i] !== hb[i]) return false;
  if (a.shape.count !== null && b.shape.count !== null && a.shape.count !== b.shape.count) return false;
  const apart = (x: string | null, y: string | null): boolean => x !== null && y !== null && x !== y;
  return a.shape.tails.some((ta) => b.shape!.tails.some((tb) => !apart(ta.l1, tb.l1) && !apart(ta.l2, tb.l2)));
}

export interface DispatchNode {
  readonly variable: string;
  readonly source: DispatchKey;
  /** Exact keys (lower case, as nginx compares them) and the variable each leads to. */
  readonly cases: readonly { readonly key: string; readonly target: string }[];
  /** The variable for any other key, or null for the group's default. */
  readonly otherwise: string | null;
}

export interface DispatchLeaf<E> {
  readonly variable: string;
  readonly entries: readonly E[];
  /** What a request none of the entries match goes on to, or null for the group's default. */
  readonly otherwise: string | null;
}

export interface DispatchTree<E> {
  /** The variable that holds the group's row: the root node's, or the single leaf's. */
  readonly root: string;
  readonly nodes: readonly DispatchNode[];
  readonly leaves: readonly DispatchLeaf<E>[];
}

/** A list of this many rows or fewer is a leaf: a hash look-up costs about what a short regex does. */
export const LEAF_ROWS = 8;

const KEYS: readonly DispatchKey[] = ['$sb_l1', '$sb_l2'];

/** Literal cases are packed into case maps of up to this many rows (a case larger than that is alone). */
export const BUNDLE_ROWS = 6;

interface Bundle<E> {
  readonly keys: readonly string[];
  /** The rows of its cases, in the group's order. */
  readonly rows: readonly DispatchEntry<E>[];
}

interface Split<E> {
  readonly source: DispatchKey;
  readonly bundles: readonly Bundle<E>[];
  /** The rows with a parameter in that place. */
  readonly otherwise: readonly DispatchEntry<E>[];
}

/**
 * Splits `items` on `source`. A literal's case is the rows up to the last one
 * with it there, less the rows with another literal there; cases are packed,
 * in the order of their literals, into the first bundle they fit in.
 */
function splitOn<E>(items: readonly DispatchEntry<E>[], source: DispatchKey): Split<E> {
  const has = (it: DispatchEntry<E>, lit: string): boolean => it.keys[source]!.some((k) => k.toLowerCase() === lit);
  const literals = [...new Set(items.flatMap((it) => (it.keys[source] ?? []).map((k) => k.toLowerCase())))].sort();
  const cases = literals.map((lit) => {
    // Back from the last row with the literal: a row with a parameter there stays only if
    // it may match a request a row kept after it matches; the others wait in the default.
    const kept: DispatchEntry<E>[] = [];
    for (let i = items.findLastIndex((it) => it.keys[source] !== null && has(it, lit)); i >= 0; i--) {
      const it = items[i]!;
      if (it.keys[source] === null ? kept.some((k) => mayOverlap(it, k)) : has(it, lit)) kept.unshift(it);
    }
    return { lit, rows: new Set(kept) };
  });
  const packs: { keys: string[]; rows: Set<DispatchEntry<E>> }[] = [];
  for (const c of cases) {
    const fits = packs.find((p) => new Set([...p.rows, ...c.rows]).size <= BUNDLE_ROWS);
    if (fits === undefined) packs.push({ keys: [c.lit], rows: new Set(c.rows) });
    else {
      fits.keys.push(c.lit);
      for (const r of c.rows) fits.rows.add(r);
    }
  }
  const bundles = packs.map((p) => ({ keys: p.keys.sort(), rows: items.filter((it) => p.rows.has(it)) })).sort((a, b) => a.keys[0]!.localeCompare(b.keys[0]!));
  return { source, bundles, otherwise: items.filter((it) => it.keys[source] === null) };
}

/** Rows a request tries after the split at worst (a bundle, then the default), then in all; smaller is better. */
function cost<E>(s: Split<E>): [number, number] {
  const sizes = s.bundles.map((b) => b.rows.length + s.otherwise.length);
  return [Math.max(s.otherwise.length, ...sizes), s.bundles.reduce((n, b) => n + b.rows.length, s.otherwise.length)];
}

function bestSplit<E>(list: readonly DispatchEntry<E>[], left: readonly DispatchKey[]): Split<E> | null {
  if (list.length <= LEAF_ROWS) return null;
  let best: Split<E> | null = null;
  for (const source of left) {
    const s = splitOn(list, source);
    const [worst, total] = cost(s);
    if (s.bundles.length === 0 || worst >= list.length) continue;
    if (best === null || worst < cost(best)[0] || (worst === cost(best)[0] && total < cost(best)[1])) best = s;
  }
  return best;
}

/**
 * Builds the tree for `items` (in the group's order). Variables are `root`,
 * then `inner1`, `inner2`, ... in the order they are printed (short: nginx
 * hashes every variable name, and long ones overflow its default buckets);
 * identical leaves are shared.
 */
export function buildDispatchTree<E>(root: string, inner: string, items: readonly DispatchEntry<E>[]): DispatchTree<E> {
  const nodes: DispatchNode[] = [];
  const leaves: DispatchLeaf<E>[] = [];
  const leafByContent = new Map<string, string>();
  const ids = new Map<DispatchEntry<E>, number>(items.map((it, i) => [it, i]));
  const order = new Map<string, number>();
  let next = 0;
  const named = (variable: string): string => {
    order.set(variable, order.size);
    return variable;
  };

  /** The variable for `list`, then `fall` (a variable, or null: the group's default). */
  const build = (list: readonly DispatchEntry<E>[], left: readonly DispatchKey[], fall: string | null, as: string | null): string => {
    const best = bestSplit(list, left);
    if (best === null) {
      const content = `${list.map((it) => ids.get(it)).join(',')}>${fall ?? ''}`;
      const known = leafByContent.get(content);
      if (known !== undefined && as === null) return known;
      const variable = named(as ?? `${inner}${++next}`);
      leafByContent.set(content, variable);
      leaves.push({ variable, entries: list.map((it) => it.entry), otherwise: fall });
      return variable;
    }
    const variable = named(as ?? `${inner}${++next}`);
    const rest = left.filter((k) => k !== best.source);
    const otherwise = best.otherwise.length ? build(best.otherwise, rest, fall, null) : fall;
    const cases = best.bundles.flatMap((b) => {
      const target = build(b.rows, rest, otherwise, null);
      return b.keys.map((key) => ({ key, target }));
    });
    nodes.push({ variable, source: best.source, cases, otherwise });
    return variable;
  };
  build(items, KEYS, null, root);
  // Printed in the order the variables were named: each node before the ones it leads to.
  const byOrder = (a: { variable: string }, b: { variable: string }): number => order.get(a.variable)! - order.get(b.variable)!;
  return { root, nodes: nodes.sort(byOrder), leaves: leaves.sort(byOrder) };
}
