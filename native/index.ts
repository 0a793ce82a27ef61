/**
 * The project's native addon (node-gyp builds it at `npm ci` from this
 * folder's C files into build/Release under the package root), or null when
 * it is not built: every user has a TypeScript fallback.
 *
 * SWITCHBOARD_NATIVE=off disables it (the fallbacks then run; tests use this).
 */
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeAddon {
  /** Compress whole 64-byte blocks of `data` into the eight SHA-256 words `h`, in place. */
  sha256_blocks(h: Int32Array, data: Uint8Array): void;
  /** Copy `count` bytes of `fileFd` from `offset` to the socket on a worker thread (file-send.c). */
  send_file(sockFd: number, fileFd: number, offset: number, count: number): Promise<number>;
  /** Move exactly `count` bytes from one socket to another on a worker thread (relay.c). */
  relay(fromFd: number, toFd: number, count: number): Promise<number>;
}

function load(): NativeAddon | null {
  if (process.env.SWITCHBOARD_NATIVE === 'off') return null;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = join(dir, 'build', 'Release', 'switchboard_native.node');
    if (existsSync(file)) {
      try {
        return createRequire(import.meta.url)(file) as NativeAddon;
      } catch {
        return null;
      }
    }
    dir = dirname(dir);
  }
  return null;
}

export const native: NativeAddon | null = load();

/** The kernel descriptor of a plain TCP socket, or -1 (TLS, pipes, anything else). */
export function socketFd(sock: Socket | null | undefined): number {
  if (!sock || sock instanceof TLSSocket) return -1;
  const fd = (sock as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

/**
 * Worker-thread transfers at once, across the whole process (registryd's
 * blob sends and the switchboard's relays share the budget): each holds a
 * libuv worker thread while its peer reads, and half the pool stays free for
 * file I/O.
 */
export const WORKER_SLOTS = Math.max(1, Math.floor((Number(process.env.UV_THREADPOOL_SIZE) || 4) / 2));
let workersBusy = 0;

export function workerSlotFree(): boolean {
  return workersBusy < WORKER_SLOTS;
}

/** Take a slot (check workerSlotFree first); the returned function gives it back. */
export function holdWorkerSlot(): () => void {
  workersBusy++;
  let held = true;
  return () => {
    if (held) {
      held = false;
      workersBusy--;
    }
  };
}

/** Resolves once everything Node queued on the socket has left: from then on native code may write to it directly. */
export function queuedWritesFlushed(sock: Socket): Promise<void> {
  return new Promise((resolve, reject) => sock.write(Buffer.alloc(0), (e) => (e ? reject(e) : resolve())));
}
