/**
 * Route patterns: our own syntax for Quay's Flask rules (owner-maps/routes.tsv).
 *
 *   /v2/{repository:repopath}/manifests/{manifest_ref:tag}
 *
 * `{name}` is one non-empty path segment (Werkzeug's default converter).
 * `{name:kind}` names one of the converter kinds below. Kinds that span several
 * segments mirror Quay's path_converters.py: a repository path may contain
 * slashes (`org/team/repo`), and with FEATURE_LIBRARY_SUPPORT (Quay's default)
 * a single segment is a repository in the library namespace.
 */
import { InventoryError } from './errors.js';

export type OneSegmentKind = 'segment' | 'digest' | 'tag' | 'fileid';
export type ManySegmentKind = 'repopath' | 'apirepopath' | 'repopathredirect' | 'v1createrepopath' | 'path';
export type ParamKind = OneSegmentKind | ManySegmentKind;

export type PatternPart =
  | { readonly type: 'static'; readonly value: string }
  | { readonly type: 'one'; readonly name: string; readonly kind: OneSegmentKind }
  | { readonly type: 'many'; readonly name: string; readonly kind: ManySegmentKind };

// Python's \w on str patterns is Unicode-aware: letters, digits and underscore.
const TAG_RE = /^[\p{L}\p{N}_][\p{L}\p{N}_.-]{0,127}$/u;

/** Single-segment kinds, in the order they are tried at one trie node (constrained first). */
export const ONE_SEGMENT_ORDER: readonly OneSegmentKind[] = ['digest', 'tag', 'fileid', 'segment'];
/** Multi-segment kinds, in the order they are tried; `path` is Werkzeug's catch-all and goes last. */
export const MANY_SEGMENT_ORDER: readonly ManySegmentKind[] = ['apirepopath', 'repopath', 'v1createrepopath', 'repopathredirect', 'path'];

// ASCII character classes for the constrained kinds, one table look-up per character.
const WORD = 1; // [A-Za-z0-9_]
const TAG_REST = 8; // [A-Za-z0-9_.-]
const FILEID = 16; // [0-9a-zA-Z-]
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  const word = /[A-Za-z0-9_]/.test(ch);
  CLASS[c] = (word ? WORD : 0) | (word || '.-'.includes(ch) ? TAG_REST : 0) | (/[0-9a-zA-Z-]/.test(ch) ? FILEID : 0);
}

function cls(c: number): number {
  return c < 128 ? (CLASS[c] as number) : 0;
}

// A digest's two halves: the bits a character LACKS, for the branch-free loops below.
const NOT_ALGORITHM = 1; // not [A-Za-z0-9_+.-]
const NOT_HEX = 2; // not [A-Fa-f0-9]
const DIGEST_MISS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  DIGEST_MISS[c] = (/[A-Za-z0-9_+.-]/.test(ch) ? 0 : NOT_ALGORITHM) | (/[A-Fa-f0-9]/.test(ch) ? 0 : NOT_HEX);
}

/**
 * path[from..to) is `([A-Za-z0-9_+.-]+):([A-Fa-f0-9]+)`, Quay's digest pattern.
 * No branch depends on a character: the hex of a real digest is random, and
 * a per-character test (irregexp's range checks, or an early exit) mispredicts
 * on about half of them, which cost 2.5× this loop's time. Misses are OR-ed
 * together and tested once; `c >>> 8` counts every non-Latin-1 unit as a miss.
 */
function isDigest(path: string, from: number, to: number): boolean {
  const colon = path.indexOf(':', from);
  if (colon <= from || colon >= to - 1) return false;
  let miss = 0;
  for (let i = from; i < colon; i++) {
    const c = path.charCodeAt(i);
    miss |= (DIGEST_MISS[c & 255]! & NOT_ALGORITHM) | (c >>> 8);
  }
  for (let i = colon + 1; i < to; i++) {
    const c = path.charCodeAt(i);
    miss |= (DIGEST_MISS[c & 255]! & NOT_HEX) | (c >>> 8);
  }
  return miss === 0;
}

/**
 * Tests path[from..to) (one segment, no slashes) against a single-segment kind.
 * Works on offsets so matching allocates nothing.
 */
export function testOneSegment(kind: OneSegmentKind, path: string, from: number, to: number): boolean {
  if (to <= from) return false;
  switch (kind) {
    case 'segment':
      return true;
    case 'digest':
      return isDigest(path, from, to);
    case 'tag': {
      // [\w][\w.-]{0,127}, Unicode-aware like Python's \w, counted in code points
      // as Python counts (128 code points are at most 256 UTF-16 units); ASCII fast path.
      if (to - from > 256) return false;
      const c0 = path.charCodeAt(from);
      if (c0 >= 128) return TAG_RE.test(path.slice(from, to));
      if ((cls(c0) & WORD) === 0) return false;
      for (let i = from + 1; i < to; i++) {
        const c = path.charCodeAt(i);
        if (c >= 128) return TAG_RE.test(path.slice(from, to));
        if ((cls(c) & TAG_REST) === 0) return false;
      }
      return to - from <= 128;
    }
    case 'fileid':
      for (let i = from; i < to; i++) if ((cls(path.charCodeAt(i)) & FILEID) === 0) return false;
      return true;
  }
}

/** Prefixes Quay's repopathredirect converter refuses, so /v2/... never falls back to the web UI redirect. */
const REDIRECT_RESERVED = ['v1/', 'v2/', 'cnr/', 'customtrigger/setup/', 'bitbucket/setup/', 'repository/', 'github/callback/trigger/', 'push/'];
const V1_CREATE_REFUSED_SUFFIXES = ['auth', 'tags', 'images'];

/**
 * Tests a run of whole segments as the value of a multi-segment kind. `starts`
 * and `ends` hold segment offsets into `path`; the run is segments lo..hi-1.
 * `librarySupport` mirrors Quay's FEATURE_LIBRARY_SUPPORT.
 */
export function testManySegments(kind: ManySegmentKind, path: string, starts: Int32Array, ends: Int32Array, lo: number, hi: number, librarySupport: boolean): boolean {
  const n = hi - lo;
  if (n < 1) return false;
  if (kind === 'path') {
    // Werkzeug's PathConverter: `[^/].*?` — non-empty, first character not a slash.
    return (ends[lo] as number) > (starts[lo] as number);
  }
  const min = kind === 'apirepopath' || !librarySupport ? 2 : 1;
  if (n < min) return false;
  for (let i = lo; i < hi; i++) if ((ends[i] as number) === (starts[i] as number)) return false;
  const from = starts[lo] as number;
  const to = ends[hi - 1] as number;
  if (kind === 'repopathredirect') {
    for (const p of REDIRECT_RESERVED) {
      // `v2/` is reserved only when followed by more path: `/v2` alone is a repository name.
      if (from + p.length <= to && path.startsWith(p, from)) return false;
    }
  } else if (kind === 'v1createrepopath') {
    for (const s of V1_CREATE_REFUSED_SUFFIXES) if (to - s.length >= from && path.startsWith(s, to - s.length)) return false;
  }
  return true;
}

const PARAM_RE = /^\{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z0-9]+))?\}$/;
const ONE_KINDS = new Set<string>(ONE_SEGMENT_ORDER);
const MANY_KINDS = new Set<string>(MANY_SEGMENT_ORDER);

/** Parses a pattern into parts; throws SWB_ROUTE_BAD_PATTERN naming the route. */
export function parsePattern(pattern: string, routeId: string): PatternPart[] {
  if (!pattern.startsWith('/')) {
    throw new InventoryError('SWB_ROUTE_BAD_PATTERN', `${routeId}: pattern must start with "/": ${pattern}`);
  }
  const parts: PatternPart[] = [];
  let many = 0;
  for (const seg of pattern.slice(1).split('/')) {
    if (!seg.includes('{')) {
      parts.push({ type: 'static', value: seg });
      continue;
    }
    const m = PARAM_RE.exec(seg);
    if (!m) throw new InventoryError('SWB_ROUTE_BAD_PATTERN', `${routeId}: bad segment "${seg}" in ${pattern}`);
    const name = m[1] as string;
    const kind = m[2] ?? 'segment';
    if (ONE_KINDS.has(kind)) parts.push({ type: 'one', name, kind: kind as OneSegmentKind });
    else if (MANY_KINDS.has(kind)) {
      parts.push({ type: 'many', name, kind: kind as ManySegmentKind });
      many++;
    } else throw new InventoryError('SWB_ROUTE_BAD_PATTERN', `${routeId}: unknown converter kind "${kind}" in ${pattern}`);
  }
  if (many > 1) {
    throw new InventoryError('SWB_ROUTE_BAD_PATTERN', `${routeId}: at most one multi-segment parameter per pattern: ${pattern}`);
  }
  return parts;
}

/** The pattern with parameter names erased: two routes with the same shape and method are ambiguous. */
export function patternShape(parts: readonly PatternPart[]): string {
  return '/' + parts.map((p) => (p.type === 'static' ? p.value : `{:${p.kind}}`)).join('/');
}
