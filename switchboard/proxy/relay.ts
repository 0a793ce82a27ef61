/**
 * One upstream answer relayed into the client's response: an undici dispatch
 * handler that writes straight into the ServerResponse. It does what
 * Pool.stream would, minus what the proxy has no use for on every request
 * (an async resource, a promise, a headers object built and flattened again,
 * end-of-stream listeners on the response, signal plumbing), which is most
 * of what the switchboard costs over a bare forwarder (bench:proxy).
 *
 *   onConnect   the upstream request can be aborted: a client already gone aborts it now
 *   onHeaders   1xx ignored; otherwise the head is built by the caller and written
 *   onData      written on; the upstream is paused while the client is slower (drain resumes it)
 *   onComplete  the response ends
 *   onError     the caller's (it answers, retries or cuts the response)
 */
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ShadowTap } from './shadow.js';

/** The client went away: what aborts its upstream request. */
export interface Cancel {
  readonly aborted: boolean;
  once(event: 'abort', fn: () => void): void;
  removeListener(event: 'abort', fn: () => void): void;
}

const CLIENT_GONE = Object.freeze(Object.assign(new Error('the client closed its connection'), { code: 'client_gone' }));

export class Relay implements Dispatcher.DispatchHandler {
  private resumeUpstream: (() => void) | null = null;
  private abortUpstream: ((err?: Error) => void) | null = null;
  private waitingForDrain = false;

  /**
   * `head` returns the response headers for the status and the upstream's raw
   * headers (and may throw: then the request fails like an upstream error);
   * `failed` gets every error after the request was dispatched.
   */
  constructor(
    private readonly res: ServerResponse,
    private readonly cancel: Cancel,
    private readonly head: (statusCode: number, raw: Buffer[]) => string[],
    private readonly failed: (err: Error) => void,
    /** Shadowing this request: the owner's body as it goes to the client. */
    private readonly tap: ShadowTap | null = null,
  ) {}

  private readonly clientGone = (): void => {
    this.abortUpstream?.(CLIENT_GONE);
  };

  private readonly drained = (): void => {
    this.waitingForDrain = false;
    this.resumeUpstream?.();
  };

  onConnect(abort: (err?: Error) => void): void {
    if (this.cancel.aborted) {
      abort(CLIENT_GONE);
      return;
    }
    this.abortUpstream = abort;
    this.cancel.once('abort', this.clientGone);
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void): boolean {
    // An interim answer (100 Continue, 103 Early Hints) is the upstream's business: the proxy answers 100 itself.
    if (statusCode < 200) return true;
    this.resumeUpstream = resume;
    this.res.writeHead(statusCode, this.head(statusCode, raw));
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.tap !== null) this.tap.chunk(chunk);
    if (this.res.write(chunk)) return true;
    if (!this.waitingForDrain) {
      this.waitingForDrain = true;
      this.res.once('drain', this.drained);
    }
    return false;
  }

  onComplete(): void {
    this.cancel.removeListener('abort', this.clientGone);
    this.res.end();
  }

  onError(err: Error): void {
    this.cancel.removeListener('abort', this.clientGone);
    this.failed(err);
  }
}
