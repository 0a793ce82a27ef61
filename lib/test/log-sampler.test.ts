/** A flood of one log message (refused logins) is cut to a few lines per window plus a count of the rest (issue 14). */
import t from 'tap';
import { LogSampler, type Logger } from '../log.js';

t.test('at most perWindow lines per window, then one summary with the count left out', async (t) => {
  const lines: { msg: string; fields?: Record<string, unknown> }[] = [];
  const log = { warn: (msg: string, fields?: Record<string, unknown>) => lines.push({ msg, fields }) } as unknown as Logger;
  const s = new LogSampler(log, 'login refused', 3, 200);
  for (let i = 0; i < 10; i++) s.warn({ i });
  t.same(
    lines.map((l) => l.fields?.i),
    [0, 1, 2],
    'the first three logged as they came',
  );
  await new Promise((r) => setTimeout(r, 300));
  t.equal(lines.length, 4, 'one summary at the end of the window');
  t.match(lines[3], { msg: 'login refused: more of the same not logged', fields: { suppressed: 7, per_window: 3 } });
  s.warn({ i: 10 });
  t.equal(lines.length, 5, 'a new window logs again');
  t.equal(lines[4]!.fields?.i, 10);
});
