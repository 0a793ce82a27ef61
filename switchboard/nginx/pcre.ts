/**
 * Route patterns as PCRE, for the nginx front door. Each regex matches
 * "$request_method $uri" (nginx's decoded, slash-merged path) and accepts
 * exactly the paths switchboard/core/route-pattern.ts accepts for that row:
 * the same converters, the same repository-path rules, the same trailing
 * slash handling. Order between rows is not expressed here: the renderer
 * lists the rows in RouteTable.ruleOrder(), first match wins.
 */
import type { RouteRow } from '../../owner-maps/index.js';
import { parsePattern, type ManySegmentKind, type OneSegmentKind, type PatternPart } from '../../owner-maps/route-pattern.js';

/** The path parameter a canary reads: the repository (namespace/name), else the namespace. */
export type SubjectKind = 'repository' | 'upload' | 'namespace' | 'none';

/**
 * What a path the row matches has as its last segment (`l1`, after the last
 * "/") and the one before it (`l2`, "" when the path has one segment): a
 * literal, or null when a parameter stands there. The front door hashes the
 * request's `l1`/`l2` to pick the few rows worth trying (switchboard/nginx/dispatch.ts).
 */
export interface Tail {
  readonly l1: string | null;
  readonly l2: string | null;
}

/** What every path a row matches looks like, for telling rows that can never match the same path apart. */
export interface RowShape {
  /** The literal at each place from the start, up to the first multi-segment parameter; null for a parameter. */
  readonly head: readonly (string | null)[];
  /** How many segments a matching path has, or null when a multi-segment parameter leaves it open. */
  readonly count: number | null;
  /** Every shape of tail a matching path can have (one per optional trailing slash). */
  readonly tails: readonly Tail[];
}

export interface RowRegex {
  /** PCRE source, anchored, for "METHOD PATH". */
  readonly regex: string;
  /** Which parameter the named group `sbj` captures. */
  readonly subject: SubjectKind;
  readonly shape: RowShape;
}

const META = /[\\^$.|?*+()[\]{}]/g;

/**
 * A literal for PCRE: metacharacters escaped (`$` too, so nginx never reads it
 * as a variable), control characters as \xNN so no line break reaches the file.
 */
export function pcreLiteral(s: string): string {
  return s.replace(META, (c) => `\\${c}`).replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

// Quantifiers are possessive (`++`, `{0,127}+`) where what follows can never
// start with a character they take back (`/`, `:` or the end): the same
// matches, without PCRE backtracking one character at a time on a miss.
const ONE: Record<OneSegmentKind, string> = {
  segment: '[^/]++',
  digest: '[A-Za-z0-9_+.-]++:[A-Fa-f0-9]++',
  // Python's \w is Unicode-aware; the regex carries (*UTF)(*UCP) for it.
  tag: '\\w[\\w.-]{0,127}+',
  fileid: '[0-9a-zA-Z-]++',
};

/** Prefixes Quay's repopathredirect converter refuses (route-pattern.ts REDIRECT_RESERVED). */
const REDIRECT_RESERVED = ['v1', 'v2', 'cnr', 'customtrigger/setup', 'bitbucket/setup', 'repository', 'github/callback/trigger', 'push'];

function many(kind: ManySegmentKind, librarySupport: boolean): string {
  if (kind === 'path') return '[^/][\\s\\S]*';
  const min2 = kind === 'apirepopath' || !librarySupport;
  // Segments are taken whole; which segment the repository ends at is still backtracked.
  const body = `[^/]++(?:/[^/]++)${min2 ? '+' : '*'}`;
  // Refused when the value itself starts with `prefix/` (more follows): not for the rule's own trailing slash.
  if (kind === 'repopathredirect') return `(?!(?:${REDIRECT_RESERVED.map(pcreLiteral).join('|')})/[^/])${body}`;
  if (kind === 'v1createrepopath') return `${body}(?<!auth)(?<!tags)(?<!images)`;
  return body;
}

/** The tail of the paths `parts` (joined by "/") match. */
function tailOf(parts: readonly PatternPart[]): Tail {
  const lit = (p: PatternPart | undefined): string | null => (p === undefined ? '' : p.type === 'static' ? p.value : null);
  const last = parts[parts.length - 1];
  // A multi-segment parameter at the end spans both places.
  if (last !== undefined && last.type === 'many') return { l1: null, l2: null };
  const before = parts[parts.length - 2];
  return { l1: lit(last), l2: before !== undefined && before.type === 'many' ? null : lit(before) };
}

function subjectOf(parts: readonly PatternPart[]): { kind: SubjectKind; name: string | null } {
  const names = new Set(parts.filter((p) => p.type !== 'static').map((p) => (p as { name: string }).name));
  if (names.has('repository')) return { kind: names.has('upload_uuid') ? 'upload' : 'repository', name: 'repository' };
  if (names.has('orgname')) return { kind: 'namespace', name: 'orgname' };
  if (names.has('namespace')) return { kind: 'namespace', name: 'namespace' };
  return { kind: 'none', name: null };
}

/** The subject a row's path names (the same for its regex in every place of the match order). */
export function subjectKind(route: RouteRow): SubjectKind {
  return subjectOf(parsePattern(route.pattern, route.id)).kind;
}

/**
 * The regex for one row at one place in the match order, for the given
 * methods. `slashless`: the row ends with "/" and is matched here without it.
 */
export function rowRegex(route: RouteRow, methods: readonly string[], slashless: boolean, librarySupport: boolean): RowRegex {
  let parts = parsePattern(route.pattern, route.id);
  const hasMany = parts.some((p) => p.type === 'many');
  const last = parts[parts.length - 1];
  const trailing = last !== undefined && last.type === 'static' && last.value === '';
  // A rule ending in "/" after a repository path matches with or without the slash (Quay redirects the latter).
  const optionalSlash = trailing && hasMany;
  if (slashless || optionalSlash) parts = parts.slice(0, -1);
  const subject = subjectOf(parts);
  let unicode = false;
  const segs = parts.map((p) => {
    if (p.type === 'static') return pcreLiteral(p.value);
    const re = p.type === 'one' ? ONE[p.kind] : many(p.kind, librarySupport);
    if (p.type === 'one' && p.kind === 'tag') unicode = true;
    return p.name === subject.name ? `(?<sbj>${re})` : re;
  });
  const path = `/${segs.join('/')}${optionalSlash ? '/?' : ''}`;
  const m = methods.length === 1 ? methods[0]! : `(?:${methods.join('|')})`;
  const tails = optionalSlash ? [tailOf(parts), tailOf([...parts, { type: 'static', value: '' }])] : [tailOf(parts)];
  // The path "/" is one empty segment.
  const places: readonly PatternPart[] = parts.length ? parts : [{ type: 'static', value: '' }];
  const firstMany = places.findIndex((p) => p.type === 'many');
  const shape = {
    head: places.slice(0, firstMany < 0 ? places.length : firstMany).map((p) => (p.type === 'static' ? p.value : null)),
    count: firstMany < 0 && !optionalSlash ? places.length : null,
    tails,
  };
  return { regex: `${unicode ? '(*UTF)(*UCP)' : ''}^${m} ${path}\\z`, subject: subject.kind, shape };
}

/** The methods a leaf answers, by row: explicit methods, HEAD by the GET row, OPTIONS by the OPTIONS, GET or first row (RouteTable.pick). */
export function methodsByRow(leaf: ReadonlyMap<string, RouteRow>): Map<RouteRow, string[]> {
  const out = new Map<RouteRow, string[]>();
  const add = (m: string, r: RouteRow): void => {
    const l = out.get(r);
    if (l) l.push(m);
    else out.set(r, [m]);
  };
  for (const [m, r] of leaf) add(m, r);
  const get = leaf.get('GET');
  if (!leaf.has('HEAD') && get) add('HEAD', get);
  if (!leaf.has('OPTIONS')) add('OPTIONS', get ?? leaf.values().next().value!);
  return out;
}
