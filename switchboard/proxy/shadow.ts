/**
 * Shadow traffic: for ROUTE_SHADOW_* percent of safe requests (GET or HEAD
 * without a body) the proxy also sends the request to the other owner. The
 * client only ever gets its owner's answer, at its owner's speed: the shadow
 * request starts after the real one was forwarded, is read and compared off
 * the hot path, and is dropped first — over SHADOW.MAX_PER_SECOND, or while
 * SHADOW.MAX_IN_FLIGHT are outstanding. Bodies are hashed as they stream
 * (JSON up to MAX_JSON_BYTES is also parsed) and compared with
 * contract/compare.ts; the last KEEP_DIFFS differing pairs per capability are
 * kept with both answers.
 *
 * The percent of a route: ROUTE_SHADOW_ROUTE_<id>, else _CAP_<capability>,
 * else _FAMILY_<family> (the owners' order), else none.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { util, type Dispatcher, type Pool } from 'undici';
import { Counter, type Registry } from 'prom-client';
import type { Snapshot } from '../core/snapshot.js';
import type { Decision, Owner } from '../core/types.js';
import { BodyReader, differences, pickHeaders, redact, summary, type Answer, type Difference, type ShadowDiff } from '../contract/compare.js';

export type { ShadowDiff } from '../contract/compare.js';

/** The shadow percent of every route that has one, by route id (empty: shadowing off). */
export function shadowPlan(s: Snapshot): ReadonlyMap<string, number> {
  const sw = s.owner_map.config?.switches;
  const out = new Map<string, number>();
  if (!sw || ![...sw.keys()].some((k) => k.startsWith('ROUTE_SHADOW_'))) return out;
  for (const r of s.owner_map.inventory.routes) {
    const v = sw.get(`ROUTE_SHADOW_ROUTE_${r.id.slice(6)}`)?.value ?? sw.get(`ROUTE_SHADOW_CAP_${r.capability}`)?.value ?? sw.get(`ROUTE_SHADOW_FAMILY_${r.family}`)?.value;
    // Never the token endpoint: a shadowed login counts against the user's failed-login back-off on the other owner.
    if (typeof v === 'number' && v > 0 && r.capability !== 'V2_AUTH') out.set(r.id, v);
  }
  return out;
}

interface CapStats {
  compared: number;
  diffs: number;
  last_at: number | null;
  recent: ShadowDiff[];
}

/** What the proxy hands over for one shadowed request. */
export interface ShadowTap {
  /** The owner's status and headers, as they go to the client. */
  head(status: number, headers: IncomingHttpHeaders | Record<string, string | string[]>): void;
  /** A chunk of the owner's body, as it goes to the client. */
  chunk(c: Buffer | string): void;
  /** The owner's answer is complete (true) or was cut (false). */
  done(complete: boolean): void;
}

/** A value cut to at most 512 characters of JSON. */
function clip(v: unknown): unknown {
  if (v === undefined) return v;
  const t = JSON.stringify(v);
  return t.length <= 512 ? v : `${t.slice(0, 509)}…`;
}

const CANCELLED = Object.freeze(Object.assign(new Error('the client left: shadow request cancelled'), { code: 'shadow_cancelled' }));

/** The other owner's answer to a shadow request, read as it arrives (an undici dispatch handler). */
class ShadowAnswer implements Dispatcher.DispatchHandler {
  private abort: ((err?: Error) => void) | null = null;
  private cancelled = false;
  private status = 0;
  private headers: Record<string, string | string[]> = {};
  private reader: BodyReader | null = null;
  private settled = false;

  constructor(
    private readonly max: number,
    private readonly settle: (a: Answer | { failure: string }) => void,
  ) {}

  cancel(): void {
    this.cancelled = true;
    this.abort?.(CANCELLED);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.cancelled) abort(CANCELLED);
    else this.abort = abort;
  }

  onHeaders(statusCode: number, raw: Buffer[]): boolean {
    if (statusCode < 200) return true;
    this.status = statusCode;
    this.headers = util.parseHeaders(raw) as Record<string, string | string[]>;
    this.reader = new BodyReader(this.headers, this.max);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.reader?.add(chunk);
    return true;
  }

  onComplete(): void {
    this.done({ status: this.status, headers: pickHeaders(this.headers), body: (this.reader ?? new BodyReader(this.headers, this.max)).body() });
  }

  onError(err: Error): void {
    this.done({ failure: (err as { code?: string }).code ?? err.message });
  }

  private done(a: Answer | { failure: string }): void {
    if (this.settled) return;
    this.settled = true;
    this.settle(a);
  }
}

export class Shadow {
  private readonly caps = new Map<string, CapStats>();
  private plan: ReadonlyMap<string, number> = new Map();
  private inFlight = 0;
  private tokens = 0;
  private refilled = 0;
  private readonly requests: Counter<'capability' | 'outcome'>;
  private readonly diffs: Counter<'capability' | 'kind'>;

  constructor(
    registry: Registry | null,
    private readonly now: () => number = Date.now,
  ) {
    const registers = registry ? [registry] : [];
    this.requests = new Counter({
      name: 'switchboard_shadow_requests_total',
      help: 'Shadow requests to the other owner, by outcome: compared, dropped (over SHADOW.MAX_PER_SECOND or MAX_IN_FLIGHT), failed (the other owner could not answer), cut (the client left)',
      labelNames: ['capability', 'outcome'],
      registers,
    });
    this.diffs = new Counter({
      name: 'switchboard_shadow_diffs_total',
      help: 'Shadow comparisons that differed, by capability and the first kind of difference (status, header, body, failure)',
      labelNames: ['capability', 'kind'],
      registers,
    });
  }

  /** The routes to shadow under snapshot `s`: called as the proxy installs it, never on a request. */
  follow(s: Snapshot): void {
    this.plan = shadowPlan(s);
  }

  /**
   * Whether to shadow this bodiless request (on the hot path: one size check when shadowing
   * is off). Draws the percent, then takes a token of the budget.
   */
  wants(s: Snapshot, d: Decision, method: string): boolean {
    if (this.plan.size === 0 || (method !== 'GET' && method !== 'HEAD') || d.route_id === null) return false;
    // Never under the kill switch (or with no valid config), nor an upload's status: only its pinned owner knows it.
    if (d.reason === 'force_python' || d.reason === 'hard_failure' || d.reason === 'upload_pin') return false;
    const pct = this.plan.get(d.route_id);
    if (pct === undefined || Math.random() * 100 >= pct) return false;
    const sh = s.settings.SHADOW;
    const t = this.now();
    this.tokens = Math.min(Math.max(1, sh.MAX_PER_SECOND), this.tokens + ((t - this.refilled) / 1000) * sh.MAX_PER_SECOND);
    this.refilled = t;
    if (this.tokens < 1 || this.inFlight >= sh.MAX_IN_FLIGHT) {
      this.requests.labels(d.capability ?? 'unknown', 'dropped').inc();
      return false;
    }
    this.tokens -= 1;
    return true;
  }

  /**
   * Sends the shadow request to `pool` (the other owner) and returns the tap the proxy
   * feeds with its owner's answer; the two are compared once both are complete.
   */
  start(s: Snapshot, d: Decision, pool: Pool, shadowOwner: Owner, req: { method: string; path: string; headers: readonly string[] }): ShadowTap {
    this.inFlight++;
    const capability = d.capability ?? 'unknown';
    const max = s.settings.SHADOW.MAX_JSON_BYTES;
    const keep = s.settings.SHADOW.KEEP_DIFFS;
    const timeoutMs = s.settings.UPSTREAM_TIMEOUT_SECONDS * 1000;
    let ownerHead: { status: number; headers: Record<string, string> } | null = null;
    let ownerBody: BodyReader | null = null;
    let ownerDone: boolean | null = null;
    let shadow: Answer | { failure: string } | null = null;
    const finish = (): void => {
      if (ownerDone === null || shadow === null) return;
      this.inFlight--;
      if (!ownerDone || ownerHead === null || ownerBody === null) {
        this.requests.labels(capability, 'cut').inc();
        return;
      }
      const head = ownerHead;
      const reader: BodyReader = ownerBody;
      const sh = shadow;
      // Off the hot path: parse-and-compare after this turn of the event loop.
      setImmediate(() => {
        try {
          this.compare(d, req, shadowOwner, { status: head.status, headers: head.headers, body: reader.body() }, sh, capability, keep);
        } catch {
          // Nothing a comparison meets may take the proxy down.
          this.requests.labels(capability, 'failed').inc();
        }
      });
    };
    const answer = new ShadowAnswer(max, (a) => {
      shadow = a;
      finish();
    });
    pool.dispatch({ path: req.path, method: req.method as 'GET', headers: req.headers as string[], headersTimeout: timeoutMs, bodyTimeout: timeoutMs }, answer);
    return {
      head: (status, headers) => {
        ownerHead = { status, headers: pickHeaders(headers as Record<string, string | string[] | undefined>) };
        ownerBody = new BodyReader(headers as Record<string, string | string[] | undefined>, max);
      },
      chunk: (c) => ownerBody?.add(c),
      done: (complete) => {
        if (ownerDone !== null) return;
        ownerDone = complete;
        // The client left: the shadow answer would be compared with nothing.
        if (!complete) answer.cancel();
        finish();
      },
    };
  }

  private compare(d: Decision, req: { method: string; path: string }, shadowOwner: Owner, own: Answer, sh: Answer | { failure: string }, capability: string, keep: number): void {
    const st = this.stats(capability);
    st.compared++;
    st.last_at = this.now();
    let diffs: Difference[];
    if ('failure' in sh) {
      this.requests.labels(capability, 'failed').inc();
      diffs = [shadowOwner === 'go' ? { where: 'failure', python: null, go: sh.failure } : { where: 'failure', python: sh.failure, go: null }];
    } else {
      this.requests.labels(capability, 'compared').inc();
      // Reported as python vs go, whichever answered the client.
      diffs = d.owner === 'python' ? differences(own, sh) : differences(sh, own);
    }
    if (diffs.length === 0) return;
    st.diffs++;
    const w = diffs[0]!.where;
    this.diffs.labels(capability, w === 'failure' ? 'failure' : w === 'status' ? 'status' : w.startsWith('header:') ? 'header' : 'body').inc();
    if (keep === 0) return;
    // Kept for operators: secrets redacted, values cut short, bodies as their digest (never whole answers).
    const last = (where: string): string => where.split('.').pop() ?? '';
    st.recent.push({
      at: new Date(this.now()).toISOString(),
      method: req.method,
      path: String(redact(req.path)),
      route_id: d.route_id,
      owner: d.owner,
      shadow_owner: shadowOwner,
      differences: diffs.slice(0, 20).map((x) => ({ where: x.where, python: clip(redact(x.python, last(x.where))), go: clip(redact(x.go, last(x.where))) })),
      answers: { owner: summary(own), shadow: 'failure' in sh ? sh : summary(sh) },
    });
    if (st.recent.length > keep) st.recent.splice(0, st.recent.length - keep);
  }

  private stats(capability: string): CapStats {
    let st = this.caps.get(capability);
    if (!st) {
      st = { compared: 0, diffs: 0, last_at: null, recent: [] };
      this.caps.set(capability, st);
    }
    return st;
  }

  /** The gates' view: comparisons and diffs of a capability since the start. */
  record(capability: string): { compared: number; diffs: number; last_at: number | null } | null {
    const st = this.caps.get(capability);
    return st ? { compared: st.compared, diffs: st.diffs, last_at: st.last_at } : null;
  }

  /** The last differing pairs of a capability, newest last. */
  recent(capability: string): readonly ShadowDiff[] {
    return this.caps.get(capability)?.recent ?? [];
  }

  get inFlightNow(): number {
    return this.inFlight;
  }
}
