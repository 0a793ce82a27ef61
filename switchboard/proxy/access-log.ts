/**
 * The JSON access log: one line per request (method, path, route_id,
 * capability, owner, reason, snapshot_version, status, bytes, duration).
 * Lines are batched per event-loop turn so logging costs one write per batch.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export interface AccessRecord {
  readonly time: string;
  readonly method: string;
  readonly path: string;
  readonly route_id: string | null;
  readonly capability: string | null;
  readonly family: string | null;
  readonly owner: string;
  readonly reason: string;
  readonly snapshot_version: number;
  readonly status: number;
  readonly bytes_sent: number;
  readonly bytes_received: number;
  readonly duration_ms: number;
  readonly client: string;
  readonly error?: string;
}

export class AccessLog {
  private buf: string[] = [];
  private scheduled = false;
  private readonly out: NodeJS.WritableStream | WriteStream | null;

  /** `dest`: stdout, stderr, off, or a file path (appended to). */
  constructor(readonly dest: string) {
    if (dest === 'off') this.out = null;
    else if (dest === 'stdout') this.out = process.stdout;
    else if (dest === 'stderr') this.out = process.stderr;
    else this.out = createWriteStream(dest, { flags: 'a' });
  }

  get enabled(): boolean {
    return this.out !== null;
  }

  write(r: AccessRecord): void {
    if (!this.out) return;
    this.buf.push(JSON.stringify(r));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (!this.out || this.buf.length === 0) return;
    const text = this.buf.join('\n') + '\n';
    this.buf = [];
    this.out.write(text);
  }

  async close(): Promise<void> {
    this.flush();
    const out = this.out;
    if (out && out !== process.stdout && out !== process.stderr) {
      await new Promise<void>((resolve) => (out as WriteStream).end(resolve));
    }
  }
}
