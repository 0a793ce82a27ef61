/**
 * Group commit for rows written on the hot path (action logs: one per
 * manifest GET). Rows added within one turn of the event loop, or while the
 * previous batch is being written, are written together by the next batch,
 * in one transaction; each add() resolves once its row is committed and
 * rejects with its batch's error. A request still waits for its own row
 * before it is answered (Quay's strict logging: a failed write fails the
 * request), but N concurrent requests pay for one commit instead of N: on
 * SQLite a commit costs far more than the row, on PostgreSQL a round trip.
 * Batches never go into a dal.tx() transaction: on SQLite the writer waits at
 * the connection's gate (sqlite/gate.ts), on PostgreSQL it uses its own pooled
 * client; a transaction's own log rows are inserted in it, not grouped.
 */
interface Waiting<T> {
  readonly item: T;
  resolve(): void;
  reject(e: unknown): void;
}

export class GroupCommit<T> {
  private pending: Waiting<T>[] = [];
  private running: Promise<void> | null = null;
  private scheduled = false;

  /** `write` stores a batch in one transaction (all or nothing). */
  constructor(
    private readonly write: (items: readonly T[]) => Promise<void> | void,
    private readonly maxBatch = 256,
  ) {}

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves when every row added so far is written (or failed): before the database closes. */
  async drain(): Promise<void> {
    while (this.running || this.pending.length > 0) {
      if (!this.running) this.flush();
      await this.running;
    }
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.running) this.flush();
    });
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending.splice(0, this.maxBatch);
    this.running = (async () => {
      try {
        await this.write(batch.map((w) => w.item));
        for (const w of batch) w.resolve();
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
    })().finally(() => {
      this.running = null;
      if (this.pending.length > 0) this.schedule();
    });
  }
}
