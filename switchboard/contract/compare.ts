/**
 * Comparing two owners' answers, Diffy's way. An answer is reduced to its
 * status, an allow-list of headers (hosts taken out of URLs, since the two
 * owners live at different addresses) and its body: parsed JSON, or the
 * SHA-256 and length of anything else (computed while streaming, never
 * buffered for comparison). Signed tokens in JSON are compared by their
 * claims (normalizeJwt). Differences are named by where they are:
 * `status`, `header:<name>`, `body` or a JSON path `body$.a.b[0]`.
 *
 * Noise: python answers twice; what differs between its own two answers
 * (a timestamp, a request id, an order Python does not fix) is noise, and
 * a difference of go's at the same place (or under it) is not a regression.
 */
import { createHash } from 'node:crypto';

export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: { readonly kind: 'json'; readonly value: unknown } | { readonly kind: 'bytes'; readonly sha256: string; readonly length: number };
}

export interface Difference {
  readonly where: string;
  readonly python: unknown;
  readonly go: unknown;
}

/** JSON deeper than this is compared by its bytes' digest (the comparison recurses; nothing here may overflow the stack). */
export const MAX_JSON_DEPTH = 64;

/** True when `v` nests deeper than `max` (checked without recursion). */
export function tooDeep(v: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d >= max) return true;
    for (const c of Array.isArray(x) ? x : Object.values(x)) stack.push([c, d + 1]);
  }
  return false;
}

const SECRET_KEY = /token|secret|password|passwd|credential|api_?key|private/i;

/**
 * `v` with the values of secret-looking keys (token, password, secret, …) replaced by their
 * length, and URLs without their query strings (signed storage URLs): what may be kept in
 * memory and shown to an operator.
 */
export function redact(v: unknown, key = ''): unknown {
  if (typeof v === 'string') {
    if (key && SECRET_KEY.test(key)) return `<redacted: ${v.length} characters>`;
    return /^https?:\/\/|^\//.test(v) ? v.replace(/\?.*$/s, (q) => (q.length > 1 ? '?<query redacted>' : q)) : v;
  }
  if (Array.isArray(v)) return v.map((x) => redact(x, key));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x, k)]));
  return v;
}

/** Headers compared; everything else (dates, request ids, server names, keep-alive) is not part of the contract. */
export const HEADER_ALLOW_LIST = [
  'content-type',
  'docker-content-digest',
  'docker-distribution-api-version',
  'www-authenticate',
  'location',
  'content-range',
  'accept-ranges',
  'link',
  'oci-subject',
] as const;

/** A header value with any absolute URL's scheme and host taken out (`realm="https://h/v2/auth"` → `realm="/v2/auth"`). */
export function normalizeHeader(name: string, value: string): string {
  const v = value.replace(/\bhttps?:\/\/[^/\s",>]+/g, '');
  return name === 'content-type' ? v.replace(/\s*;\s*/g, '; ').toLowerCase() : v;
}

export function pickHeaders(raw: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of HEADER_ALLOW_LIST) {
    const v = raw[h];
    if (v === undefined) continue;
    out[h] = normalizeHeader(h, Array.isArray(v) ? v.join(', ') : v);
  }
  return out;
}

function jsonDiff(a: unknown, b: unknown, path: string, out: Difference[]): void {
  if (a === b) return;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) {
      out.push({ where: `body${path}.length`, python: a.length, go: b.length });
    }
    for (let i = 0; i < Math.min(a.length, b.length); i++) jsonDiff(a[i], b[i], `${path}[${i}]`, out);
    return;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a as object);
    const kb = Object.keys(b as object);
    const before = out.length;
    for (const k of new Set([...ka, ...kb])) {
      const p = `${path}.${/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : JSON.stringify(k)}`;
      if (!Object.hasOwn(a as object, k)) out.push({ where: `body${p}`, python: undefined, go: (b as Record<string, unknown>)[k] });
      else if (!Object.hasOwn(b as object, k)) out.push({ where: `body${p}`, python: (a as Record<string, unknown>)[k], go: undefined });
      else jsonDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], p, out);
    }
    // Same keys, same values, another order: Quay's JSON key order is part of its answer.
    if (out.length === before && ka.join('\u0000') !== kb.join('\u0000') && ka.length === kb.length) out.push({ where: `body${path}(key order)`, python: ka, go: kb });
    return;
  }
  out.push({ where: `body${path}`, python: a, go: b });
}

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function b64json(part: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * A signed token (a registry JWT) as what it says rather than its bytes: each
 * owner signs with its own key (`kid`, signature) and in its own second
 * (`iat`, `nbf`): the header's algorithm and type, and the claims with the
 * lifetime (`exp` − `iat`) in place of the three times.
 */
export function normalizeJwt(v: string): unknown {
  if (!JWT.test(v)) return v;
  const [h, p] = v.split('.') as [string, string];
  const header = b64json(h);
  const claims = b64json(p);
  if (!header || !claims || typeof header.alg !== 'string') return v;
  const { iat, nbf, exp, ...rest } = claims;
  void nbf;
  return {
    jwt: { alg: header.alg, typ: header.typ ?? null },
    claims: { ...rest, lifetime_seconds: typeof exp === 'number' && typeof iat === 'number' ? exp - iat : (exp ?? null) },
  };
}

function normalizeValue(v: unknown): unknown {
  if (typeof v === 'string') return normalizeJwt(v);
  if (Array.isArray(v)) return v.map(normalizeValue);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalizeValue(x)]));
  return v;
}

/**
 * An answer's body as it streams: hashed (SHA-256 and length) whatever it is, and,
 * when it is JSON of at most `max` bytes, kept and parsed at the end (deeper than
 * MAX_JSON_DEPTH, or not JSON after all: its digest).
 */
export class BodyReader {
  private readonly hash = createHash('sha256');
  private length = 0;
  private readonly keep: Buffer[] = [];
  private readonly json: boolean;
  /** `headers`: the answer's, whose content-type says whether it is JSON. */
  constructor(
    headers: Readonly<Record<string, string | string[] | undefined>>,
    private readonly max: number,
  ) {
    this.json = /json/i.test(String(headers['content-type'] ?? ''));
  }
  add(c: Buffer | string): void {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    this.hash.update(b);
    this.length += b.length;
    if (this.json && this.length <= this.max) this.keep.push(b);
  }
  body(): Answer['body'] {
    if (this.json && this.length > 0 && this.length <= this.max) {
      try {
        const value: unknown = JSON.parse(Buffer.concat(this.keep).toString('utf8'));
        if (!tooDeep(value)) return { kind: 'json', value };
      } catch {
        /* not JSON after all: its digest */
      }
    }
    return { kind: 'bytes', sha256: this.hash.digest('hex'), length: this.length };
  }
}

/** Where `go`'s answer differs from `python`'s. */
export function differences(python: Answer, go: Answer): Difference[] {
  const out: Difference[] = [];
  if (python.status !== go.status) out.push({ where: 'status', python: python.status, go: go.status });
  for (const h of new Set([...Object.keys(python.headers), ...Object.keys(go.headers)])) {
    if (python.headers[h] !== go.headers[h]) out.push({ where: `header:${h}`, python: python.headers[h], go: go.headers[h] });
  }
  const pb = python.body;
  const gb = go.body;
  if (pb.kind === 'json' && gb.kind === 'json') {
    const d: Difference[] = [];
    jsonDiff(normalizeValue(pb.value), normalizeValue(gb.value), '$', d);
    out.push(...d);
  } else if (pb.kind !== gb.kind || (pb.kind === 'bytes' && gb.kind === 'bytes' && (pb.sha256 !== gb.sha256 || pb.length !== gb.length))) {
    const show = (b: Answer['body']): unknown => (b.kind === 'json' ? 'JSON' : { sha256: b.sha256, length: b.length });
    out.push({ where: 'body', python: show(pb), go: show(gb) });
  }
  return out;
}

/** True when `where` is a noisy place or under one (`body$.a` covers `body$.a.b`). */
export function isNoise(where: string, noisy: ReadonlySet<string>): boolean {
  if (noisy.has(where)) return true;
  for (const n of noisy) if (where.startsWith(n) && /^[.[(]/.test(where.slice(n.length))) return true;
  return false;
}

/** go's differences split into regressions and noise, given python's two answers. */
export function judge(python: Answer, python2: Answer, go: Answer): { regressions: Difference[]; noise: Difference[] } {
  const noisy = new Set(differences(python, python2).map((d) => d.where));
  const regressions: Difference[] = [];
  const noise: Difference[] = [];
  for (const d of differences(python, go)) (isNoise(d.where, noisy) ? noise : regressions).push(d);
  return { regressions, noise };
}

/** An answer as kept for operators: status, compared headers (URLs without queries), the body's digest or JSON length. */
export interface AnswerSummary {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: { readonly kind: string; readonly sha256?: string; readonly length?: number };
}

/** An answer as kept: status, compared headers (URLs without queries), body digest and length. */
export function summary(a: Answer): AnswerSummary {
  const body = a.body.kind === 'bytes' ? { kind: 'bytes', sha256: a.body.sha256, length: a.body.length } : { kind: 'json', length: JSON.stringify(a.body.value).length };
  return { status: a.status, headers: redact(a.headers) as Record<string, string>, body };
}

/** A shadow comparison that differed, as kept (proxy/shadow.ts) and shown (the dashboard, the control API). */
export interface ShadowDiff {
  readonly at: string;
  readonly method: string;
  readonly path: string;
  readonly route_id: string | null;
  readonly owner: 'python' | 'go';
  readonly shadow_owner: 'python' | 'go';
  readonly differences: readonly Difference[];
  readonly answers: { readonly owner: AnswerSummary; readonly shadow: AnswerSummary | { readonly failure: string } };
}
