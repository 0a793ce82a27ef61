/**
 * Upload pins: `upload uuid → owner`, recorded when an upload session starts
 * (202 to POST /v2/<repo>/blobs/uploads/), so every later PATCH/PUT/GET/DELETE
 * of that session reaches the implementation that holds its state. Pins expire
 * after PIN_TTL_SECONDS. One node: in memory. Several nodes: Redis.
 */
import { Redis } from 'ioredis';
import type { Owner } from '../config/schema.js';
import { addressKey } from '../../lib/passwords/login-limiter.js';

export interface PinStore {
  readonly kind: 'memory' | 'redis';
  /** The owner pinned to `uuid`, or null. May answer synchronously. */
  get(uuid: string): Owner | null | Promise<Owner | null>;
  /** `client`: the address that started the upload (counted per client where the store can). */
  set(uuid: string, owner: Owner, ttlSeconds: number, client?: string): void | Promise<void>;
  /** The session ended (committed or cancelled): its pin is no longer needed. */
  delete(uuid: string): void | Promise<void>;
  /** Live pins of uploads `client` started, or null when this store does not count per client. */
  heldBy(client: string): number | null;
  /** Number of live pins. */
  count(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Pins one process can hold: far above any real registry's uploads in
 * progress (each pin costs ~200 bytes). Over it the oldest pin goes first:
 * an upload idle that long has most likely been abandoned.
 */
export const MEMORY_PIN_LIMIT = 500_000;

interface MemoryPin {
  owner: Owner;
  expires: number;
  client: string | null;
}

export class MemoryPinStore implements PinStore {
  readonly kind = 'memory' as const;
  private readonly pins = new Map<string, MemoryPin>();
  private readonly perClient = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;
  /** Pins dropped to stay under `limit` before they expired. */
  evicted = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly limit = MEMORY_PIN_LIMIT,
  ) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  get(uuid: string): Owner | null {
    const p = this.pins.get(uuid);
    if (!p) return null;
    if (p.expires <= this.now()) {
      this.drop(uuid, p);
      return null;
    }
    return p.owner;
  }

  set(uuid: string, owner: Owner, ttlSeconds: number, client?: string): void {
    const old = this.pins.get(uuid);
    if (old) this.drop(uuid, old);
    if (this.pins.size >= this.limit) {
      this.sweep();
      for (const [k, p] of this.pins) {
        if (this.pins.size < this.limit) break;
        this.drop(k, p);
        this.evicted++;
      }
    }
    const key = client ? addressKey(client) : null;
    this.pins.set(uuid, { owner, expires: this.now() + ttlSeconds * 1000, client: key });
    if (key !== null) this.perClient.set(key, (this.perClient.get(key) ?? 0) + 1);
  }

  delete(uuid: string): void {
    const p = this.pins.get(uuid);
    if (p) this.drop(uuid, p);
  }

  heldBy(client: string): number {
    return this.perClient.get(addressKey(client)) ?? 0;
  }

  private drop(uuid: string, p: MemoryPin): void {
    this.pins.delete(uuid);
    if (p.client === null) return;
    const n = (this.perClient.get(p.client) ?? 1) - 1;
    if (n <= 0) this.perClient.delete(p.client);
    else this.perClient.set(p.client, n);
  }

  sweep(): void {
    const t = this.now();
    for (const [k, p] of this.pins) if (p.expires <= t) this.drop(k, p);
  }

  async count(): Promise<number> {
    this.sweep();
    return this.pins.size;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}

/**
 * Pins in Redis: `switchboard:pin:<uuid>` = owner with an expiry, plus a
 * sorted set of uuids by expiry time for counting live pins.
 */
export class RedisPinStore implements PinStore {
  readonly kind = 'redis' as const;
  private readonly redis: Redis;
  private static readonly PREFIX = 'switchboard:pin:';
  private static readonly INDEX = 'switchboard:pins';

  constructor(
    url: string,
    private readonly now: () => number = Date.now,
  ) {
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    this.redis.on('error', () => {
      /* surfaced by the failing command; avoids an unhandled 'error' */
    });
  }

  async get(uuid: string): Promise<Owner | null> {
    const v = await this.redis.get(RedisPinStore.PREFIX + uuid);
    return v === 'python' || v === 'go' ? v : null;
  }

  async set(uuid: string, owner: Owner, ttlSeconds: number): Promise<void> {
    const expires = this.now() + ttlSeconds * 1000;
    await this.redis
      .multi()
      .set(RedisPinStore.PREFIX + uuid, owner, 'EX', Math.max(1, Math.ceil(ttlSeconds)))
      .zadd(RedisPinStore.INDEX, expires, uuid)
      .exec();
  }

  async delete(uuid: string): Promise<void> {
    await this.redis
      .multi()
      .del(RedisPinStore.PREFIX + uuid)
      .zrem(RedisPinStore.INDEX, uuid)
      .exec();
  }

  /** Not counted per client in Redis (the owners bound uploads per client themselves). */
  heldBy(): null {
    return null;
  }

  async count(): Promise<number> {
    const t = this.now();
    await this.redis.zremrangebyscore(RedisPinStore.INDEX, '-inf', t);
    return this.redis.zcard(RedisPinStore.INDEX);
  }

  /** Waits until the connection is up, so a wrong REDIS_URL fails at start, not on the first upload. */
  async ready(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
