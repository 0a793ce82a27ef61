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

export interface RowRegex {
  /** PCRE source, anchored, for "METHOD PATH". */
  readonly regex: string;
  /** Which parameter the named group `sbj` captures. */
  readonly subject: SubjectKind;
}

const META = /[\\^$.|?*+()[\]{}]/g;

/**
 * A literal for PCRE: metacharacters escaped (`$` too, so nginx never reads it
 * as a variable), control characters as \xNN so no line break reaches the file.
 */
export function pcreLiteral(s: string): string {
  return s.replace(META, (c) => `\\${c}`).replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const ONE: Record<OneSegmentKind, string> = {
  segment: '[^/]+',
  digest: '[A-Za-z0-9_+.-]+:[A-Fa-f0-9]+',
  // Python's \w is Unicode-aware; the regex carries (*UTF)(*UCP) for it.
  tag: '\\w[\\w.-]{0,127}',
  fileid: '[0-9a-zA-Z-]+',
};

/** Prefixes Quay's repopathredirect converter refuses (route-pattern.ts REDIRECT_RESERVED). */
const REDIRECT_RESERVED = ['v1', 'v2', 'cnr', 'customtrigger/setup', 'bitbucket/setup', 'repository', 'github/callback/trigger', 'push'];

function many(kind: ManySegmentKind, librarySupport: boolean): string {
  if (kind === 'path') return '[^/][\\s\\S]*';
  const min2 = kind === 'apirepopath' || !librarySupport;
  const body = `[^/]+(?:/[^/]+)${min2 ? '+' : '*'}`;
  // Refused when the value itself starts with `prefix/` (more follows): not for the rule's own trailing slash.
  if (kind === 'repopathredirect') return `(?!(?:${REDIRECT_RESERVED.map(pcreLiteral).join('|')})/[^/])${body}`;
  if (kind === 'v1createrepopath') return `${body}(?<!auth)(?<!tags)(?<!images)`;
  return body;
}

function subjectOf(parts: readonly PatternPart[]): { kind: SubjectKind; name: string | null } {
  const names = new Set(parts.filter((p) => p.type !== 'static').map((p) => (p as { name: string }).name));
  if (names.has('repository')) return { kind: names.has('upload_uuid') ? 'upload' : 'repository', name: 'repository' };
  if (names.has('orgname')) return { kind: 'namespace', name: 'orgname' };
  if (names.has('namespace')) return { kind: 'namespace', name: 'namespace' };
  return { kind: 'none', name: null };
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
  return { regex: `${unicode ? '(*UTF)(*UCP)' : ''}^${m} ${path}\\z`, subject: subject.kind };
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
