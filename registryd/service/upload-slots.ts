/**
 * Upload sessions in progress per client: the bound on how many `blobupload`
 * sessions (each a row and an upload object that may grow to
 * MAXIMUM_LAYER_SIZE) one client holds at once. Pure state, no I/O, no clock:
 * callers pass the time.
 *
 * A client is a key the HTTP layer chooses (the authenticated user, else the
 * client address). A slot is taken when a session starts and given back when
 * it is committed, cancelled, refused, or removed as stale. A client that
 * goes away without any of these (a killed `docker push`) does not keep its
 * slots: once a session has had no request for `idleMs`, the next start by the
 * same client that finds no free slot takes that session's slot, and the
 * caller discards the abandoned session (row and upload object).
 *
 * Slots live in this process: sessions from before a restart, or begun by
 * Python Quay, are not counted (the stale-upload cleanup still removes them).
 */
import { QUAY_DEFAULTS } from '../../owner-maps/quay-defaults.js';

/**
 * MAXIMUM_UPLOADS_PER_CLIENT default: far above what one client pushes at
 * once (docker pushes 5 layers at a time, buildkit and skopeo a few more),
 * low enough that one client cannot hold unbounded state and storage.
 */
export const DEFAULT_MAX_UPLOADS_PER_CLIENT = QUAY_DEFAULTS.MAXIMUM_UPLOADS_PER_CLIENT;

/** A session idle this long is taken to be abandoned when its client needs the slot. */
export const DEFAULT_UPLOAD_IDLE_MS = 15 * 60_000;

export interface UploadSlotSettings {
  /** Sessions in progress one client may hold. */
  readonly perClient: number;
  /** A session without a request for this long may be taken over by its client's next start. */
  readonly idleMs: number;
}

export type Admission =
  | { readonly kind: 'admitted' }
  /** Admitted in the slot of `abandoned`, which the caller must discard. */
  | { readonly kind: 'reclaimed'; readonly abandoned: string }
  /** No slot: every session of the client is busy or recently used; one frees up at the latest in `retryAfterMs`. */
  | { readonly kind: 'refused'; readonly retryAfterMs: number };

interface Session {
  readonly client: string;
  lastUsedMs: number;
  /** Requests on the session now running (a chunk streaming in is never idle). */
  busy: number;
}

export class UploadSlots {
  private readonly sessions = new Map<string, Session>();
  private readonly byClient = new Map<string, Set<string>>();

  constructor(readonly settings: UploadSlotSettings) {}

  /** Take a slot for session `uuid` of `client`; synchronous, so concurrent starts cannot both take the last one. */
  admit(client: string, uuid: string, nowMs: number): Admission {
    const held = this.byClient.get(client);
    if (!held || held.size < this.settings.perClient) {
      this.add(client, uuid, nowMs);
      return { kind: 'admitted' };
    }
    let oldest: string | null = null;
    let oldestMs = Infinity;
    for (const id of held) {
      const s = this.sessions.get(id)!;
      if (s.busy === 0 && s.lastUsedMs < oldestMs) {
        oldest = id;
        oldestMs = s.lastUsedMs;
      }
    }
    if (oldest !== null && nowMs - oldestMs >= this.settings.idleMs) {
      this.release(oldest);
      this.add(client, uuid, nowMs);
      return { kind: 'reclaimed', abandoned: oldest };
    }
    return { kind: 'refused', retryAfterMs: oldest === null ? this.settings.idleMs : oldestMs + this.settings.idleMs - nowMs };
  }

  /** A request on the session starts (unknown sessions, e.g. from before a restart, are ignored). */
  begin(uuid: string, nowMs: number): void {
    const s = this.sessions.get(uuid);
    if (s) {
      s.busy++;
      s.lastUsedMs = nowMs;
    }
  }

  /** The request that `begin` announced is over, however it ended. */
  end(uuid: string, nowMs: number): void {
    const s = this.sessions.get(uuid);
    if (s) {
      s.busy = Math.max(0, s.busy - 1);
      s.lastUsedMs = nowMs;
    }
  }

  /** The session is gone (committed, cancelled, refused, stale): its slot is free. */
  release(uuid: string): void {
    const s = this.sessions.get(uuid);
    if (!s) return;
    this.sessions.delete(uuid);
    const held = this.byClient.get(s.client)!;
    held.delete(uuid);
    if (held.size === 0) this.byClient.delete(s.client);
  }

  /**
   * Forget sessions unused since `cutoffMs` (none busy): for sessions that
   * ended elsewhere, e.g. finished by Python Quay, which resumes ours. The
   * stale-upload cleanup calls it after removing the rows it found.
   */
  forgetUnusedSince(cutoffMs: number): number {
    let n = 0;
    for (const [uuid, s] of this.sessions) {
      if (s.busy === 0 && s.lastUsedMs < cutoffMs) {
        this.release(uuid);
        n++;
      }
    }
    return n;
  }

  /** Sessions the client holds now. */
  held(client: string): number {
    return this.byClient.get(client)?.size ?? 0;
  }

  /** Sessions counted, all clients together. */
  get size(): number {
    return this.sessions.size;
  }

  private add(client: string, uuid: string, nowMs: number): void {
    this.sessions.set(uuid, { client, lastUsedMs: nowMs, busy: 0 });
    let held = this.byClient.get(client);
    if (!held) this.byClient.set(client, (held = new Set()));
    held.add(uuid);
  }
}
