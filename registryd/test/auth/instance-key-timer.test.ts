/**
 * The instance key's refresh timer at the extremes of INSTANCE_SERVICE_KEY_EXPIRATION
 * (issue 15): Quay's recipes set 5256000 minutes, whose third overflows Node's
 * 32-bit timer and would fire every millisecond.
 */
import t from 'tap';
import { MAX_TIMER_MS, refreshIntervalMs } from '../../../domain/auth/instance-key.js';

t.test('refresh interval: a third of the lifetime, within what a Node timer holds', async (t) => {
  t.equal(refreshIntervalMs(120), 40 * 60_000, "Quay's default, 120 minutes: every 40 minutes");
  t.equal(refreshIntervalMs(5_256_000), MAX_TIMER_MS, 'ten years: the longest timer, not 1 ms');
  t.equal(refreshIntervalMs(1), 20_000);
  t.equal(refreshIntervalMs(0.1), 10_000, 'never more often than every 10 s');
  t.equal(refreshIntervalMs(Number.MAX_SAFE_INTEGER), MAX_TIMER_MS);
  t.equal(refreshIntervalMs(Infinity), MAX_TIMER_MS);
  // A real timer with the longest delay does not fire at once (Node warns and uses 1 ms past the limit).
  let fired = false;
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w.name);
  };
  process.on('warning', onWarning);
  const timer = setInterval(() => {
    fired = true;
  }, refreshIntervalMs(5_256_000));
  await new Promise((r) => setTimeout(r, 50));
  clearInterval(timer);
  process.off('warning', onWarning);
  t.equal(fired, false, 'the timer waits');
  t.notOk(warnings.includes('TimeoutOverflowWarning'), 'no TimeoutOverflowWarning');
});
