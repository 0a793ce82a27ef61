/**
 * `switchboard contract run CAP`: every sequence of the capability, as every
 * configured identity, against python twice and go once, straight to their
 * upstreams (SWITCHBOARD.UPSTREAMS), compared (compare.ts). /v2 requests that
 * answer 401 with a Bearer challenge get a token from the owner that asked,
 * with the identity's credentials, as a registry client does.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { request } from 'undici';
import YAML from 'yaml';
import { z } from 'zod';
import { SwitchboardError } from '../errors.js';
import { BodyReader, judge, pickHeaders, type Answer, type Difference } from './compare.js';
import { substitute, type Sequence } from './sequence.js';

export interface Identity {
  readonly name: string;
  readonly basic?: { readonly username: string; readonly password: string };
  readonly bearer?: string;
}

const identitySchema = z.strictObject({
  username: z.string().min(1).optional(),
  password: z.string().optional(),
  password_env: z.string().min(1).optional(),
  password_file: z.string().min(1).optional(),
  bearer: z.string().optional(),
  bearer_env: z.string().min(1).optional(),
  bearer_file: z.string().min(1).optional(),
});

/**
 * The identities file (SWITCHBOARD.CONTRACT.IDENTITIES_FILE), YAML: name →
 * {} (anonymous), {username, password | password_env | password_file}, or
 * {bearer | bearer_env | bearer_file} (an OAuth token for /api/v1).
 */
export function readIdentities(file: string, env: Readonly<Record<string, string | undefined>>): Identity[] {
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SwitchboardError('SWB_CONFIG_UNREADABLE', `contract identities ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message.split('\n')[0]}`);
  }
  const r = z.record(z.string().min(1), identitySchema.nullable()).safeParse(raw ?? {});
  if (!r.success) throw new SwitchboardError('SWB_CONFIG_BAD_VALUE', `contract identities ${file}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const secret = (name: string, inline: string | undefined, envName: string | undefined, fileName: string | undefined, what: string): string | undefined => {
    if (inline !== undefined) return inline;
    if (envName !== undefined) {
      const v = env[envName];
      if (v === undefined) throw new SwitchboardError('SWB_CONFIG_BAD_VALUE', `contract identity ${name}: ${envName} (its ${what}) is not set`);
      return v;
    }
    if (fileName !== undefined) return readFileSync(resolve(dirname(file), fileName), 'utf8').trim();
    return undefined;
  };
  return Object.entries(r.data).map(([name, v]) => {
    const i = v ?? {};
    const password = secret(name, i.password, i.password_env, i.password_file, 'password');
    const bearer = secret(name, i.bearer, i.bearer_env, i.bearer_file, 'token');
    if (i.username !== undefined && password === undefined) throw new SwitchboardError('SWB_CONFIG_BAD_VALUE', `contract identity ${name}: a username needs a password`);
    return { name, ...(i.username !== undefined ? { basic: { username: i.username, password: password! } } : {}), ...(bearer !== undefined ? { bearer } : {}) };
  });
}

const JSON_LIMIT = 8 * 1024 * 1024;

/** One request to one owner: the answer, reduced as compare.ts wants it (bodies hashed while read). */
async function fetchAnswer(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<{ answer: Answer; raw: Record<string, string | string[] | undefined>; json: unknown }> {
  // Origin + path, never `new URL(path, base)`: a path like //other.example must not leave the owner with the identity's token.
  if (!path.startsWith('/') || path.startsWith('//')) throw new Error(`not a request path: ${path.slice(0, 80)}`);
  const r = await request(new URL(base).origin + path, { method: method as 'GET', headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const reader = new BodyReader(r.headers, JSON_LIMIT);
  for await (const chunk of r.body as AsyncIterable<Buffer>) reader.add(chunk);
  const body = reader.body();
  return { answer: { status: r.statusCode, headers: pickHeaders(r.headers), body }, raw: r.headers, json: body.kind === 'json' ? body.value : undefined };
}

/** The parameters of a `Bearer realm=…,service=…,scope=…` challenge. */
function challenge(h: string | string[] | undefined): Record<string, string> | null {
  const v = Array.isArray(h) ? h[0] : h;
  if (!v || !/^bearer\s/i.test(v)) return null;
  const out: Record<string, string> = {};
  for (const m of v.matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!.toLowerCase()] = m[2]!;
  return out.realm ? out : null;
}

export interface Owners {
  readonly python: string;
  readonly go: string;
}

/** Sends requests as one identity to one owner, getting registry tokens when challenged (cached per scope). */
class Client {
  private readonly tokens = new Map<string, string>();
  constructor(
    private readonly base: string,
    private readonly id: Identity,
    private readonly timeoutMs: number,
  ) {}

  /** A bearer identity's token on every request; Basic credentials only where a registry client sends them (the token endpoint). */
  private auth(path: string): Record<string, string> {
    if (this.id.bearer !== undefined) return { authorization: `Bearer ${this.id.bearer}` };
    if (this.id.basic && /^\/v2\/auth(\?|$)/.test(path)) return { authorization: `Basic ${Buffer.from(`${this.id.basic.username}:${this.id.basic.password}`).toString('base64')}` };
    return {};
  }

  async send(
    method: string,
    path: string,
    headers: Record<string, string>,
  ): Promise<{ answer: Answer; raw: Record<string, string | string[] | undefined>; json: unknown; requests: number }> {
    const scopeKey = path.split('/').slice(0, 4).join('/');
    const cached = this.tokens.get(scopeKey);
    const first = await fetchAnswer(this.base, method, path, { ...headers, ...(cached ? { authorization: `Bearer ${cached}` } : this.auth(path)) }, this.timeoutMs);
    const c = first.answer.status === 401 && this.id.bearer === undefined ? challenge(first.raw['www-authenticate']) : null;
    if (!c) return { ...first, requests: 1 };
    const realm = new URL(c.realm!, this.base);
    const q = new URLSearchParams();
    if (c.service) q.set('service', c.service);
    if (c.scope) q.set('scope', c.scope);
    const basic: Record<string, string> = this.id.basic ? { authorization: `Basic ${Buffer.from(`${this.id.basic.username}:${this.id.basic.password}`).toString('base64')}` } : {};
    const t = await fetchAnswer(this.base, 'GET', `${realm.pathname}?${q}`, { ...(headers.host ? { host: headers.host } : {}), ...basic }, this.timeoutMs);
    const body = t.json as { token?: string; access_token?: string } | undefined;
    const token = body?.token ?? body?.access_token;
    if (t.answer.status !== 200 || !token) return { ...first, requests: 2 };
    this.tokens.set(scopeKey, token);
    const again = await fetchAnswer(this.base, method, path, { ...headers, authorization: `Bearer ${token}` }, this.timeoutMs);
    return { ...again, requests: 3 };
  }
}

function capture(json: unknown, raw: Record<string, string | string[] | undefined>, spec: { header: string } | { json: string }): string | undefined {
  if ('header' in spec) {
    const v = raw[spec.header.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  }
  let cur: unknown = json;
  for (const part of spec.json.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = /^\d+$/.test(part) && Array.isArray(cur) ? cur[Number(part)] : (cur as Record<string, unknown>)[part];
  }
  return typeof cur === 'string' || typeof cur === 'number' ? String(cur) : undefined;
}

/** An owner that could not be asked (refused, reset, timed out) answers status 0 with the failure as its body: a difference, never a crash. */
async function sendOrFail(c: Client, method: string, path: string, headers: Record<string, string>): Promise<Awaited<ReturnType<Client['send']>>> {
  try {
    return await c.send(method, path, headers);
  } catch (e) {
    const failure = { failure: (e as { code?: string }).code ?? (e as Error).name, message: (e as Error).message };
    return { answer: { status: 0, headers: {}, body: { kind: 'json', value: failure } }, raw: {}, json: failure, requests: 1 };
  }
}

export interface StepResult {
  readonly sequence: string;
  readonly identity: string;
  readonly method: string;
  readonly path: string;
  readonly status: { readonly python: number; readonly go: number };
  readonly regressions: readonly Difference[];
  readonly noise: readonly Difference[];
}

export interface ContractResult {
  readonly capability: string;
  readonly at: number;
  readonly passed: boolean;
  readonly sequences: number;
  readonly requests: number;
  readonly differences: number;
  readonly noise: number;
  readonly skipped: readonly { readonly sequence: string; readonly identity: string; readonly missing: readonly string[] }[];
  /** Steps with a regression or noise (at most 50), for the report. */
  readonly findings: readonly StepResult[];
  readonly identities: readonly string[];
  readonly owners: Owners;
}

export interface RunOptions {
  readonly capability: string;
  readonly sequences: readonly Sequence[];
  readonly identities: readonly Identity[];
  readonly vars: Readonly<Record<string, string>>;
  /** Where the owners are asked (may carry credentials). */
  readonly upstreams: Owners;
  /** How the result names them (redacted). */
  readonly owners: Owners;
  readonly timeoutMs: number;
  /** The Host header for both owners (SWITCHBOARD.CONTRACT.HOST). */
  readonly host?: string;
  readonly now?: () => number;
  readonly progress?: (line: string) => void;
}

export async function runContract(o: RunOptions): Promise<ContractResult> {
  let requests = 0;
  let differences = 0;
  let noise = 0;
  let ran = 0;
  const skipped: { sequence: string; identity: string; missing: string[] }[] = [];
  const findings: StepResult[] = [];
  for (const id of o.identities) {
    const py = new Client(o.upstreams.python, id, o.timeoutMs);
    const py2 = new Client(o.upstreams.python, id, o.timeoutMs);
    const go = new Client(o.upstreams.go, id, o.timeoutMs);
    for (const seq of o.sequences) {
      const vars: Record<string, string> = { ...o.vars };
      let stepsRun = 0;
      for (const step of seq.steps) {
        const p = substitute(step.path, vars);
        const hs: Record<string, string> = o.host ? { host: o.host } : {};
        const missing = [...p.missing];
        for (const [k, v] of Object.entries(step.headers ?? {})) {
          const s = substitute(v, vars);
          missing.push(...s.missing);
          hs[k] = s.text;
        }
        if (missing.length) {
          skipped.push({ sequence: seq.name, identity: id.name, missing: [...new Set(missing)] });
          break;
        }
        const a = await sendOrFail(py, step.method, p.text, hs);
        const a2 = await sendOrFail(py2, step.method, p.text, hs);
        const b = await sendOrFail(go, step.method, p.text, hs);
        requests += a.requests + a2.requests + b.requests;
        stepsRun++;
        for (const [name, spec] of Object.entries(step.capture ?? {})) {
          const v = capture(a.json, a.raw, spec);
          if (v !== undefined) vars[name] = v;
        }
        const j = judge(a.answer, a2.answer, b.answer);
        differences += j.regressions.length;
        noise += j.noise.length;
        if ((j.regressions.length || j.noise.length) && findings.length < 50) {
          findings.push({
            sequence: seq.name,
            identity: id.name,
            method: step.method,
            path: p.text,
            status: { python: a.answer.status, go: b.answer.status },
            regressions: j.regressions,
            noise: j.noise,
          });
        }
        o.progress?.(
          `${j.regressions.length ? 'DIFF' : 'same'}  ${id.name}  ${step.method} ${p.text}  python ${a.answer.status} go ${b.answer.status}${j.regressions.length ? `  (${j.regressions.map((d) => d.where).join(', ')})` : ''}`,
        );
      }
      if (stepsRun > 0) ran++;
    }
  }
  return {
    capability: o.capability,
    at: (o.now ?? Date.now)(),
    passed: ran > 0 && differences === 0,
    sequences: ran,
    requests,
    differences,
    noise,
    skipped,
    findings,
    identities: o.identities.map((i) => i.name),
    owners: o.owners,
  };
}
