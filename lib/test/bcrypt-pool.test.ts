/**
 * bcrypt off the event loop (issue 14): the pool's worker threads do the
 * checks, the loop keeps turning during a burst of them, a full queue is
 * refused at once (PasswordCheckBusy), and the compiled pool (dist/, a .js
 * worker) answers a one-shot command and lets its process exit.
 * Nothing here measures time: loop turns and thread ids are counted.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import bcrypt from 'bcryptjs';
import { BcryptPool, PasswordCheckBusy, sharedBcryptPool } from '../passwords/bcrypt-pool.js';
import { hashPassword, verifyPassword } from '../passwords/passwords.js';
import { ROOT, tempDir } from '../../test/lib/proc.js';
import { buildOnce } from '../../switchboard/test/proxy/lib/harness.js';

/** A well-formed cost-31 hash: 2^31 rounds, a check that never ends while the test runs. */
const ENDLESS = '$2b$31$' + 'A'.repeat(22) + 'B'.repeat(31);

/** setImmediate turns of the event loop while `work` runs. */
async function turnsDuring(work: Promise<unknown>): Promise<number> {
  let turns = 0;
  let done = false;
  const spin = (): void => {
    if (!done) {
      turns++;
      setImmediate(spin);
    }
  };
  setImmediate(spin);
  await work.finally(() => {
    done = true;
  });
  return turns;
}

t.test('checks run on worker threads while the event loop keeps turning', async (t) => {
  const hash = bcrypt.hashSync('right', 10);
  const pool = sharedBcryptPool();
  const before = pool.stats().completedByThread;
  const doneBefore = Object.values(before).reduce((a, b) => a + b, 0);
  const burst = Promise.all(Array.from({ length: 8 }, (_, i) => verifyPassword(i === 0 ? 'right' : `wrong-${i}`, hash)));
  const turns = await turnsDuring(burst);
  t.same(await burst, [true, false, false, false, false, false, false, false], "bcrypt's verdicts");
  // bcrypt on the loop (even bcryptjs's async slices, ~100 ms each) leaves a few dozen turns for 8 cost-10 checks.
  t.ok(turns > 200, `the loop kept turning during the burst (${turns} turns)`);
  const after = pool.stats().completedByThread;
  const threads = Object.keys(after).map(Number);
  t.ok(threads.length >= 1 && threads.length <= pool.size, `the work happened on the pool's ${threads.length} thread(s)`);
  t.notOk(threads.includes(threadId), 'none on this thread');
  t.equal(Object.values(after).reduce((a, b) => a + b, 0) - doneBefore, 8, 'one job per check');
  t.ok(pool.size >= 1 && pool.size <= 2, 'min(2, cores - 1), at least 1');
});

t.test("hashes from the pool are Python bcrypt's format and verify", async (t) => {
  const h = await hashPassword('pw', 4);
  t.match(h, /^\$2b\$04\$.{53}$/);
  t.equal(await verifyPassword('pw', h), true);
  t.equal(await verifyPassword('pw!', h), false);
  t.equal(await verifyPassword('pw', '$2b$04$not-a-real-hash'), false, 'a hash bcrypt cannot read matches nothing');
  t.equal(await verifyPassword('pw', 'plaintext'), false, 'not bcrypt: never');
  t.equal(await verifyPassword('pw', null), false);
});

t.test('a full queue refuses at once, without waiting', async (t) => {
  const pool = new BcryptPool({ size: 1, maxQueue: 1 });
  t.teardown(() => pool.close());
  const outcome = (p: Promise<boolean>): Promise<string> => p.then(String, (e: Error) => e.message);
  const running = outcome(pool.compare('x', ENDLESS));
  const queued = outcome(pool.compare('y', ENDLESS));
  t.equal(pool.saturated, true, 'the worker busy and the queue full');
  await t.rejects(pool.compare('z', ENDLESS), PasswordCheckBusy, 'the next check is refused');
  t.match(pool.stats(), { size: 1, running: 1, queued: 1 });
  await pool.close();
  t.match(await running, /closed/, 'close ends the running check');
  t.match(await queued, /closed/, 'and the queued one');
  await t.rejects(pool.compare('x', ENDLESS), /closed/);
});

t.test('dist/: the compiled pool runs its .js worker, answers, and the process exits', async (t) => {
  await buildOnce();
  const hash = bcrypt.hashSync('right', 4);
  const script = `const m = await import(${JSON.stringify(join(ROOT, 'dist/lib/passwords/passwords.js'))});
    console.log(JSON.stringify([await m.verifyPassword('right', ${JSON.stringify(hash)}), await m.verifyPassword('wrong', ${JSON.stringify(hash)})]));`;
  const file = join(tempDir(t, 'bcrypt-pool-'), 'check.mjs');
  writeFileSync(file, script);
  // A plain node, without the test runner's TypeScript loader.
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '' } });
  t.equal(r.status, 0, `exit 0 (stderr: ${r.stderr})`);
  t.equal(r.signal, null, 'not killed by the timeout: idle workers keep nobody alive');
  t.same(JSON.parse(r.stdout), [true, false]);
});
