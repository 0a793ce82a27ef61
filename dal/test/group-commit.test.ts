/**
 * GroupCommit: rows added in one turn, or while a batch is being written,
 * share the next write; each add resolves when its batch is written and
 * rejects with its batch's error; drain waits for everything added.
 */
import t from 'tap';
import { GroupCommit } from '../model/group-commit.js';

t.test('concurrent rows share one write; later ones the next', async (t) => {
  const writes: number[][] = [];
  let release: () => void = () => {};
  const g = new GroupCommit<number>(async (items) => {
    writes.push([...items]);
    if (writes.length === 1)
      await new Promise<void>((r) => {
        release = r;
      });
  });
  const first = [1, 2, 3].map((n) => g.add(n));
  await new Promise((r) => setImmediate(r));
  t.same(writes, [[1, 2, 3]], 'one write for the turn');
  const second = [4, 5].map((n) => g.add(n));
  await new Promise((r) => setImmediate(r));
  t.same(writes.length, 1, 'nothing more while the first write runs');
  release();
  await Promise.all([...first, ...second]);
  t.same(writes, [
    [1, 2, 3],
    [4, 5],
  ]);
});

t.test('a failed write rejects its rows only', async (t) => {
  const g = new GroupCommit<string>((items) => {
    if (items.includes('bad')) throw new Error('disk full');
  });
  const a = g.add('bad');
  const b = g.add('x');
  await t.rejects(a, /disk full/);
  await t.rejects(b, /disk full/, 'the whole batch');
  await t.resolves(g.add('y'), 'the next batch is written');
});

t.test('batches are bounded; drain waits for all', async (t) => {
  const sizes: number[] = [];
  const g = new GroupCommit<number>((items) => {
    sizes.push(items.length);
  }, 4);
  for (let i = 0; i < 10; i++) void g.add(i);
  await g.drain();
  t.same(sizes, [4, 4, 2]);
  await g.drain();
  t.same(sizes, [4, 4, 2], 'nothing left');
});
