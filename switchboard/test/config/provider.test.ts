import t from 'tap';
import { mkdtempSync, writeFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInventory } from '../../../owner-maps/index.js';
import { FileSnapshotProvider } from '../../snapshots/provider.js';
import { decide } from '../../core/decide.js';

const inv = loadInventory();
const PULL = { method: 'GET', path: '/v2/acme/web/manifests/latest' };

function config(owner: string, extra = ''): string {
  return `# operator comment\nSERVER_HOSTNAME: quay.example.com\nMIGRATION:\n  ROUTE_OWNER_CAP_V2_PULL: ${owner}\n${extra}SWITCHBOARD:\n  POLL_INTERVAL_SECONDS: 1\n`;
}

function dir(t: { teardown(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'swb-provider-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Waits until `cond` holds, up to `ms`; returns the time it took, or -1. */
async function within(ms: number, cond: () => boolean): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (cond()) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond() ? Date.now() - t0 : -1;
}

t.test('an edited file is in force within 2 s (watch), versions increase', async (t) => {
  const file = join(dir(t), 'config.yaml');
  writeFileSync(file, config('python'));
  const p = await FileSnapshotProvider.start({ file, inventory: inv, pollSeconds: 15 });
  t.teardown(() => p.close());
  t.equal(p.current().version, 1);
  t.equal(p.current().hard_failure, false);
  t.equal(decide(p.current(), PULL).owner, 'python');

  writeFileSync(file, config('go'));
  const took = await within(2000, () => decide(p.current(), PULL).owner === 'go');
  t.ok(took >= 0, `in-place write propagated (took ${took} ms)`);
  t.equal(p.current().version, 2);

  // Editors and config management write a temp file and rename it over the original.
  // (Two edits of one file within ~50 ms can merge into one watch event; the poll
  // catches such a miss. Operators don't edit that fast: leave a realistic gap.)
  await new Promise((r) => setTimeout(r, 200));
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, config('python'));
  renameSync(tmp, file);
  const took2 = await within(2000, () => decide(p.current(), PULL).owner === 'python');
  t.ok(took2 >= 0, `write-and-rename propagated (took ${took2} ms)`);
  t.equal(p.current().version, 3);
  t.equal(p.stats().reloads_total, 3);
});

t.test('a bad edit keeps the last-known-good snapshot and is counted once', async (t) => {
  const file = join(dir(t), 'config.yaml');
  writeFileSync(file, config('go'));
  const p = await FileSnapshotProvider.start({ file, inventory: inv, watch: false, pollSeconds: 1 });
  t.teardown(() => p.close());
  const good = p.current();

  writeFileSync(file, config('gopher'));
  t.equal(await p.reload('test'), 'failed');
  t.equal(p.current(), good, 'same snapshot object still in force');
  t.equal(decide(p.current(), PULL).owner, 'go');
  const st = p.stats();
  t.equal(st.reload_failures_total, 1);
  t.equal(st.last_error?.issues[0]?.code, 'SWB_CONFIG_BAD_OWNER');
  t.equal(st.last_error?.issues[0]?.line, 4, 'names the line of the bad key');
  t.match(st.last_error?.issues[0]?.message ?? '', /ROUTE_OWNER_CAP_V2_PULL/);

  t.equal(await p.reload('poll'), 'failed');
  t.equal(p.stats().reload_failures_total, 1, 'the same broken content is not counted again');

  writeFileSync(file, 'MIGRATION: [unclosed\n');
  await p.reload('test');
  t.equal(p.stats().reload_failures_total, 2, 'a different broken content counts');
  t.equal(p.stats().last_error?.issues[0]?.code, 'SWB_CONFIG_YAML');

  writeFileSync(file, config('python'));
  t.equal(await p.reload('test'), 'installed');
  t.equal(decide(p.current(), PULL).owner, 'python');
  t.ok(p.current().version > good.version);
});

t.test('polling alone picks up a change', async (t) => {
  const file = join(dir(t), 'config.yaml');
  writeFileSync(file, config('python'));
  const p = await FileSnapshotProvider.start({ file, inventory: inv, watch: false, pollSeconds: 1 });
  t.teardown(() => p.close());
  writeFileSync(file, config('go'));
  const took = await within(3000, () => decide(p.current(), PULL).owner === 'go');
  t.ok(took >= 0, `poll propagated (took ${took} ms)`);
});

t.test('hard failure: no valid config ever loaded sends everything to python', async (t) => {
  const d = dir(t);
  const file = join(d, 'config.yaml');
  const p = await FileSnapshotProvider.start({ file, inventory: inv, pollSeconds: 15 });
  t.teardown(() => p.close());
  t.equal(p.current().hard_failure, true);
  t.equal(p.current().version, 0);
  const dec = decide(p.current(), PULL);
  t.equal(dec.owner, 'python');
  t.equal(dec.reason, 'hard_failure');
  t.equal(p.stats().last_error?.issues[0]?.code, 'SWB_CONFIG_UNREADABLE');

  writeFileSync(file, config('go'));
  const took = await within(2000, () => !p.current().hard_failure);
  t.ok(took >= 0, `file created later is loaded (took ${took} ms)`);
  t.equal(decide(p.current(), PULL).owner, 'go');

  // Deleting the file later keeps the last good snapshot.
  unlinkSync(file);
  await p.reload('test');
  t.equal(decide(p.current(), PULL).owner, 'go');
  t.equal(p.stats().last_error?.issues[0]?.code, 'SWB_CONFIG_UNREADABLE');
});

t.test('environment overrides apply on every reload; the kill switch works from the environment alone', async (t) => {
  const file = join(dir(t), 'config.yaml');
  writeFileSync(file, config('go'));
  const p = await FileSnapshotProvider.start({ file, inventory: inv, watch: false, env: { MIGRATION_FORCE_PYTHON: 'true' } });
  t.teardown(() => p.close());
  const d = decide(p.current(), PULL);
  t.equal(d.owner, 'python');
  t.equal(d.reason, 'force_python');
  writeFileSync(file, config('go', '  ROUTE_OWNER_DEFAULT: go\n'));
  await p.reload('test');
  t.equal(decide(p.current(), { method: 'GET', path: '/api/v1/user/' }).owner, 'python');
});

t.test('onChange listeners see each installed snapshot', async (t) => {
  const file = join(dir(t), 'config.yaml');
  writeFileSync(file, config('python'));
  const p = await FileSnapshotProvider.start({ file, inventory: inv, watch: false });
  t.teardown(() => p.close());
  const seen: number[] = [];
  p.onChange((s) => seen.push(s.version));
  writeFileSync(file, config('go'));
  await p.reload('test');
  await p.reload('test');
  t.same(seen, [2], 'one new snapshot, unchanged content installs nothing');
});
