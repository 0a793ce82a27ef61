/**
 * One password check per name at a time (login-queue.ts), with a check
 * function the test settles by hand: nothing is timed.
 */
import t from 'tap';
import { LoginQueue, type LoginTurn } from '../passwords/login-queue.js';
import { PasswordCheckBusy } from '../passwords/bcrypt-pool.js';

/** A check that answers when told to, and counts its calls. */
function manualCheck(): { check: (p: string, h: string | null) => Promise<boolean>; calls: string[]; settle(): void } {
  const calls: string[] = [];
  const waiting: (() => void)[] = [];
  return {
    calls,
    check: (password, hash) => {
      calls.push(password);
      return new Promise((resolve) => waiting.push(() => resolve(hash === `hash-of-${password}`)));
    },
    settle: () => {
      for (const w of waiting.splice(0)) w();
    },
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('attempts on one name run one at a time; other names do not wait', async (t) => {
  const m = manualCheck();
  const q = new LoginQueue(16, m.check);
  const seen: { name: string; waited: boolean }[] = [];
  const attempt = (name: string, password: string): Promise<boolean> =>
    q.run(name, (turn: LoginTurn) => {
      seen.push({ name, waited: turn.waited });
      return turn.verify(password, `hash-of-${name}-pw`);
    });
  const a1 = attempt('alice', 'guess-1');
  const a2 = attempt('alice', 'guess-2');
  const b1 = attempt('bob', 'bob-pw');
  await tick();
  t.same(m.calls, ['guess-1', 'bob-pw'], "alice's second attempt waits; bob's runs");
  m.settle();
  t.equal(await a1, false);
  t.equal(await b1, true);
  await tick();
  t.same(m.calls, ['guess-1', 'bob-pw', 'guess-2'], 'then the second runs');
  m.settle();
  t.equal(await a2, false);
  t.same(seen, [
    { name: 'alice', waited: false },
    { name: 'bob', waited: false },
    { name: 'alice', waited: true },
  ]);
});

t.test('attempts that waited behind the same password take its verdict', async (t) => {
  const m = manualCheck();
  const q = new LoginQueue(16, m.check);
  const attempt = (password: string, hash = 'hash-of-right'): Promise<boolean> => q.run('alice', (turn) => turn.verify(password, hash));
  const all = [attempt('right'), attempt('right'), attempt('right'), attempt('wrong'), attempt('right', 'hash-of-new')];
  for (let i = 0; i < 5; i++) {
    await tick();
    m.settle();
  }
  t.same(await Promise.all(all), [true, true, true, false, false]);
  t.same(m.calls, ['right', 'wrong', 'right'], 'one check for the three identical attempts; another password or hash is checked');
});

t.test('past maxWaiting, an attempt is refused at once', async (t) => {
  const m = manualCheck();
  const q = new LoginQueue(2, m.check);
  const attempt = (): Promise<boolean> => q.run('alice', (turn) => turn.verify('x', 'h'));
  const running = [attempt(), attempt(), attempt()];
  await t.rejects(attempt(), PasswordCheckBusy, 'one running and two waiting: the fourth is refused');
  t.equal(await q.run('bob', async () => 'ran'), 'ran', 'another name is not');
  for (let i = 0; i < 3; i++) {
    await tick();
    m.settle();
  }
  t.same(await Promise.all(running), [false, false, false]);
  const again = attempt();
  await tick();
  m.settle();
  t.equal(await again, false, 'once the burst is over, attempts run again');
});
