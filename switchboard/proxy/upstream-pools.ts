/**
 * The proxy's connections to its owners (issue 16): one undici Pool per
 * upstream URL of the snapshot in force, made with that snapshot's
 * UPSTREAM_TIMEOUT_SECONDS.
 *
 *   live      url → { pool, timeoutMs }   where requests of the snapshot in force go
 *   retiring  pool → its close            superseded: takes no new request, closes
 *                                         once its requests in flight are done
 *
 * A snapshot that changes an upstream's URL or the timeout supersedes the pool
 * (`update`, called with every snapshot installed). A request decided on an
 * older snapshot (its pin lookup or blob-lane attempt spanned the reload) is
 * sent where that snapshot says, on a pool of its own that is closed as soon
 * as the request is on it: nothing outlives the requests that need it.
 */
import { Pool } from 'undici';

interface LivePool {
  readonly pool: Pool;
  readonly timeoutMs: number;
}

function newPool(url: string, timeoutMs: number): Pool {
  // No connection limit, hence no queue: each client connection (MAX_CONNECTIONS) holds at most
  // one upstream request, so slow clients cannot hold every connection while others wait.
  return new Pool(url, {
    connections: null,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { timeout: Math.min(timeoutMs, 10_000) },
  });
}

export class UpstreamPools {
  private readonly live = new Map<string, LivePool>();
  private readonly retiring = new Map<Pool, Promise<void>>();
  /** Upstream URLs and timeout of the snapshot in force: the pools kept in `live`. */
  private urls: readonly string[] = [];
  private timeoutMs = 0;

  /**
   * The pool for a request to `url` with the timeout its snapshot sets: one
   * Map lookup unless the pool is new. Dispatch on it in the same tick: a
   * pool for a snapshot no longer in force is closed right after.
   */
  get(url: string, timeoutMs: number): Pool {
    const p = this.live.get(url);
    if (p !== undefined && p.timeoutMs === timeoutMs) return p.pool;
    const pool = newPool(url, timeoutMs);
    if (timeoutMs === this.timeoutMs && this.urls.includes(url)) {
      if (p !== undefined) this.retire(p.pool);
      this.live.set(url, { pool, timeoutMs });
    } else {
      // Undici's close lets a request already dispatched finish: this one's is, by then.
      queueMicrotask(() => this.retire(pool));
    }
    return pool;
  }

  /**
   * A snapshot was installed: `urls` (the owners' upstreams, unset ones
   * undefined) and `timeoutMs` are in force. Every pool for another URL or
   * made with another timeout is retired; returns their URLs.
   */
  update(urls: readonly (string | undefined)[], timeoutMs: number): string[] {
    this.urls = urls.filter((u): u is string => u !== undefined);
    this.timeoutMs = timeoutMs;
    const retired: string[] = [];
    for (const [url, p] of this.live) {
      if (p.timeoutMs === timeoutMs && this.urls.includes(url)) continue;
      this.live.delete(url);
      this.retire(p.pool);
      retired.push(url);
    }
    return retired;
  }

  /** Closes every pool, letting their requests in flight finish; a later `get` gets a pool closed after its request. */
  async close(): Promise<void> {
    this.urls = [];
    for (const p of this.live.values()) this.retire(p.pool);
    this.live.clear();
    await Promise.all(this.retiring.values());
  }

  private retire(pool: Pool): void {
    const closed = pool
      .close()
      .catch(() => pool.destroy())
      .catch(() => undefined)
      .finally(() => this.retiring.delete(pool));
    this.retiring.set(pool, closed);
  }
}
