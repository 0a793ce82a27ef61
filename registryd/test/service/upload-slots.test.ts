/**
 * The per-client bound on upload sessions as pure state (upload-slots.ts):
 * slots taken at start and given back at the end of a session, a client's
 * abandoned (idle) session taken over by its next start, busy sessions never,
 * clients independent. Time is passed in; nothing waits.
 */
import t from 'tap';
import { UploadSlots } from '../../service/upload-slots.js';

const IDLE = 60_000;
const T0 = 1_000_000;

t.test('a client gets `perClient` slots; the next start is refused until one is given back', async (t) => {
  const s = new UploadSlots({ perClient: 3, idleMs: IDLE });
  for (const id of ['u1', 'u2', 'u3']) t.same(s.admit('a', id, T0), { kind: 'admitted' });
  t.same(s.admit('a', 'u4', T0 + 10), { kind: 'refused', retryAfterMs: IDLE - 10 }, 'refused, with when the oldest may be taken over');
  t.equal(s.held('a'), 3, 'a refusal takes nothing');
  t.same(s.admit('b', 'v1', T0), { kind: 'admitted' }, 'another client is not affected');
  s.release('u2');
  t.equal(s.held('a'), 2);
  t.same(s.admit('a', 'u4', T0 + 20), { kind: 'admitted' }, 'a released slot is free again');
  s.release('u2');
  s.release('nope');
  t.equal(s.held('a'), 3, 'releasing twice or an unknown session changes nothing');
  for (const id of ['u1', 'u3', 'u4']) s.release(id);
  s.release('v1');
  t.equal(s.size, 0, 'nothing left behind');
});

t.test("a session idle past idleMs is taken over by its client's next start; the oldest first", async (t) => {
  const s = new UploadSlots({ perClient: 2, idleMs: IDLE });
  s.admit('a', 'old', T0);
  s.admit('a', 'newer', T0 + 1000);
  t.same(s.admit('a', 'x', T0 + IDLE - 1), { kind: 'refused', retryAfterMs: 1 });
  t.same(s.admit('a', 'x', T0 + IDLE), { kind: 'reclaimed', abandoned: 'old' });
  t.equal(s.held('a'), 2);
  s.release('old');
  t.equal(s.held('a'), 2, 'the abandoned session no longer counts');
  t.same(s.admit('b', 'y', T0 + 10 * IDLE), { kind: 'admitted' }, "only the client's own sessions are taken over");
  t.equal(s.held('a'), 2);
});

t.test('a session with a request running is never idle; a request refreshes it', async (t) => {
  const s = new UploadSlots({ perClient: 1, idleMs: IDLE });
  s.admit('a', 'u1', T0);
  s.begin('u1', T0 + 10);
  t.same(s.admit('a', 'u2', T0 + 100 * IDLE), { kind: 'refused', retryAfterMs: IDLE }, 'a chunk streaming for hours is not abandoned');
  s.end('u1', T0 + 100 * IDLE);
  t.same(s.admit('a', 'u2', T0 + 100 * IDLE + 5), { kind: 'refused', retryAfterMs: IDLE - 5 }, 'the end of the request counts as use');
  t.same(s.admit('a', 'u2', T0 + 101 * IDLE), { kind: 'reclaimed', abandoned: 'u1' });
  s.begin('unknown', T0);
  s.end('unknown', T0);
  t.equal(s.size, 1, 'requests on sessions not counted (begun before a restart) are ignored');
});

t.test('forgetUnusedSince drops sessions unused since the cutoff, never busy ones', async (t) => {
  const s = new UploadSlots({ perClient: 5, idleMs: IDLE });
  s.admit('a', 'old', T0);
  s.admit('a', 'busy', T0);
  s.begin('busy', T0);
  s.admit('b', 'recent', T0 + 100);
  t.equal(s.forgetUnusedSince(T0 + 50), 1);
  t.equal(s.held('a'), 1, 'the busy one stays');
  t.equal(s.held('b'), 1, 'the recent one stays');
  s.end('busy', T0 + 10);
  t.equal(s.forgetUnusedSince(T0 + 1000), 2);
  t.equal(s.size, 0);
});
