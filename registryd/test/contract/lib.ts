/**
 * Contract-test machinery: run one request sequence against registryd and
 * against CNCF Distribution 2.8 (Debian's `docker-registry`, the oracle of
 * DESIGN §7), reduce every response to a small set of normalised fields, and
 * compare the two sides field by field. Differences are then checked against
 * the expectation table (expectations.ts): every difference must be listed,
 * and every listed difference must still occur.
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { Reply, RequestOptions } from '../../../test/lib/proc.js';

export type Side = 'registryd' | 'distribution';

/** A whole response, or as much of it as came before the server closed the connection. */
export interface Response extends Reply {
  /** The body ended before its declared Content-Length (the server closed the connection). */
  readonly truncated: boolean;
}

/** One registry under test. */
export interface Target {
  readonly side: Side;
  readonly port: number;
}

/**
 * One HTTP/1.1 request on a fresh connection. Unlike test/lib/proc.ts
 * `request`, a response whose body stops short of its Content-Length is
 * returned (marked `truncated`), not turned into an error: Distribution
 * answers an unsatisfiable Range with `Content-Length: <blob size>`, a
 * short text body and a closed connection, and that is behaviour to compare.
 */
export function send(port: number, o: RequestOptions): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: o.host ?? '127.0.0.1', port, method: o.method ?? 'GET', path: o.path, headers: o.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let done = false;
      const finish = (truncated: boolean): void => {
        if (done) return;
        done = true;
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0, headers: res.headers, body, truncated,
          text: () => body.toString('utf8'),
          json: () => JSON.parse(body.toString('utf8')),
          header: (n) => { const v = res.headers[n.toLowerCase()]; return Array.isArray(v) ? v.join(', ') : v ?? ''; },
        });
      };
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish(false));
      res.on('aborted', () => finish(true));
      res.on('error', () => finish(true));
      res.on('close', () => finish(!res.complete));
    });
    req.setTimeout(o.timeoutMs ?? 30_000, () => req.destroy(new Error(`${o.method ?? 'GET'} ${o.path} on port ${port}: no response within ${o.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

/** How a step's response body is compared (it always is for error codes). */
export type BodyMode =
  /** Not compared (only the `errors[].code`s of an error body are). */
  | 'none'
  /** Size and sha256 of the bytes (blobs, manifests: byte-exact). */
  | 'bytes'
  /** The JSON value with object keys sorted. */
  | 'json'
  /** A tag list: `name` and the tags, sorted (registries need not sort them). */
  | 'tags';

export interface Step extends RequestOptions {
  body?: string | Buffer;
  compare?: BodyMode;
  /** A setup step (pushing what the sequence is about): it must succeed (2xx) on both registries or the comparison means nothing. */
  setup?: boolean;
}

/** The normalised fields of one response; a field missing from the record is absent in the response. */
export type Observation = Record<string, string>;

/** Headers compared on every response, and how each is normalised. */
export const COMPARED_HEADERS = [
  'docker-content-digest', 'location', 'content-length', 'content-type', 'range', 'content-range', 'accept-ranges',
  'cache-control', 'docker-upload-uuid', 'link', 'oci-subject', 'oci-filters-applied', 'docker-distribution-api-version',
] as const;

export const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** A URL or path reduced to its path, with upload uuids replaced by `<uuid>` (the query, `_state` included, is dropped). */
export function normalisePath(v: string): string {
  let path = v.replace(/^[a-z]+:\/\/[^/]*/i, '');
  const q = path.indexOf('?');
  if (q >= 0) path = path.slice(0, q);
  return path.replace(UUID_RE, '<uuid>');
}

/** `<url>; rel="next"` with the host dropped and the query parameters sorted (their order carries no meaning). */
export function normaliseLink(v: string): string {
  return v.replace(/<([^>]*)>/g, (_all, url: string) => {
    const u = new URL(url, 'http://x');
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
      return Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort((x as Record<string, unknown>)[k])]));
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
    return [...new Set(((doc as { errors: { code?: unknown }[] }).errors).map((e) => String(e.code)))].join(',');
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
      case 'location': o[h] = normalisePath(raw); break;
      case 'link': o[h] = normaliseLink(raw); break;
      // Its value is the registry's own session id: only whether it is there matters.
      case 'docker-upload-uuid': o[h] = raw === '' ? '(empty)' : 'present'; break;
      case 'content-length': o[h] = contentLength(method, res, mode, raw); break;
      // Only multipart bodies carry a parameter that differs per response (the boundary).
      case 'content-type': o[h] = raw.replace(/;\s*boundary=\S+/, '; boundary=<boundary>'); break;
      default: o[h] = raw;
    }
  }
  if (res.truncated) o.body = `(connection closed before the ${res.header('content-length') || '?'} declared bytes)`;
  else if (method !== 'HEAD' && res.body.length === 0) o.body = '(empty)';
  else if (method !== 'HEAD' && codes === null && res.status < 300 && mode !== 'none') {
    switch (mode) {
      case 'bytes': {
        // A multipart/byteranges body embeds its random boundary: compare it with the boundary replaced.
        const boundary = /;\s*boundary=([^\s;]+)/.exec(res.header('content-type'))?.[1];
        o.body = bytesSummary(boundary ? Buffer.from(res.body.toString('latin1').split(boundary).join('<boundary>'), 'latin1') : res.body);
        break;
      }
      case 'json': o.body = canonicalJson(parseJson(res.body)); break;
      case 'tags': {
        const doc = parseJson(res.body) as { name?: unknown; tags?: unknown };
        const tags = Array.isArray(doc?.tags) ? [...(doc.tags as string[])].sort() : doc?.tags;
        o.body = canonicalJson({ name: doc?.name, tags });
        break;
      }
    }
  }
  return o;
}

function parseJson(b: Buffer): unknown {
  try { return JSON.parse(b.toString('utf8')); } catch { return `(not JSON) ${b.toString('utf8').slice(0, 200)}`; }
}

/**
 * One run of a sequence against one target: every step's response is
 * recorded under its label. The sequence code is the same for both targets;
 * it may follow what a response says (a Location), never which target it is.
 */
export class Session {
  readonly observations = new Map<string, Observation>();
  /** Request and raw response of each step, for failure messages. */
  readonly transcript: string[] = [];
  /** Setup steps that did not succeed. */
  readonly setupFailures: string[] = [];

  constructor(readonly target: Target, readonly seq: string) {}

  async step(label: string, o: Step): Promise<Response> {
    if (this.observations.has(label)) throw new Error(`sequence ${this.seq}: step label ${label} used twice`);
    const method = o.method ?? 'GET';
    const res = await send(this.target.port, o);
    this.observations.set(label, observe(method, res, o.compare ?? 'none'));
    this.transcript.push(`${label}: ${method} ${o.path} -> ${res.status} ${JSON.stringify(res.headers)} ${res.body.subarray(0, 300).toString('utf8')}`);
    if (o.setup && (res.status < 200 || res.status > 299)) this.setupFailures.push(`${label}: ${method} ${o.path} -> ${res.status} ${res.text().slice(0, 300)}`);
    return res;
  }

  /**
   * Where an upload continues: the upload Location of `res` as path and
   * query (the query carries Distribution's signed `_state`, which must
   * follow the upload's offset), or `current` when the response names no
   * upload session (a refusal, a commit), so the sequence can go on.
   */
  uploadUrl(res: Reply, current: string): string {
    const loc = res.header('location');
    if (!loc || !loc.includes('/blobs/uploads/')) return current;
    return loc.replace(/^[a-z]+:\/\/[^/]*/i, '');
  }
}

/** A named request sequence (registry state must not leak between sequences: use the repositories `repo()` names). */
export interface Sequence {
  readonly id: string;
  readonly title: string;
  /** Run on a registry pair of its own (sequences that see global state: the catalog). */
  readonly isolated?: boolean;
  run(s: Session, repo: (suffix?: string) => string): Promise<void>;
}

/** A field whose normalised values differ (null: absent on that side). */
export interface FieldDiff {
  readonly field: string;
  readonly registryd: string | null;
  readonly distribution: string | null;
}

export interface StepDiff {
  readonly seq: string;
  readonly step: string;
  /** The step's status on each side: [registryd, distribution]. */
  readonly statuses: readonly [string, string];
  readonly fields: FieldDiff[];
}

/** Field-by-field differences of two runs of one sequence (steps in the order they ran). */
export function diffRuns(seq: string, a: Session, b: Session): StepDiff[] {
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
      if (vx !== vy) fields.push({ field: k, registryd: vx, distribution: vy });
    }
    if (fields.length > 0) out.push({ seq, step: label, statuses: [x.status ?? '', y.status ?? ''], fields });
  }
  return out;
}

// ---------------------------------------------------------------- expectations

export type Category = 'oracle-deviation' | 'quay-quirk' | 'deliberate' | 'bug';
export const CATEGORIES: readonly Category[] = ['oracle-deviation', 'quay-quirk', 'deliberate', 'bug'];

/** Both sides' values of one field: [registryd, distribution]; null = absent. */
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
  readonly test: (registryd: string | null, distribution: string | null) => boolean;
  readonly category: Category;
  readonly reason: string;
}

/** A rule test for exactly these two values. */
export const exactly = (r: string | null, d: string | null) => (x: string | null, y: string | null): boolean => x === r && y === d;

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

const samePair = (f: FieldDiff, p: Pair): boolean => f.registryd === p[0] && f.distribution === p[1];

export const showValue = (v: string | null): string => (v === null ? '(absent)' : JSON.stringify(v));

export function describeDiff(d: StepDiff): string {
  return `${d.seq} / ${d.step}:\n` + d.fields.map((f) => `    ${f.field}: registryd ${showValue(f.registryd)}  vs  distribution ${showValue(f.distribution)}`).join('\n');
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
      const rule = rules.find((r) => r.field === f.field && (r.status === undefined || (d.statuses[0] === r.status && d.statuses[1] === r.status)) && r.test(f.registryd, f.distribution));
      if (rule) { usedRules.add(rule); cats.add(rule.category); fieldCounts[rule.category]++; } else rest.push(f);
    }
    if (rest.length === 0) continue;
    const e = byStep.get(keyOf(d.seq, d.step));
    const exact = e !== undefined
      && Object.keys(e.fields).length === rest.length
      && rest.every((f) => { const p = e.fields[f.field]; return p !== undefined && samePair(f, p); });
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
  const fields = d.fields.map((f) => `${JSON.stringify(f.field)}: [${JSON.stringify(f.registryd)}, ${JSON.stringify(f.distribution)}]`).join(', ');
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
