/**
 * repositoryactioncounter (dal/portable/action-counts.ts +
 * programs/repositoryactioncounter.ts) on SQLite and a fresh PostgreSQL:
 * yesterday's actions from the three log tables, midnight to midnight in
 * local time; a repository already counted is left alone; the search score
 * from the stored counts in Quay's buckets; an existing score row updated
 * with the time, a new one created with the day; expired counts removed
 * only with FEATURE_CLEAR_EXPIRED_RAC_ENTRIES; another worker's count wins.
 * The clock is a variable. Needs the local PostgreSQL; fails, never skips.
 */
import t from 'tap';
import { storedReferrerFields, storedSizeFields } from '../../registryd/index.js';
import { openStoreSides } from '../../dal/test/lib/store-sides.js';
import { localDay, sqlLocalTime } from '../../dal/model/time.js';
import { ActionCounts } from '../../dal/portable/action-counts.js';
import { createLogger } from '../../lib/log.js';
import { dataTierPrograms } from '../programs/index.js';
import { repositoryActionCounter, searchScore } from '../programs/repositoryactioncounter.js';
import { LocalStorage } from '../../storage/local.js';
import { tempDir } from '../../test/lib/proc.js';

const { sides } = await openStoreSides(t);
const quiet = createLogger({}, { write: () => {} });

/** 2026-12-04 10:00 local time: yesterday is 2026-12-03. */
const NOW = new Date(2026, 11, 4, 10, 0, 0, 0).getTime();
const HOUR = 3_600_000;
/** Local midnight starting 2026-12-03 (DST-safe: built from the calendar). */
const YESTERDAY_START = new Date(2026, 11, 3, 0, 0, 0, 0).getTime();
const TODAY_START = new Date(2026, 11, 4, 0, 0, 0, 0).getTime();

t.test('the score arithmetic is Quay’s: mean per bucket × weight, ×100, truncated', async (t) => {
  t.equal(
    searchScore([
      { sum: 5, days: 1 },
      { sum: 10, days: 1 },
      { sum: 20, days: 1 },
      { sum: 30, days: 1 },
    ]),
    2631,
  );
  t.equal(
    searchScore([
      { sum: null, days: 0 },
      { sum: 0, days: 0 },
      { sum: 3, days: 2 },
      { sum: null, days: 0 },
    ]),
    32,
    '1.5 × 0.21604 × 100 = 32.4 → 32',
  );
  t.equal(
    searchScore([
      { sum: 0, days: 1 },
      { sum: null, days: 0 },
      { sum: null, days: 0 },
      { sum: null, days: 0 },
    ]),
    0,
  );
});

for (const s of sides) {
  const ns = `rac${s.kind}`;
  const dateText = (v: unknown): string => String(v).slice(0, 10);

  t.test(`${s.kind}: yesterday's actions counted, the score recomputed, expired counts kept unless asked`, async (t) => {
    const a = await s.meta.createRepository(ns, 'a', 'private', NOW);
    const b = await s.meta.createRepository(ns, 'b', 'private', NOW);
    const c = await s.meta.createRepository(ns, 'c', 'private', NOW);
    const kind = Number((await s.raw('SELECT id FROM logentrykind ORDER BY id LIMIT 1'))[0]!.id);
    const account = Number((await s.raw('SELECT id FROM "user" WHERE username = ?', ns))[0]!.id);
    const log = (table: string, repo: number, ms: number): Promise<unknown> =>
      s.raw(`INSERT INTO ${table} (kind_id, account_id, repository_id, datetime, metadata_json) VALUES (?, ?, ?, ?, '{}')`, kind, account, repo, sqlLocalTime(ms));
    // a: five actions yesterday (its first and last millisecond included), one today, one the day before.
    await log('logentry3', a.id, YESTERDAY_START);
    await log('logentry3', a.id, YESTERDAY_START + 12 * HOUR);
    await log('logentry3', a.id, TODAY_START - 1);
    await log('logentry2', a.id, YESTERDAY_START + HOUR);
    await log('logentry', a.id, YESTERDAY_START + 2 * HOUR);
    await log('logentry3', a.id, TODAY_START);
    await log('logentry3', a.id, YESTERDAY_START - 1);
    await log('logentry3', b.id, YESTERDAY_START + HOUR);
    const rac = (repo: number, daysAgo: number, count: number): Promise<unknown> =>
      s.raw('INSERT INTO repositoryactioncount (repository_id, count, date) VALUES (?, ?, ?)', repo, count, localDay(NOW, -daysAgo));
    await rac(a.id, 3, 10);
    await rac(a.id, 10, 20);
    await rac(a.id, 40, 30);
    await rac(a.id, 364, 7);
    await rac(a.id, 365, 8);
    await rac(a.id, 400, 99);
    await rac(b.id, 1, 9); // b was counted already
    await s.raw('INSERT INTO repositorysearchscore (repository_id, score, last_updated) VALUES (?, 1, ?)', a.id, '2026-01-01 00:00:00');

    const counts = new ActionCounts(s.dal.sql);
    t.equal(await counts.countActions(a.id, localDay(NOW, -1), localDay(NOW, 0)), 5, "a's actions yesterday, from the three log tables");
    t.same(await counts.missing(localDay(NOW, -1), 0, 100), [a.id, c.id], 'a and c lack a count');

    let now = NOW;
    const program = repositoryActionCounter({ sql: s.dal.sql, log: quiet, quayConfig: {}, now: () => now });
    t.match(await program.run(() => true), { day: '2026-12-03', counted: 2, taken_by_another: 0, expired_deleted: 0 });
    const racRows = async (repo: number): Promise<[string, number][]> =>
      (await s.raw('SELECT CAST(date AS TEXT) AS d, count FROM repositoryactioncount WHERE repository_id = ? ORDER BY date', repo)).map((r) => [dateText(r.d), Number(r.count)]);
    t.same((await racRows(a.id)).at(-1), ['2026-12-03', 5], 'a counted for yesterday');
    t.same(await racRows(b.id), [['2026-12-03', 9]], 'b kept the count it had');
    t.same(await racRows(c.id), [['2026-12-03', 0]], 'c counted as zero');
    const scores = async (): Promise<Record<number, [number, string]>> =>
      Object.fromEntries(
        (await s.raw('SELECT repository_id, score, CAST(last_updated AS TEXT) AS at FROM repositorysearchscore WHERE repository_id IN (?, ?, ?)', a.id, b.id, c.id)).map((r) => [
          Number(r.repository_id),
          [Number(r.score), String(r.at)],
        ]),
      );
    const sc = await scores();
    t.equal(sc[a.id]![0], 2631, "a's score: 5 × 0.01087 + 10 × 0.062815 + 20 × 0.21604 + 30 × 0.71028, ×100, truncated");
    t.equal(sc[a.id]![1], s.kind === 'pg' ? '2026-12-04 10:00:00' : '2026-12-04 10:00:00.000000', "an existing row takes the time (Python's datetime.now())");
    t.same(sc[c.id], [0, s.kind === 'pg' ? '2026-12-04 00:00:00' : '2026-12-04'], "a new row is created with the day (Python's date.today())");
    t.notOk(sc[b.id], 'b was not scored (it was not counted)');
    t.equal((await racRows(a.id)).length, 7, 'without FEATURE_CLEAR_EXPIRED_RAC_ENTRIES nothing expires');

    t.equal(await program.run(() => true), null, 'the next pass finds every repository counted');

    // The next day, with expired entries cleared.
    now = NOW + 24 * HOUR;
    const clearing = repositoryActionCounter({ sql: s.dal.sql, log: quiet, quayConfig: { FEATURE_CLEAR_EXPIRED_RAC_ENTRIES: true }, now: () => now });
    t.match(await clearing.run(() => true), { day: '2026-12-04', counted: 3 });
    t.same(
      (await racRows(a.id)).map(([d]) => d),
      [localDay(NOW, -364), localDay(NOW, -40), localDay(NOW, -10), localDay(NOW, -3), '2026-12-03', '2026-12-04'],
      'counts dated before the day a year ago are gone; the one of that very day stays (Peewee compares the date with the date of now less 365 days)',
    );
  });

  t.test(`${s.kind}: another worker's count or score wins; a stopped pass stops; logs elsewhere idle the program`, async (t) => {
    const r = await s.meta.createRepository(ns, 'race', 'private', NOW);
    const counts = new ActionCounts(s.dal.sql);
    t.equal(await counts.store(r.id, '2026-12-01', 3), true);
    t.equal(await counts.store(r.id, '2026-12-01', 4), false, 'a second count for the same day is refused');
    t.equal(await counts.saveScore(r.id, 5, sqlLocalTime(NOW), '2026-12-04'), true);
    t.equal(await counts.saveScore(r.id, 6, sqlLocalTime(NOW), '2026-12-04'), true, 'an existing score is updated');
    t.same(await s.raw('SELECT score FROM repositorysearchscore WHERE repository_id = ?', r.id).then((rows) => rows.map((x) => Number(x.score))), [6]);

    const stopped = repositoryActionCounter({ sql: s.dal.sql, log: quiet, quayConfig: {}, now: () => NOW + 10 * 24 * HOUR });
    t.match(await stopped.run(() => false), { counted: 0, stopped: true }, 'a pass told to stop counts nothing more');

    const lines: string[] = [];
    const elsewhere = repositoryActionCounter({
      sql: s.dal.sql,
      log: createLogger({}, { write: (l: string) => lines.push(l) }),
      quayConfig: { LOGS_MODEL: 'elasticsearch' },
      now: () => NOW,
    });
    t.equal(await elsewhere.run(() => true), null);
    t.match(lines.join(''), /LOGS_MODEL is elasticsearch/, 'it says why it idles');
  });
}

t.test('the program is registered among the data tier programs', async (t) => {
  const s = sides[0]!;
  const programs = dataTierPrograms({
    referrerFields: storedReferrerFields,
    sizeFields: storedSizeFields,
    sql: s.dal.sql,
    dal: s.dal,
    storage: new LocalStorage(tempDir(t, 'rac-')),
    log: quiet,
    quayConfig: {},
    metrics: null,
  });
  t.ok(programs.find((p) => p.program === 'repositoryactioncounter'));
  t.equal(programs.find((p) => p.program === 'repositoryactioncounter')!.everyMs, 4 * HOUR, "every 4 hours, as Quay's");
});
