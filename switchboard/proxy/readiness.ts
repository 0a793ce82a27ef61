/**
 * What the go owner says it implements: its readiness document at
 * `GET <UPSTREAMS.go>/.well-known/switchboard` (quay/capabilities.ts
 * writes it; docs/readiness.md describes it).
 *
 * - `ReadinessMonitor` polls the go upstream directly — never through the
 *   proxy's route table — every interval (default 10 s, timeout 2 s), keeps
 *   the last answer with its time, and answers `implements(capability)` with
 *   yes, no or unknown. A capability that disappears from one answer to the
 *   next (a rolled-back deploy) is logged as an error naming it; one that
 *   appears, as info. Nothing it does throws: a refused, slow, missing or
 *   malformed answer is "unknown", with the reason.
 * - `probeGo(url, timeoutMs)` asks once, for the CLI (`switchboard set`,
 *   `config validate`).
 *
 * Failure kinds: the proxy's (`refused`, `timeout`, `reset`, `unavailable`,
 * error-response.ts), plus `status` (an answer other than 200: Python Quay, or
 * a build older than the contract), `malformed` (not the document) and
 * `not_configured` (no go upstream).
 */
import { Agent, request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { redactUrl, silentLogger, type Logger } from '../../lib/log.js';
import { classifyUpstreamError } from './error-response.js';

export { WELL_KNOWN_PATH } from '../../owner-maps/readiness.js';
import { WELL_KNOWN_PATH } from '../../owner-maps/readiness.js';
export const DEFAULT_INTERVAL_MS = 10_000;
export const DEFAULT_TIMEOUT_MS = 2_000;
/** Larger answers are not a readiness document. */
const MAX_BODY_BYTES = 1024 * 1024;

export type ReadinessFailure = 'refused' | 'timeout' | 'reset' | 'unavailable' | 'status' | 'malformed' | 'not_configured';
export type Verdict = 'yes' | 'no' | 'unknown';

const capabilityName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, { error: 'capability names are UPPER_SNAKE_CASE' });

/** The wire document; unknown fields are ignored (later contract versions add, never change). */
export const readinessDocumentSchema = z.looseObject({
  service: z.string().min(1),
  version: z.string().min(1),
  contract: z.number().int().positive().optional(),
  mode: z.string().min(1),
  capabilities: z.array(capabilityName),
  routes: z.array(z.string().regex(/^ROUTE_\d{4}$/)).optional(),
  features: z.record(z.string(), z.unknown()).optional(),
  withdrawn: z.array(z.looseObject({ capability: z.string(), key: z.string(), value: z.unknown(), why: z.string().optional() })).optional(),
});
export type ReadinessAnswer = z.infer<typeof readinessDocumentSchema>;

/** The go owner's readiness as last seen. Fields from the answer are those of the last good answer. */
export interface GoReadiness {
  /** The go upstream (credentials redacted); null when none is configured. */
  readonly upstream: string | null;
  /** The last check got a valid document. */
  readonly reachable: boolean;
  /** When the last check ended (ISO time); null before the first. */
  readonly checked_at: string | null;
  /** When the last good answer came (ISO time); null if none yet. */
  readonly answered_at: string | null;
  /** Why the last check failed. */
  readonly failure?: ReadinessFailure;
  readonly error?: string;
  readonly service: string | null;
  readonly version: string | null;
  readonly mode: string | null;
  readonly capabilities: ReadonlySet<string>;
  readonly routes: ReadonlySet<string>;
  readonly features: Readonly<Record<string, unknown>>;
  readonly withdrawn: readonly { readonly capability: string; readonly key: string; readonly value: unknown; readonly why?: string | undefined }[];
}

/** Told to subscribers whenever reachability, version, mode or the capability set changes. */
export interface ReadinessChange {
  readonly previous: GoReadiness;
  readonly current: GoReadiness;
  /** Capabilities in this answer that the previous good answer lacked (all of them on the first answer). */
  readonly added: readonly string[];
  /** Capabilities of the previous good answer missing from this one. */
  readonly removed: readonly string[];
}

export interface ReadinessOptions {
  /** UPSTREAMS.go; null or undefined: not configured (every verdict unknown). */
  readonly url: string | null | undefined;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
  readonly log?: Logger;
  readonly now?: () => Date;
}

type Outcome = { readonly ok: true; readonly doc: ReadinessAnswer } | { readonly ok: false; readonly failure: ReadinessFailure; readonly error: string };

const NONE: ReadonlySet<string> = new Set();

function initial(url: string | null): GoReadiness {
  return {
    upstream: url === null ? null : redactUrl(url),
    reachable: false,
    checked_at: null,
    answered_at: null,
    ...(url === null ? { failure: 'not_configured' as const, error: 'no go upstream: set SWITCHBOARD.UPSTREAMS.go' } : {}),
    service: null,
    version: null,
    mode: null,
    capabilities: NONE,
    routes: NONE,
    features: {},
    withdrawn: [],
  };
}

/** Read a body up to `max` bytes; null when it is larger. */
async function readBody(body: Dispatcher.ResponseData['body'], max: number): Promise<Buffer | null> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > max) {
      body.destroy();
      return null;
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts, n);
}

/** One GET of the document; never throws. */
async function fetchDocument(url: string, timeoutMs: number, dispatcher: Dispatcher, stop: AbortSignal): Promise<Outcome> {
  let target: URL;
  try {
    target = new URL(WELL_KNOWN_PATH, url);
  } catch {
    return { ok: false, failure: 'unavailable', error: `not a URL: ${redactUrl(url)}` };
  }
  const signal = AbortSignal.any([stop, AbortSignal.timeout(timeoutMs)]);
  try {
    const res = await request(target, {
      method: 'GET',
      headers: { accept: 'application/json' },
      dispatcher,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    // Destroying a body emits an abort error: nobody waits for it.
    res.body.on('error', () => {});
    if (res.statusCode !== 200) {
      res.body.destroy();
      return {
        ok: false,
        failure: 'status',
        error: `HTTP ${res.statusCode} from ${WELL_KNOWN_PATH}: not a go runtime that speaks the readiness contract (Python Quay, or an older build?)`,
      };
    }
    const body = await readBody(res.body, MAX_BODY_BYTES);
    if (body === null) return { ok: false, failure: 'malformed', error: `answer larger than ${MAX_BODY_BYTES} bytes` };
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (e) {
      return { ok: false, failure: 'malformed', error: `not JSON: ${(e as Error).message}` };
    }
    const parsed = readinessDocumentSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { ok: false, failure: 'malformed', error: `not a readiness document: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}` };
    }
    return { ok: true, doc: parsed.data };
  } catch (e) {
    if (stop.aborted) return { ok: false, failure: 'unavailable', error: 'stopped' };
    if (signal.aborted) return { ok: false, failure: 'timeout', error: `no answer within ${timeoutMs} ms` };
    let c = classifyUpstreamError(e);
    const cause = (e as { cause?: unknown }).cause;
    if (c.kind === 'unavailable' && cause !== undefined) c = classifyUpstreamError(cause);
    return { ok: false, failure: c.kind as ReadinessFailure, error: c.message };
  }
}

function readinessFrom(prev: GoReadiness, o: Outcome, at: string): GoReadiness {
  // What the last good answer said stays; the failure fields describe this check only.
  const kept: GoReadiness = {
    upstream: prev.upstream,
    reachable: false,
    checked_at: at,
    answered_at: prev.answered_at,
    service: prev.service,
    version: prev.version,
    mode: prev.mode,
    capabilities: prev.capabilities,
    routes: prev.routes,
    features: prev.features,
    withdrawn: prev.withdrawn,
  };
  if (!o.ok) return { ...kept, failure: o.failure, error: o.error };
  const d = o.doc;
  return {
    ...kept,
    reachable: true,
    answered_at: at,
    service: d.service,
    version: d.version,
    mode: d.mode,
    capabilities: new Set(d.capabilities),
    routes: new Set(d.routes ?? []),
    features: d.features ?? {},
    withdrawn: d.withdrawn ?? [],
  };
}

/** The capability verdict of a readiness: unknown unless the last check answered. */
export function verdict(r: GoReadiness, capability: string): Verdict {
  if (!r.reachable) return 'unknown';
  return r.capabilities.has(capability) ? 'yes' : 'no';
}

/** A readiness as plain JSON (sets as sorted arrays), for /status and the dashboard. */
export function readinessJson(r: GoReadiness): Record<string, unknown> {
  return { ...r, capabilities: [...r.capabilities].sort(), routes: [...r.routes].sort() };
}

/**
 * Ask the go upstream once (`switchboard set`, `config validate`). Never
 * throws: an upstream that is missing, refuses, is slow or answers something
 * else comes back unreachable, with the failure and its reason.
 */
export async function probeGo(url: string | null | undefined, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<GoReadiness> {
  const start = initial(url ?? null);
  if (!url) return { ...start, checked_at: new Date().toISOString() };
  const agent = new Agent({ connect: { timeout: timeoutMs }, keepAliveTimeout: 1, connections: 1 });
  try {
    return readinessFrom(start, await fetchDocument(url, timeoutMs, agent, new AbortController().signal), new Date().toISOString());
  } finally {
    await agent.destroy().catch(() => {});
  }
}

/**
 * Polls the go upstream's readiness document. `start()` checks at once and
 * then every interval (one check at a time; the timer never keeps the process
 * alive); `stop()` ends it, aborting a check in flight.
 */
export class ReadinessMonitor {
  private url: string | null;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly now: () => Date;
  private state: GoReadiness;
  /** The capabilities of the last good answer: what a later answer is compared with. */
  private lastAnswered: ReadonlySet<string> | null = null;
  private agent: Agent;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** Bumped by start() and stop(): a loop of an earlier start() ends. */
  private generation = 0;
  private inflight: Promise<GoReadiness> | null = null;
  private stopper = new AbortController();
  private readonly listeners = new Set<(c: ReadinessChange) => void>();

  constructor(o: ReadinessOptions) {
    this.url = o.url ?? null;
    this.intervalMs = o.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.log = o.log ?? silentLogger;
    this.now = o.now ?? (() => new Date());
    this.state = initial(this.url);
    this.agent = this.newAgent();
  }

  /** The readiness as last seen. */
  current(): GoReadiness {
    return this.state;
  }

  /** yes / no from the last check's answer; unknown when it failed or none was made. */
  implements(capability: string): Verdict {
    return verdict(this.state, capability);
  }

  /** Called on every change (reachability, version, mode, capabilities). Returns an unsubscribe function. */
  subscribe(fn: (c: ReadinessChange) => void): () => void {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  }

  /** Check now (a check already in flight is shared); resolves with the new readiness, never rejects. */
  check(): Promise<GoReadiness> {
    if (this.inflight) return this.inflight;
    const url = this.url;
    if (url === null) return Promise.resolve(this.state);
    const signal = this.stopper.signal;
    const p: Promise<GoReadiness> = fetchDocument(url, this.timeoutMs, this.agent, signal).then((o) => {
      if (this.inflight === p) this.inflight = null;
      // A check of an upstream that was replaced, or that stop() cut, changes nothing.
      if (!signal.aborted && url === this.url) this.install(o);
      return this.state;
    });
    this.inflight = p;
    return p;
  }

  /** Check at once, then every interval, until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const generation = ++this.generation;
    const loop = (): void => {
      void this.check().then(() => {
        if (!this.running || generation !== this.generation) return;
        this.timer = setTimeout(loop, this.intervalMs);
        this.timer.unref();
      });
    };
    loop();
  }

  /** Stop polling and abort a check in flight; the last readiness stays readable, and start() polls again. */
  async stop(): Promise<void> {
    this.running = false;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stopper.abort();
    const pending = this.inflight;
    this.inflight = null;
    this.stopper = new AbortController();
    if (pending) await pending;
    const agent = this.agent;
    this.agent = this.newAgent();
    await agent.destroy().catch(() => {});
  }

  /** A new go upstream (UPSTREAMS.go changed on reload): forget what the old one said and check the new one. */
  setUpstream(url: string | null | undefined): void {
    const next = url ?? null;
    if (next === this.url) return;
    const previous = this.state;
    this.url = next;
    this.lastAnswered = null;
    this.state = initial(next);
    // A check of the old upstream in flight is cut and ignored.
    this.stopper.abort();
    this.stopper = new AbortController();
    this.inflight = null;
    this.log.info('go readiness: upstream changed', { owner: 'go', upstream: this.state.upstream });
    this.notify({ previous, current: this.state, added: [], removed: [] });
    if (this.running && next !== null) void this.check();
  }

  private newAgent(): Agent {
    return new Agent({ connect: { timeout: this.timeoutMs }, keepAliveTimeout: Math.min(this.intervalMs * 2, 60_000), connections: 1 });
  }

  private install(o: Outcome): void {
    const previous = this.state;
    const next = readinessFrom(previous, o, this.now().toISOString());
    this.state = next;
    const fields = { owner: 'go', upstream: next.upstream };
    if (!o.ok) {
      // Loud when it stops answering (or never did) or fails another way; quiet while it stays down the same way.
      if (previous.reachable || previous.checked_at === null || previous.failure !== next.failure) {
        this.log.warn('go readiness unknown: the go upstream did not answer its readiness document', { ...fields, failure: o.failure, error: o.error });
      } else {
        this.log.debug('go readiness still unknown', { ...fields, failure: o.failure, error: o.error });
      }
      if (previous.reachable || previous.failure !== next.failure) this.notify({ previous, current: next, added: [], removed: [] });
      return;
    }
    const before = this.lastAnswered;
    const caps = [...next.capabilities].sort();
    const added = before === null ? caps : caps.filter((c) => !before.has(c));
    const removed = before === null ? [] : [...before].filter((c) => !next.capabilities.has(c)).sort();
    this.lastAnswered = next.capabilities;
    const about = { ...fields, version: next.version, mode: next.mode };
    if (before === null) {
      this.log.info('go readiness: capabilities implemented', { ...about, capabilities: caps });
    } else {
      if (!previous.reachable) this.log.info('go readiness: the go upstream answers again', { ...about, capabilities: caps });
      if (removed.length > 0) {
        this.log.error('go no longer implements capabilities it implemented before (a rolled-back deploy?): requests of these capabilities sent to go may now fail', {
          ...about,
          previous_version: previous.version,
          capabilities: removed,
          capability: removed.join(','),
        });
      }
      if (added.length > 0)
        this.log.info('go now implements more capabilities', { ...about, previous_version: previous.version, capabilities: added, capability: added.join(',') });
    }
    if (added.length > 0 || removed.length > 0 || !previous.reachable || previous.version !== next.version || previous.mode !== next.mode) {
      this.notify({ previous, current: next, added, removed });
    }
  }

  private notify(c: ReadinessChange): void {
    for (const fn of this.listeners) {
      try {
        fn(c);
      } catch (e) {
        this.log.error('readiness listener failed', { error: String(e) });
      }
    }
  }
}
