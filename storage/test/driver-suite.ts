/**
 * The storage-driver contract, as one suite every driver runs (local now, S3
 * next): keys, ranges, chunk writes with roll-back, atomic commit.
 */
import type { Test } from 'tap';
import { Readable } from 'node:stream';
import { StorageError, type StorageDriver } from '../driver.js';

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function code(p: Promise<unknown>): Promise<string | null> {
  try {
    await p;
    return null;
  } catch (e) {
    return e instanceof StorageError ? e.code : `not a StorageError: ${String(e)}`;
  }
}

async function* pieces(...bufs: (Buffer | Error)[]): AsyncIterable<Buffer> {
  for (const b of bufs) {
    if (b instanceof Error) throw b;
    yield b;
  }
}

export function driverSuite(t: Test, make: () => StorageDriver): void {
  t.test('upload objects: create, write chunks at offsets, read back', async (t) => {
    const d = make();
    await d.createUpload('uploads/u1');
    t.equal(await d.stat('uploads/u1'), 0);
    t.equal(await d.writeChunk('uploads/u1', pieces(Buffer.from('hello '), Buffer.from('world')), { offset: 0 }), 11);
    t.equal(await d.writeChunk('uploads/u1', pieces(Buffer.from('!')), { offset: 11 }), 1);
    t.equal((await d.readAll('uploads/u1')).toString(), 'hello world!');
  });

  t.test('a failed chunk is rolled back to its offset; leftovers past the offset are cut', async (t) => {
    const d = make();
    await d.createUpload('uploads/u2');
    await d.writeChunk('uploads/u2', pieces(Buffer.from('0123456789')), { offset: 0 });
    t.equal(await code(d.writeChunk('uploads/u2', pieces(Buffer.from('abc'), new Error('client gone')), { offset: 10 })), 'REG_STORAGE_ABORTED');
    t.equal((await d.readAll('uploads/u2')).toString(), '0123456789');
    t.equal(await code(d.writeChunk('uploads/u2', pieces(Buffer.alloc(10), Buffer.alloc(10)), { offset: 10, maxBytes: 15 })), 'REG_STORAGE_TOO_LARGE');
    t.equal(await d.stat('uploads/u2'), 10);
    const ac = new AbortController();
    ac.abort();
    t.equal(await code(d.writeChunk('uploads/u2', pieces(Buffer.from('x')), { offset: 10, signal: ac.signal })), 'REG_STORAGE_ABORTED');
    t.equal(await d.stat('uploads/u2'), 10);
    // A writer that resumes at an offset below the object's length overwrites the rest.
    t.equal(await d.writeChunk('uploads/u2', pieces(Buffer.from('XY')), { offset: 5 }), 2);
    t.equal((await d.readAll('uploads/u2')).toString(), '01234XY');
  });

  t.test('onData sees every byte written, in order', async (t) => {
    const d = make();
    await d.createUpload('uploads/u3');
    const seen: Buffer[] = [];
    await d.writeChunk('uploads/u3', pieces(Buffer.from('ab'), Buffer.from('cd')), { offset: 0, onData: (c) => seen.push(Buffer.from(c)) });
    t.equal(Buffer.concat(seen).toString(), 'abcd');
  });

  t.test('commit is a move; committing onto an existing key keeps the existing bytes and drops the source', async (t) => {
    const d = make();
    await d.createUpload('uploads/u4');
    await d.writeChunk('uploads/u4', pieces(Buffer.from('blob')), { offset: 0 });
    await d.commit('uploads/u4', 'sha256/ab/abcd');
    t.equal(await d.stat('uploads/u4'), null);
    t.equal((await d.readAll('sha256/ab/abcd')).toString(), 'blob');
    await d.createUpload('uploads/u5');
    await d.writeChunk('uploads/u5', pieces(Buffer.from('blob')), { offset: 0 });
    await d.commit('uploads/u5', 'sha256/ab/abcd');
    t.equal(await d.stat('uploads/u5'), null);
    t.same(await d.list('uploads'), []);
    t.same(await d.list('sha256'), ['sha256/ab/abcd']);
  });

  t.test('ranges and missing keys', async (t) => {
    const d = make();
    await d.createUpload('uploads/u6');
    await d.writeChunk('uploads/u6', pieces(Buffer.from('0123456789')), { offset: 0 });
    t.equal((await readAll(await d.read('uploads/u6', { start: 2, end: 5 }))).toString(), '2345');
    t.equal((await readAll(await d.read('uploads/u6'))).toString(), '0123456789');
    t.equal(await code(d.read('sha256/00/missing')), 'REG_STORAGE_NOT_FOUND');
    t.equal(await code(d.readAll('sha256/00/missing')), 'REG_STORAGE_NOT_FOUND');
    t.equal(await code(d.writeChunk('uploads/none', pieces(Buffer.from('x')), { offset: 0 })), 'REG_STORAGE_NOT_FOUND');
    t.equal(await d.stat('sha256/00/missing'), null);
    await d.delete('sha256/00/missing');
    t.pass('deleting a missing key is not an error');
    t.equal(await code(d.stat('../escape')), 'REG_STORAGE_IO', 'keys cannot leave the root');
  });
}
