/**
 * Local-filesystem storage driver (Quay's LocalStorage layout under one root
 * directory). Blobs become visible only by rename, so a reader never sees a
 * partial blob; upload chunks are written at their offset and rolled back by
 * truncation when they fail.
 */
import { constants, createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { StorageError, type ByteRange, type ChunkWrite, type LocalFile, type StorageDriver } from './driver.js';

const READ_CHUNK = 1024 * 1024;

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}

export class LocalStorage implements StorageDriver {
  constructor(
    readonly root: string,
    readonly location = 'local_us',
  ) {}

  private file(key: string): string {
    if (key.includes('..') || key.startsWith('/')) throw new StorageError('REG_STORAGE_IO', `bad storage key ${JSON.stringify(key)}`);
    return join(this.root, ...key.split('/'));
  }

  async stat(key: string): Promise<number | null> {
    try {
      return (await stat(this.file(key))).size;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw new StorageError('REG_STORAGE_IO', `stat ${key}: ${String(e)}`, { cause: e });
    }
  }

  /** The key's file, opened; REG_STORAGE_NOT_FOUND when it does not exist. */
  private async openKey(key: string, flags: string | number): Promise<FileHandle> {
    try {
      return await open(this.file(key), flags);
    } catch (e) {
      if (isNotFound(e)) throw new StorageError('REG_STORAGE_NOT_FOUND', `${key} not found`);
      throw new StorageError('REG_STORAGE_IO', `open ${key}: ${String(e)}`, { cause: e });
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const fh = await this.openKey(key, constants.O_RDONLY);
    return createReadStream('', { fd: fh, start: range?.start, end: range?.end, highWaterMark: READ_CHUNK, autoClose: true });
  }

  async openLocal(key: string): Promise<LocalFile> {
    const fh = await this.openKey(key, constants.O_RDONLY);
    return { fd: fh.fd, close: () => fh.close() };
  }

  async readAll(key: string): Promise<Buffer> {
    try {
      return await readFile(this.file(key));
    } catch (e) {
      if (isNotFound(e)) throw new StorageError('REG_STORAGE_NOT_FOUND', `${key} not found`);
      throw new StorageError('REG_STORAGE_IO', `read ${key}: ${String(e)}`, { cause: e });
    }
  }

  async createUpload(key: string): Promise<void> {
    const f = this.file(key);
    await mkdir(dirname(f), { recursive: true });
    const fh = await open(f, 'w');
    await fh.close();
  }

  async writeChunk(key: string, body: AsyncIterable<Buffer>, opts: ChunkWrite): Promise<number> {
    const fh = await this.openKey(key, 'r+');
    let pos = opts.offset;
    try {
      // Bytes past the offset are left over from a chunk that never completed.
      await fh.truncate(opts.offset);
      for await (const chunk of body) {
        if (opts.signal?.aborted) throw new StorageError('REG_STORAGE_ABORTED', 'client went away');
        if (opts.maxBytes !== undefined && pos - opts.offset + chunk.length > opts.maxBytes) {
          throw new StorageError('REG_STORAGE_TOO_LARGE', `chunk exceeds ${opts.maxBytes} bytes`);
        }
        opts.onData?.(chunk);
        let done = 0;
        while (done < chunk.length) {
          const { bytesWritten } = await fh.write(chunk, done, chunk.length - done, pos);
          done += bytesWritten;
          pos += bytesWritten;
        }
      }
      if (opts.signal?.aborted) throw new StorageError('REG_STORAGE_ABORTED', 'client went away');
      return pos - opts.offset;
    } catch (e) {
      await fh.truncate(opts.offset).catch(() => {});
      if (e instanceof StorageError) throw e;
      throw new StorageError('REG_STORAGE_ABORTED', `chunk not completed: ${String(e)}`, { cause: e });
    } finally {
      await fh.close();
    }
  }

  async commit(from: string, to: string): Promise<void> {
    const src = this.file(from);
    const dst = this.file(to);
    if ((await this.stat(to)) !== null) {
      await rm(src, { force: true });
      return;
    }
    await mkdir(dirname(dst), { recursive: true });
    try {
      await rename(src, dst);
    } catch (e) {
      if (isNotFound(e)) throw new StorageError('REG_STORAGE_NOT_FOUND', `${from} not found`);
      throw new StorageError('REG_STORAGE_IO', `rename ${from} → ${to}: ${String(e)}`, { cause: e });
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await unlink(this.file(key));
    } catch (e) {
      if (!isNotFound(e)) throw new StorageError('REG_STORAGE_IO', `delete ${key}: ${String(e)}`, { cause: e });
    }
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.file(prefix);
    try {
      const entries = await readdir(base, { recursive: true, withFileTypes: true });
      return entries
        .filter((e) => e.isFile())
        .map((e) =>
          relative(this.root, join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
            .split(sep)
            .join('/'),
        )
        .sort();
    } catch (e) {
      if (isNotFound(e)) return [];
      throw new StorageError('REG_STORAGE_IO', `list ${prefix}: ${String(e)}`, { cause: e });
    }
  }
}
