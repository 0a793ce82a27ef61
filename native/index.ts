/**
 * The project's native addon (node-gyp builds it at `npm ci` from this
 * folder's C files into build/Release under the package root), or null when
 * it is not built: every user has a TypeScript fallback.
 *
 * SWITCHBOARD_NATIVE=off disables it (the fallbacks then run; tests use this).
 */
import { existsSync } from 'node:fs';
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
