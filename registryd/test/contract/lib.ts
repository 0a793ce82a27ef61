/**
 * Contract-test machinery: reduce every response of a request sequence
 * (session.ts runs it) to a small set of normalised fields, compare the runs
 * on our side and on an oracle field by field, and check the differences
 * against an expectation table: every difference must be listed, and every
 * listed difference must still occur.
 *
 * Two oracles: CNCF Distribution 2.8 (Debian's `docker-registry`, the oracle
 * of DESIGN §7, against registryd in process; expectations.ts) and the real
 * Python Quay (against the TS runtime `quay serve` on the same database and
 * storage; expectations-quay.ts). A difference is always a pair of values,
 * [ours, oracle].
 */
import { createHash } from 'node:crypto';
import type { Response } from './session.js';

/** How a step's response body is compared (it always is for error codes). */
export type BodyMode =
  /** Not compared (only the `errors[].code`s of an error body are). */
  | 'none'
  /** Size and sha256 of the bytes (blobs, manifests: byte-exact). */
  | 'bytes'
  /** The JSON value with object keys sorted. */
  | 'json'
  /** A tag list: `name` and the tags, sorted (registries need not sort them). */
  | 'tags'
  /**
   * A token endpoint's answer: its field names, and the token's JWT header
   * and claims without what differs per issue (signing key id, issue and
   * expiry times — their difference, the lifetime, is kept).
   */
  | 'token'
  /** An error answer's whole body: the JSON value (codes, messages, details), or the text. */
  | 'error';

/** The normalised fields of one response; a field missing from the record is absent in the response. */
export type Observation = Record<string, string>;

/** Headers compared on every response, and how each is normalised. */
export const COMPARED_HEADERS = [
  'docker-content-digest',
  'location',
  'content-length',
  'content-type',
  'range',
  'content-range',
  'accept-ranges',
  'cache-control',
  'docker-upload-uuid',
  'link',
  'oci-subject',
  'oci-filters-applied',
  'docker-distribution-api-version',
  'www-authenticate',
] as const;

export const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** A URL or path reduced to its path, with upload uuids replaced by `<uuid>` (the query, `_state` included, is dropped). */
export function normalisePath(v: string): string {
  let path = v.replace(/^[a-z]+:\/\/[^/]*/i, '');
  const q = path.indexOf('?');
  if (q >= 0) path = path.slice(0, q);
  return path.replace(UUID_RE, '<uuid>');
}

/**
 * `<url>; rel="next"` with the host dropped and the query parameters sorted
 * (their order carries no meaning); an opaque page token (Quay's catalog
 * `next_page`, encrypted with a fresh IV and time on every issue) becomes
 * `<page token>`: that there is one, and its name, are still compared.
 */
export function normaliseLink(v: string): string {
  return v.replace(/<([^>]*)>/g, (_all, url: string) => {
    const u = new URL(url, 'http://x');
    if (u.searchParams.has('next_page')) u.searchParams.set('next_page', '<page token>');
    const params = [...u.searchParams.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const qs = params.map(([k, val]) => `${k}=${val}`).join('&');
    return `<${u.pathname}${qs ? `?${qs}` : ''}>`;
  });
}

/** Object keys sorted recursively, so that two JSON documents compare by value. */
export function canonicalJson(v: unknown): string {
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (x !== null && typeof x === 'object') {
      return Object.fromEntries(
        Object.keys(x)
          .sort()
          .map((k) => [k, sort((x as Record<string, unknown>)[k])]),
      );
    }
    return x;
  };
  return JSON.stringify(sort(v));
}

/**
 * The distinct `code`s of a `{"errors":[...]}` body in order, comma-joined;
 * null when the body is not one. (How many errors a registry lists — one per
 * missing blob, or the first — is not part of the contract.)
 */
export function errorCodes(body: Buffer): string | null {
  if (body.length === 0) return null;
  try {
    const doc = JSON.parse(body.toString('utf8')) as unknown;
    if (doc === null || typeof doc !== 'object' || !Array.isArray((doc as { errors?: unknown }).errors)) return null;
    return [...new Set((doc as { errors: { code?: unknown }[] }).errors.map((e) => String(e.code)))].join(',');
  } catch {
    return null;
  }
}

export const bytesSummary = (b: Buffer): string => `${b.length} bytes sha256:${createHash('sha256').update(b).digest('hex')}`;

/**
 * Content-Length, normalised: exact for bodies compared byte for byte, empty
 * bodies and successful HEADs; for JSON and error bodies (whose length is a
 * matter of formatting and message prose) only whether it frames the body.
 */
function contentLength(method: string, res: Response, mode: BodyMode, raw: string): string {
  if (method === 'HEAD') return res.status >= 400 && raw !== '0' ? '(error body)' : raw;
  if (res.truncated || res.body.length === 0 || (mode === 'bytes' && res.status < 300)) return raw;
  return Number(raw) === res.body.length ? '(body length)' : `${raw} (body has ${res.body.length})`;
}

/** Reduce a response to the fields the contract compares. */
export function observe(method: string, res: Response, mode: BodyMode): Observation {
  const o: Observation = { status: String(res.status) };
  const codes = errorCodes(res.body);
  if (codes !== null) o.codes = codes;
  for (const h of COMPARED_HEADERS) {
    const raw = res.header(h);
    if (raw === '' && res.headers[h] === undefined) continue;
    switch (h) {
      case 'location':
        o[h] = normalisePath(raw);
        break;
      case 'link':
        o[h] = normaliseLink(raw);
        break;
      // Its value is the registry's own session id: only whether it is there matters.
      case 'docker-upload-uuid':
        o[h] = raw === '' ? '(empty)' : 'present';
        break;
      case 'content-length':
        o[h] = contentLength(method, res, mode, raw);
        break;
      // Only multipart bodies carry a parameter that differs per response (the boundary).
      case 'content-type':
        o[h] = raw.replace(/;\s*boundary=\S+/, '; boundary=<boundary>');
        break;
      default:
        o[h] = raw;
    }
  }
  if (res.truncated) o.body = `(connection closed before the ${res.header('content-length') || '?'} declared bytes)`;
  else if (method !== 'HEAD' && res.body.length === 0) o.body = '(empty)';
  else if (method !== 'HEAD' && mode === 'error' && res.status >= 400) {
    const text = res.body.toString('utf8');
    o.body = text.trimStart().startsWith('{') ? canonicalJson(parseJson(res.body)) : `(text) ${text.slice(0, 200)}`;
  } else if (method !== 'HEAD' && codes === null && res.status < 300 && mode !== 'none') {
    switch (mode) {
      case 'bytes': {
        // A multipart/byteranges body embeds its random boundary: compare it with the boundary replaced.
        const boundary = /;\s*boundary=([^\s;]+)/.exec(res.header('content-type'))?.[1];
        o.body = bytesSummary(boundary ? Buffer.from(res.body.toString('latin1').split(boundary).join('<boundary>'), 'latin1') : res.body);
        break;
      }
      case 'json':
        o.body = canonicalJson(parseJson(res.body));
        break;
      case 'tags': {
        const doc = parseJson(res.body) as { name?: unknown; tags?: unknown };
        const tags = Array.isArray(doc?.tags) ? [...(doc.tags as string[])].sort() : doc?.tags;
        o.body = canonicalJson({ name: doc?.name, tags });
        break;
      }
      case 'token':
        o.body = tokenSummary(res.body);
        break;
    }
  }
  return o;
}

function parseJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    return `(not JSON) ${b.toString('utf8').slice(0, 200)}`;
  }
}

/** Claims that differ on every issue; `lifetime` (exp − iat) stands for them. */
const PER_ISSUE_CLAIMS = new Set(['iat', 'nbf', 'exp', 'jti']);

/** See BodyMode `token`. */
export function tokenSummary(b: Buffer): string {
  const doc = parseJson(b);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return canonicalJson(doc);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    out[k] = (k === 'token' || k === 'access_token') && typeof v === 'string' ? jwtSummary(v) : k === 'issued_at' ? '<time>' : v;
  }
  return canonicalJson(out);
}

function jwtSummary(jwt: string): unknown {
  const [h, p] = jwt.split('.');
  try {
    const header = JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    const kept = Object.fromEntries(Object.entries(claims).filter(([k]) => !PER_ISSUE_CLAIMS.has(k)));
    const lifetime = typeof claims.exp === 'number' && typeof claims.iat === 'number' ? claims.exp - claims.iat : null;
    const { kid: _kid, ...headerKept } = header;
    return { header: headerKept, claims: kept, lifetime, nbfIsIat: claims.nbf === claims.iat };
  } catch {
    return '(not a JWT)';
  }
}

/** A field whose normalised values differ (null: absent on that side). */
export interface FieldDiff {
  readonly field: string;
  readonly ours: string | null;
  readonly oracle: string | null;
}

export interface StepDiff {
  readonly seq: string;
  readonly step: string;
  /** The step's status on each side: [ours, oracle]. */
  readonly statuses: readonly [string, string];
  readonly fields: FieldDiff[];
}

/** What diffRuns needs of a run. */
export interface Run {
  readonly observations: ReadonlyMap<string, Observation>;
}

/** Field-by-field differences of two runs of one sequence, ours and the oracle's (steps in the order they ran). */
export function diffRuns(seq: string, a: Run, b: Run): StepDiff[] {
  const out: StepDiff[] = [];
  const labels = [...a.observations.keys()];
  for (const l of b.observations.keys()) if (!labels.includes(l)) labels.push(l);
  for (const label of labels) {
    const x = a.observations.get(label) ?? { status: '(step not run)' };
    const y = b.observations.get(label) ?? { status: '(step not run)' };
    const fields: FieldDiff[] = [];
    const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
    for (const k of keys) {
      const vx = x[k] ?? null;
      const vy = y[k] ?? null;
      if (vx !== vy) fields.push({ field: k, ours: vx, oracle: vy });
    }
    if (fields.length > 0) out.push({ seq, step: label, statuses: [x.status ?? '', y.status ?? ''], fields });
  }
  return out;
}

// ---------------------------------------------------------------- expectations

/**
 * Why a difference is there. Against Distribution: `oracle-deviation`,
 * `quay-quirk`, `deliberate`, `bug` (expectations.ts explains them). Against
 * Quay, whose behaviour is the specification: `deliberate`, `bug`, and
 * `tier` — a consequence of two implementations sharing one database, not
 * of what either answers alone (expectations-quay.ts).
 */
export type Category = 'oracle-deviation' | 'quay-quirk' | 'deliberate' | 'bug' | 'tier';
export const CATEGORIES: readonly Category[] = ['oracle-deviation', 'quay-quirk', 'deliberate', 'bug', 'tier'];

/** The categories a difference from real Quay may have. */
export const QUAY_CATEGORIES: readonly Category[] = ['deliberate', 'bug', 'tier'];

/** Both sides' values of one field: [ours, oracle]; null = absent. */
export type Pair = readonly [string | null, string | null];

/** A known difference at one step of one sequence: exactly these fields differ, with exactly these values. */
export interface StepExpectation {
  readonly seq: string;
  readonly step: string;
  readonly fields: Readonly<Record<string, Pair>>;
  readonly category: Category;
  /** Why; cites the OCI spec / DESIGN §7 (oracle-deviation), docs/quay-v2-behaviour.md (quay-quirk) or the reason (deliberate, bug). */
  readonly reason: string;
}

/**
 * A difference that recurs wherever a kind of response occurs (e.g. the
 * Content-Type of every JSON error): this field, with values that pass
 * `test`, is expected in any step where both sides answered `status` (when
 * given). Each rule must still apply somewhere.
 */
export interface RuleExpectation {
  readonly rule: string;
  readonly field: string;
  readonly status?: string;
  readonly test: (ours: string | null, oracle: string | null) => boolean;
  readonly category: Category;
  readonly reason: string;
}

/** A rule test for exactly these two values. */
export const exactly =
  (ours: string | null, oracle: string | null) =>
  (x: string | null, y: string | null): boolean =>
    x === ours && y === oracle;

export interface Verdict {
  /** Differences no expectation explains. */
  readonly unlisted: StepDiff[];
  /** Step expectations whose difference did not occur (exactly). */
  readonly stale: StepExpectation[];
  /** Rules that explained at least one difference. */
  readonly usedRules: Set<RuleExpectation>;
  /** Per sequence: the categories that explained its differences (empty: matched exactly). */
  readonly perSequence: Map<string, Set<Category>>;
  /** Per sequence: the categories of the step expectations alone (empty: equal but for recurring rules). */
  readonly perSequenceSteps: Map<string, Set<Category>>;
  /** How many field differences each category explained. */
  readonly fieldCounts: Record<Category, number>;
}

const samePair = (f: FieldDiff, p: Pair): boolean => f.ours === p[0] && f.oracle === p[1];

export const showValue = (v: string | null): string => (v === null ? '(absent)' : JSON.stringify(v));

/** `names`: what to call the two sides, [ours, oracle]. */
export function describeDiff(d: StepDiff, names: readonly [string, string] = ['registryd', 'distribution']): string {
  return `${d.seq} / ${d.step}:\n` + d.fields.map((f) => `    ${f.field}: ${names[0]} ${showValue(f.ours)}  vs  ${names[1]} ${showValue(f.oracle)}`).join('\n');
}

/** Check the differences of all sequences (`seqs`: every sequence id that ran) against the table. */
export function judge(seqs: readonly string[], diffs: readonly StepDiff[], steps: readonly StepExpectation[], rules: readonly RuleExpectation[]): Verdict {
  const perSequence = new Map<string, Set<Category>>(seqs.map((s) => [s, new Set<Category>()]));
  const perSequenceSteps = new Map<string, Set<Category>>(seqs.map((s) => [s, new Set<Category>()]));
  const fieldCounts = Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>;
  const usedRules = new Set<RuleExpectation>();
  const usedSteps = new Set<StepExpectation>();
  const unlisted: StepDiff[] = [];
  const keyOf = (seq: string, step: string): string => `${seq}\u0000${step}`;
  const byStep = new Map<string, StepExpectation>();
  for (const e of steps) {
    const k = keyOf(e.seq, e.step);
    if (byStep.has(k)) throw new Error(`expectation table lists ${e.seq} / ${e.step} twice`);
    byStep.set(k, e);
  }
  for (const d of diffs) {
    const cats = perSequence.get(d.seq) ?? new Set<Category>();
    perSequence.set(d.seq, cats);
    const stepCats = perSequenceSteps.get(d.seq) ?? new Set<Category>();
    perSequenceSteps.set(d.seq, stepCats);
    // Recurring differences first, then the step's own entry must account for exactly the rest.
    const rest: FieldDiff[] = [];
    for (const f of d.fields) {
      const rule = rules.find((r) => r.field === f.field && (r.status === undefined || (d.statuses[0] === r.status && d.statuses[1] === r.status)) && r.test(f.ours, f.oracle));
      if (rule) {
        usedRules.add(rule);
        cats.add(rule.category);
        fieldCounts[rule.category]++;
      } else rest.push(f);
    }
    if (rest.length === 0) continue;
    const e = byStep.get(keyOf(d.seq, d.step));
    const exact =
      e !== undefined &&
      Object.keys(e.fields).length === rest.length &&
      rest.every((f) => {
        const p = e.fields[f.field];
        return p !== undefined && samePair(f, p);
      });
    if (exact) {
      usedSteps.add(e);
      cats.add(e.category);
      stepCats.add(e.category);
      fieldCounts[e.category] += rest.length;
    } else {
      unlisted.push({ seq: d.seq, step: d.step, statuses: d.statuses, fields: rest });
    }
  }
  return {
    unlisted,
    stale: steps.filter((e) => !usedSteps.has(e)),
    usedRules,
    perSequence,
    perSequenceSteps,
    fieldCounts,
  };
}

/** A StepDiff as a table entry (printed for unlisted differences, to be given a category and a reason). */
export function asTableEntry(d: StepDiff): string {
  const fields = d.fields.map((f) => `${JSON.stringify(f.field)}: [${JSON.stringify(f.ours)}, ${JSON.stringify(f.oracle)}]`).join(', ');
  return `  { seq: ${JSON.stringify(d.seq)}, step: ${JSON.stringify(d.step)}, fields: { ${fields} }, category: 'TODO', reason: 'TODO' },`;
}

// ---------------------------------------------------------------- test data

/** Deterministic bytes (the same on both sides of a comparison). */
export function bytes(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  let block = createHash('sha256').update(seed).digest();
  for (let off = 0; off < n; off += block.length) {
    block.copy(out, off, 0, Math.min(block.length, n - off));
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

export const sha256 = (b: Buffer | string): string => 'sha256:' + createHash('sha256').update(b).digest('hex');
