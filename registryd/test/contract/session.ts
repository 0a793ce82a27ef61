/**
 * One client of one registry under test, the way docker and skopeo are: it
 * sends a sequence's requests, answers a `401` Bearer challenge by asking the
 * token endpoint (`GET /v2/auth?service=…&scope=…`, with Basic credentials
 * when it has any) and sending the request again with that token, and keeps
 * the token per repository for the requests that follow. Every response it
 * gets — the challenge, the token answer and the retried request — is
 * recorded under a label, reduced by lib.ts `observe`, so the same sequence
 * run against two registries can be compared field by field.
 *
 * A sequence written once runs against either side: it may follow what a
 * response says (an upload Location), never which registry answered.
 */
import http from 'node:http';
import type { Reply, RequestOptions } from '../../../test/lib/proc.js';
import { observe, type BodyMode, type Observation } from './lib.js';

/** The implementations compared: registryd in process and Distribution; the TS runtime (`quay serve`) and real Quay. */
export type Side = 'registryd' | 'distribution' | 'ts' | 'quay';

/** Who a session acts as. */
export interface Identity {
  /** Short name, used in step labels and reports. */
  readonly name: string;
  /** `user:password` (or `ns+robot:token`, `$app:token`) sent as Basic to the token endpoint. */
  readonly basic?: string;
  /** Answer Bearer challenges through the token endpoint (default true; anonymous clients do too). */
  readonly tokens?: boolean;
  /** An Authorization header sent as is on every registry request (no token is fetched). */
  readonly authorization?: string;
}

export const ANONYMOUS: Identity = { name: 'anonymous' };

/** One registry under test, and who the sequences act as there. */
export interface Target {
  readonly side: Side;
  readonly port: number;
  /** The namespace of the sequences' repositories (`repo()` names are `<ns>/<sequence>[-<suffix>]`). */
  readonly ns: string;
  /** A one-segment repository name this target may use (library namespace). */
  readonly oneSegment?: string;
  /** Whom requests are made as (default anonymous). */
  readonly identity?: Identity;
  /** Further identities sequences may act as (`s.as(name)`). */
  readonly identities?: Readonly<Record<string, Identity>>;
  /** The token endpoint's `service` when no challenge named one yet. */
  readonly service?: string;
  /**
   * Strings that differ between the two targets only because each runs in
   * its own namespace (the namespace, its owner's uuid): replaced in every
   * observation by the placeholder, so the comparison sees behaviour only.
   */
  readonly aliases?: readonly (readonly [string, string])[];
  /**
   * Strings the same on both targets that change from run to run (the
   * tier's SERVER_HOSTNAME with its port, in challenges and token
   * audiences): replaced too, so expectation tables can name the values.
   */
  readonly tierAliases?: readonly (readonly [string, string])[];
}

/** A whole response, or as much of it as came before the server closed the connection. */
export interface Response extends Reply {
  /** The body ended before its declared Content-Length (the server closed the connection). */
  readonly truncated: boolean;
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
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          truncated,
          text: () => body.toString('utf8'),
          json: () => JSON.parse(body.toString('utf8')),
          header: (n) => {
            const v = res.headers[n.toLowerCase()];
            return Array.isArray(v) ? v.join(', ') : (v ?? '');
          },
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

export interface Step extends RequestOptions {
  body?: string | Buffer;
  compare?: BodyMode;
  /** A setup step (pushing what the sequence is about): it must succeed (2xx) on both registries or the comparison means nothing. */
  setup?: boolean;
  /** Sent to the sequence's writer (cross-reading sequences write through one side and read through both). */
  via?: 'writer';
  /**
   * Ask the token endpoint for these scopes first and send that token, as
   * docker does for a cross-repository mount (push on the target, pull on
   * the source); the response is recorded as it comes, with no retry.
   */
  scopes?: readonly string[];
  /** Send without answering a Bearer challenge: the 401 is the observation. */
  noChallenge?: boolean;
}

/** Where a recorded response came from, for reports (capability, cross-reads). */
export interface StepMeta {
  readonly method: string;
  /** Path and query as sent. */
  readonly path: string;
  /** `request`: a sequence's step; `challenge`: the 401 it got first; `token`: the token endpoint's answer. */
  readonly kind: 'request' | 'challenge' | 'token';
  /** The side that answered. */
  readonly side: Side;
  /** The label of the token answer whose token the request carried. */
  readonly tokenLabel?: string;
}

/** What every view of one run shares (`as()` makes views with other identities). */
interface RunRecord {
  readonly observations: Map<string, Observation>;
  readonly meta: Map<string, StepMeta>;
  readonly transcript: string[];
  readonly setupFailures: string[];
}

interface Challenge {
  readonly service?: string;
  readonly scope?: string;
}

/** `Bearer realm="…",service="…",scope="…"` → its parameters; null for other schemes. */
export function parseChallenge(v: string): Challenge | null {
  const m = /^\s*Bearer\s+(.*)$/i.exec(v);
  if (!m) return null;
  const params: Record<string, string> = {};
  for (const p of m[1]!.matchAll(/([a-z_]+)="([^"]*)"/gi)) params[p[1]!.toLowerCase()] = p[2]!;
  return { service: params.service, scope: params.scope };
}

/** The repository a /v2 path addresses ('' for /v2/, the catalog and the token endpoint). */
export function repositoryOf(path: string): string {
  const p = path.split('?')[0]!;
  const m = /^\/v2\/(.+?)\/(?:blobs|manifests|tags|referrers)\//.exec(p);
  return m ? m[1]! : '';
}

/** The repository a token scope names (`repository:<name>:<actions>`), '' for others. */
const scopeRepository = (scope: string): string => /^repository:(.+):[^:]*$/.exec(scope)?.[1] ?? '';

/**
 * One run of a sequence against one target. Views made with `as()` act as
 * another identity (with their own tokens) and record into the same run.
 */
export class Session {
  readonly observations: Map<string, Observation>;
  readonly meta: Map<string, StepMeta>;
  /** Request and raw response of each step, for failure messages. */
  readonly transcript: string[];
  /** Setup steps that did not succeed. */
  readonly setupFailures: string[];
  /** Where steps marked `via: 'writer'` go, and where tokens come from (the target itself unless cross-reading). */
  readonly writer: Target;
  readonly identity: Identity;
  /** Tokens by repository ('' for requests that name none). */
  private readonly tokens = new Map<string, { token: string; label: string }>();
  private readonly views = new Map<string, Session>();
  private readonly record: RunRecord;

  constructor(
    readonly target: Target,
    readonly seq: string,
    opts: { writer?: Target; identity?: Identity; record?: RunRecord } = {},
  ) {
    this.writer = opts.writer ?? target;
    this.identity = opts.identity ?? target.identity ?? ANONYMOUS;
    this.record = opts.record ?? { observations: new Map(), meta: new Map(), transcript: [], setupFailures: [] };
    ({ observations: this.observations, meta: this.meta, transcript: this.transcript, setupFailures: this.setupFailures } = this.record);
  }

  /** The namespace of this run's repositories. */
  get ns(): string {
    return this.target.ns;
  }

  /** A repository of this run: `<ns>/<sequence>[-<suffix>]`. */
  repo(suffix?: string): string {
    return `${this.target.ns}/${this.seq}${suffix ? `-${suffix}` : ''}`;
  }

  /** This run, acting as another identity of the target (by name) or as `identity`. */
  as(who: string | Identity): Session {
    const identity = typeof who === 'string' ? this.target.identities?.[who] : who;
    if (!identity) throw new Error(`sequence ${this.seq}: ${this.target.side} has no identity ${String(who)}`);
    const key = typeof who === 'string' ? who : `${who.name}\u0000${who.basic ?? ''}\u0000${who.authorization ?? ''}`;
    let view = this.views.get(key);
    if (!view) {
      view = new Session(this.target, this.seq, { writer: this.writer, identity, record: this.record });
      this.views.set(key, view);
    }
    return view;
  }

  async step(label: string, o: Step): Promise<Response> {
    if (this.observations.has(label)) throw new Error(`sequence ${this.seq}: step label ${label} used twice`);
    const target = o.via === 'writer' ? this.writer : this.target;
    const method = o.method ?? 'GET';
    let held = o.scopes ? await this.fetchToken(`${label} (token)`, undefined, o.scopes) : this.tokens.get(repositoryOf(o.path));
    let res = await send(target.port, this.withAuth(o, held?.token));
    if (res.status === 401 && !o.scopes && !o.noChallenge && this.followsChallenges()) {
      const challenge = parseChallenge(res.header('www-authenticate'));
      if (challenge) {
        this.keep(`${label} (challenge)`, { method, path: o.path, kind: 'challenge', side: target.side, tokenLabel: held?.label }, res, 'none');
        const fresh = await this.fetchToken(`${label} (token)`, challenge.service, challenge.scope ? [challenge.scope] : []);
        if (fresh) {
          held = fresh;
          this.tokens.set(challenge.scope ? scopeRepository(challenge.scope) : repositoryOf(o.path), fresh);
          res = await send(target.port, this.withAuth(o, fresh.token));
        }
      }
    }
    this.keep(label, { method, path: o.path, kind: 'request', side: target.side, tokenLabel: held?.label }, res, o.compare ?? 'none');
    if (o.setup && (res.status < 200 || res.status > 299)) this.setupFailures.push(`${label}: ${method} ${o.path} -> ${res.status} ${res.text().slice(0, 300)}`);
    return res;
  }

  /**
   * Asks the token endpoint for `scopes` as this identity, as a step of its
   * own (compared as BodyMode `token`); the token is not kept. `service`
   * defaults to the one the target names.
   */
  async token(label: string, scopes: readonly string[], service?: string): Promise<string | null> {
    return (await this.fetchToken(label, service, scopes))?.token ?? null;
  }

  /**
   * `docker login`: with credentials, a token for no scope, kept for the
   * requests that name no repository (`/v2/`, the catalog, which a registry
   * may answer anonymously without a challenge). Without credentials (an
   * anonymous target, e.g. Distribution) nothing happens and nothing is recorded.
   */
  async login(label = 'login'): Promise<void> {
    if (this.identity.basic === undefined || this.tokens.has('')) return;
    const held = await this.fetchToken(`${label} (token)`, undefined, []);
    if (held) this.tokens.set('', held);
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

  private followsChallenges(): boolean {
    return this.identity.authorization === undefined && this.identity.tokens !== false;
  }

  private withAuth(o: Step, token: string | undefined): RequestOptions {
    const authorization = this.identity.authorization ?? (token === undefined ? undefined : `Bearer ${token}`);
    if (authorization === undefined) return o;
    return { ...o, headers: { ...o.headers, authorization } };
  }

  /** Asks the token endpoint (on the writer: cross-reading runs carry the writer's tokens to the reader) and records the answer. */
  private async fetchToken(tokenLabel: string, service: string | undefined, scopes: readonly string[]): Promise<{ token: string; label: string } | null> {
    const q = new URLSearchParams();
    const basic = this.identity.basic;
    if (basic !== undefined) q.set('account', basic.slice(0, basic.indexOf(':')));
    q.set('service', service ?? this.writer.service ?? `127.0.0.1:${this.writer.port}`);
    for (const s of scopes) q.append('scope', s);
    const path = `/v2/auth?${q.toString()}`;
    const headers = basic === undefined ? {} : { authorization: `Basic ${Buffer.from(basic).toString('base64')}` };
    const res = await send(this.writer.port, { path, headers });
    this.keep(tokenLabel, { method: 'GET', path, kind: 'token', side: this.writer.side }, res, 'token');
    if (res.status !== 200) return null;
    try {
      const doc = res.json() as { token?: unknown; access_token?: unknown };
      const token = typeof doc.token === 'string' ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : null;
      return token === null ? null : { token, label: tokenLabel };
    } catch {
      return null;
    }
  }

  private keep(label: string, meta: StepMeta, res: Response, mode: BodyMode): void {
    if (this.observations.has(label)) throw new Error(`sequence ${this.seq}: step label ${label} used twice`);
    this.observations.set(label, alias(observe(meta.method, res, mode), [...(this.target.aliases ?? []), ...(this.target.tierAliases ?? [])]));
    this.meta.set(label, meta);
    this.transcript.push(
      `${label} [${this.identity.name}@${meta.side}]: ${meta.method} ${meta.path} -> ${res.status} ${JSON.stringify(res.headers)} ${JSON.stringify(res.body.subarray(0, 300).toString('utf8'))}`,
    );
  }
}

/** Every value with the target's aliases replaced (longest first, so a name is never replaced inside a longer one). */
function alias(o: Observation, aliases: readonly (readonly [string, string])[]): Observation {
  if (aliases.length === 0) return o;
  const sorted = [...aliases].sort((a, b) => b[0].length - a[0].length);
  const out: Observation = {};
  for (const [k, v] of Object.entries(o)) out[k] = sorted.reduce((acc, [from, to]) => acc.split(from).join(to), v);
  return out;
}

/** The oracles a sequence can run against. */
export type OracleName = 'distribution' | 'quay';

/** A named request sequence. Registry state must not leak between sequences: use the repositories `s.repo()` names. */
export interface Sequence {
  readonly id: string;
  readonly title: string;
  /**
   * Sees state beyond its own repositories (the catalog): runs in fresh
   * namespaces of its own (against Distribution, on a registry pair of its own).
   */
  readonly isolated?: boolean;
  /**
   * Reads only what is the same from every namespace (initdb's repositories,
   * a superuser's catalog) and writes nothing: its observations keep every
   * name as it is, since both sides see the same ones.
   */
  readonly global?: boolean;
  /** The oracles it means something against (default: all). */
  readonly oracles?: readonly OracleName[];
  /**
   * Cross-reading (Quay oracle): runs twice, writing (steps `via: 'writer'`)
   * through Quay and then through the TS side, each time reading through
   * both; what one side wrote must read back the same through the other.
   */
  readonly cross?: boolean;
  run(s: Session, repo: (suffix?: string) => string): Promise<void>;
}
