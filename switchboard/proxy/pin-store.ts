/**
 * Upload pins: `upload uuid → owner`, recorded when an upload session starts
 * (202 to POST /v2/<repo>/blobs/uploads/), so every later PATCH/PUT/GET/DELETE
 * of that session reaches the implementation that holds its state. Pins expire
 * after PIN_TTL_SECONDS. One node: in memory. Several nodes: Redis.
 */
import { Redis } from 'ioredis';
import type { Owner } from '../config/schema.js';

export interface PinStore {
  readonly kind: 'memory' | 'redis';
  /** The owner pinned to `uuid`, or null. May answer synchronously. */
  get(uuid: string): Owner | null | Promise<Owner | null>;
  set(uuid: string, owner: Owner, ttlSeconds: number): void | Promise<void>;
  /** Number of live pins. */
  count(): Promise<number>;
  close(): Promise<void>;
}

export class MemoryPinStore implements PinStore {
  readonly kind = 'memory' as const;
  private readonly pins = new Map<string, { owner: Owner; expires: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  get(uuid: string): Owner | null {
    const p = this.pins.get(uuid);
    if (!p) return null;
    if (p.expires <= this.now()) { this.pins.delete(uuid); return null; }
    return p.owner;
  }

  set(uuid: string, owner: Owner, ttlSeconds: number): void {
    this.pins.set(uuid, { owner, expires: this.now() + ttlSeconds * 1000 });
  }

  sweep(): void {
    const t = this.now();
    for (const [k, p] of this.pins) if (p.expires <= t) this.pins.delete(k);
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

  constructor(url: string, private readonly now: () => number = Date.now) {
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    this.redis.on('error', () => { /* surfaced by the failing command; avoids an unhandled 'error' */ });
  }

  async get(uuid: string): Promise<Owner | null> {
    const v = await this.redis.get(RedisPinStore.PREFIX + uuid);
    return v === 'python' || v === 'go' ? v : null;
  }

  async set(uuid: string, owner: Owner, ttlSeconds: number): Promise<void> {
    const expires = this.now() + ttlSeconds * 1000;
    await this.redis.multi()
      .set(RedisPinStore.PREFIX + uuid, owner, 'EX', Math.max(1, Math.ceil(ttlSeconds)))
      .zadd(RedisPinStore.INDEX, expires, uuid)
      .exec();
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
