/**
 * autopruneworker (workers/programs/autopruneworker.ts, dal/portable/autoprune.ts)
 * on SQLite and on a fresh PostgreSQL, policies stored as Quay stores them
 * (the JSONField's text of json.dumps(config)): namespace and repository
 * policies, both methods, tag patterns matching and not; the task's claim,
 * interval, status and deletion; a disabled namespace skipped; Quay's tag
 * delete (Cosign siblings, children's `$temp-` tags, pull statistics); the
 * action log rows; DEFAULT_NAMESPACE_AUTOPRUNE_POLICY's registry-wide pass.
 * The real-Quay comparison is test/e2e/autoprune-quay.test.ts.
 * The clock is a variable; nothing waits. Needs the local PostgreSQL.
 */
import t from 'tap';
import { openStoreSides } from '../../dal/test/lib/store-sides.js';
import { digestOf as digest, testManifest as manifest } from '../../dal/test/lib/manifests.js';
import { createLogger } from '../../lib/log.js';
import { AutoPruneData, isCosignTag, notCosignTag } from '../../dal/portable/autoprune.js';
import { autoPruneProgram, policyProblem } from '../programs/autopruneworker.js';
import { idleReason } from '../features.js';

const { sides } = await openStoreSides(t);
const quiet = createLogger({}, { write: () => {} });

const T0 = Date.UTC(2026, 5, 1, 12, 0, 0, 0);
const DAY = 86_400_000;
const HOUR = 3_600_000;

t.test('policyProblem: the checks and messages of assert_valid_namespace_autoprune_policy', async (t) => {
  t.equal(policyProblem({ method: 'number_of_tags', value: 3 }), null);
  t.equal(policyProblem({ method: 'creation_date', value: '2w', tag_pattern: '^v', tag_pattern_matches: false }), null);
  t.equal(policyProblem({ method: 'nope', value: 3 }), 'Invalid method provided');
  t.equal(policyProblem({ method: 'number_of_tags', value: 0 }), 'Invalid value given for method type');
  t.equal(policyProblem({ method: 'number_of_tags', value: '3' }), 'Invalid value given for method type');
  t.equal(policyProblem({ method: 'creation_date', value: '3x' }), 'Invalid value given for method type');
  t.equal(policyProblem({ method: 'creation_date', value: '3d', tag_pattern: '' }), 'tag_pattern cannot be empty');
  t.equal(policyProblem({ method: 'creation_date', value: '3d', tag_pattern: 4 }), 'tag_pattern must be string');
  t.equal(policyProblem({ method: 'creation_date', value: '3d', tag_pattern_matches: 'yes' }), 'tag_pattern_matches must be bool');
});

t.test('autopruneworker idles as Quay’s: FEATURE_AUTO_PRUNE is off by default', async (t) => {
  t.equal(idleReason('autopruneworker', {}), 'FEATURE_AUTO_PRUNE is off');
  t.equal(idleReason('autopruneworker', { FEATURE_AUTO_PRUNE: true }), null);
});

for (const s of sides) {
  let now = T0;
  const yes = s.kind === 'sqlite' ? 1 : true;
  const no = s.kind === 'sqlite' ? 0 : false;
  const cfg = { FEATURE_AUTO_PRUNE: true, FEATURE_IMAGE_PULL_STATS: true, RESET_CHILD_MANIFEST_EXPIRATION: true };
  const program = (extra: Record<string, unknown> = {}): ReturnType<typeof autoPruneProgram> =>
    autoPruneProgram({ dal: s.dal, log: quiet, quayConfig: { ...cfg, ...extra }, now: () => now });
  const nsId = async (name: string): Promise<number> => Number((await s.raw('SELECT id FROM "user" WHERE username = ?', name))[0]!.id);
  /** Quay's JSONField of json.dumps(config): JSON text of JSON text. */
  const stored = (config: Record<string, unknown>): string => JSON.stringify(JSON.stringify(config));
  let uuid = 0;
  const nsPolicy = async (ns: string, config: Record<string, unknown>): Promise<void> => {
    await s.raw('INSERT INTO namespaceautoprunepolicy (uuid, namespace_id, policy) VALUES (?, ?, ?)', `${s.kind}-n${++uuid}`, await nsId(ns), stored(config));
  };
  const repoPolicy = async (ns: string, repo: number, config: Record<string, unknown>): Promise<void> => {
    await s.raw(
      'INSERT INTO repositoryautoprunepolicy (uuid, repository_id, namespace_id, policy) VALUES (?, ?, ?, ?)',
      `${s.kind}-r${++uuid}`,
      repo,
      await nsId(ns),
      stored(config),
    );
  };
  const task = async (ns: string): Promise<void> => {
    await s.raw("INSERT INTO autoprunetaskstatus (namespace_id, last_ran_ms, status) VALUES (?, NULL, 'queued')", await nsId(ns));
  };
  const taskRow = async (ns: string): Promise<{ last_ran_ms: unknown; status: unknown } | undefined> =>
    (await s.raw('SELECT last_ran_ms, status FROM autoprunetaskstatus WHERE namespace_id = ?', await nsId(ns)))[0] as { last_ran_ms: unknown; status: unknown } | undefined;
  /** A repository whose tags all point at one manifest, each created `age` days before T0. */
  const repoWithTags = async (ns: string, name: string, tags: [string, number][]): Promise<number> => {
    const r = await s.meta.createRepository(ns, name, 'private', T0);
    for (const [tag, age] of tags) {
      await s.meta.putManifest(r.id, manifest(digest(`${ns}${name}`.slice(-1)), []), { tag }, T0);
      await s.raw('UPDATE tag SET lifetime_start_ms = ? WHERE repository_id = ? AND name = ?', T0 - age * DAY, r.id, tag);
    }
    return r.id;
  };
  const ended = async (repo: number): Promise<string[]> =>
    (await s.raw('SELECT name FROM tag WHERE repository_id = ? AND lifetime_end_ms IS NOT NULL AND hidden = ? ORDER BY name', repo, no)).map((r) => String(r.name));

  t.test(`${s.kind}: namespace and repository policies, both methods, patterns matching and not`, async (t) => {
    now = T0;
    const ns = `apo${s.kind}`;
    const a = await repoWithTags(ns, 'a', [
      ['dev-1', 10],
      ['dev-2', 1],
      ['rel-1', 30],
      ['rel-2', 20],
      ['v1', 40],
      ['v2', 5],
      ['v3', 3],
      ['latest', 0.5],
    ]);
    const b = await repoWithTags(ns, 'b', [
      ['b1', 5],
      ['b2', 4],
      ['b3', 3],
    ]);
    await s.raw('UPDATE tag SET immutable = ? WHERE repository_id = ? AND name = ?', yes, a, 'v1');
    await nsPolicy(ns, { method: 'creation_date', value: '7d', tag_pattern: '^dev-', tag_pattern_matches: true });
    await nsPolicy(ns, { method: 'number_of_tags', value: 3, tag_pattern: '^rel-', tag_pattern_matches: false });
    await repoPolicy(ns, b, { method: 'number_of_tags', value: 1 });
    await task(ns);
    const did = await program().run(() => true);
    t.match(did, { tasks: 1, failed: 0, tags_pruned: 4 });
    // dev-1 (10 days); of the others not named rel-*, newest first: latest, dev-2, v3 kept, v2 goes (v1 is immutable).
    t.same(await ended(a), ['dev-1', 'v2'], 'a: dev-* older than a week, then all but the 3 newest non-rel tags');
    t.same(await ended(b), ['b1', 'b2'], "b: the namespace's policies, then its own (keep 1)");
    t.same(await taskRow(ns), { last_ran_ms: T0, status: 'success' }, 'the task ran at now and succeeded');
    const logs = await s.raw(
      "SELECT l.account_id, l.performer_id, l.repository_id, l.ip, l.metadata_json FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id WHERE k.name = 'autoprune_tag_delete' AND l.account_id = ? ORDER BY l.id",
      await nsId(ns),
    );
    t.equal(logs.length, 4, 'one action log row per pruned tag');
    t.same(logs[0], {
      account_id: await nsId(ns),
      performer_id: null,
      repository_id: a,
      ip: null,
      metadata_json: `{"performer": "autoprune worker", "namespace": "${ns}", "repo": "a", "tag": "dev-1"}`,
    });

    t.equal(await program().run(() => true), null, 'inside the minimum interval the task is not picked again');
    now = T0 + HOUR + 1;
    t.match(await program().run(() => true), { tasks: 1, tags_pruned: 0 }, 'after it, again (nothing left to prune)');
  });

  t.test(`${s.kind}: repository policies alone; a task without policies goes; a bad policy fails its task; a disabled namespace waits`, async (t) => {
    now = T0 + 10 * HOUR;
    const ns = `apr${s.kind}`;
    const r = await repoWithTags(ns, 'r', [
      ['x1', 5],
      ['x2', 4],
      ['y1', 3],
      ['y2', 2],
    ]);
    // A pattern without tag_pattern_matches: Quay keeps the tags that do not match it.
    await repoPolicy(ns, r, { method: 'number_of_tags', value: 1, tag_pattern: '^x' });
    await task(ns);
    await s.meta.createRepository(`apn${s.kind}`, 'empty', 'private', now);
    await task(`apn${s.kind}`);
    const bad = await s.meta.createRepository(`apb${s.kind}`, 'bad', 'private', now);
    await repoPolicy(`apb${s.kind}`, bad.id, { method: 'creation_date', value: 'soon' });
    await task(`apb${s.kind}`);
    const off = await repoWithTags(`apd${s.kind}`, 'off', [
      ['o1', 5],
      ['o2', 4],
    ]);
    await repoPolicy(`apd${s.kind}`, off, { method: 'number_of_tags', value: 1 });
    await task(`apd${s.kind}`);
    await s.raw('UPDATE "user" SET enabled = ? WHERE username = ?', no, `apd${s.kind}`);

    const did = await program().run(() => true);
    t.match(did, { tasks: 4, failed: 1 }, 'these three and the first test’s task, due again');
    t.same(await ended(r), ['y1'], 'the newest non-matching tag kept, the other pruned');
    t.same(await taskRow(ns), { last_ran_ms: now, status: 'success' });
    t.equal(await taskRow(`apn${s.kind}`), undefined, 'the task of a namespace without policies is deleted');
    t.same(await taskRow(`apb${s.kind}`), { last_ran_ms: now, status: 'failure: Invalid value given for method type' }, "Quay's message in the status");
    t.same(await taskRow(`apd${s.kind}`), { last_ran_ms: null, status: 'queued' }, "the disabled namespace's task is not picked");
    t.same(await ended(off), []);
  });

  t.test(`${s.kind}: a pruned tag takes its Cosign siblings, its children's temporary tags and its pull statistics`, async (t) => {
    now = T0 + 20 * HOUR;
    const ns = `apc${s.kind}`;
    const repo = await s.meta.createRepository(ns, 'c', 'private', T0);
    const [child, list, sig] = [digest('7'), digest('8'), digest('9')];
    await s.meta.putManifest(repo.id, manifest(child, []), { tempTagUntilMs: now + HOUR }, T0);
    await s.meta.putManifest(repo.id, manifest(list, [], { childDigests: [child], mediaType: 'application/vnd.oci.image.index.v1+json' }), { tag: 'multi' }, T0);
    await s.meta.putManifest(repo.id, manifest(sig, []), { tag: `${list.replace(':', '-')}.sig` }, T0);
    await s.raw(
      'INSERT INTO tagpullstatistics (repository_id, tag_name, tag_pull_count, last_tag_pull_date, current_manifest_digest) VALUES (?, ?, 2, ?, ?)',
      repo.id,
      'multi',
      '2026-06-01 12:00:00',
      list,
    );
    const data = new AutoPruneData(s.dal, { pullStats: true, immutableTags: false, resetChildManifestExpiration: true });
    t.same(await data.tagsOlderThan(repo.id, 0, 100, 1, null, now), ['multi'], 'the Cosign tag is never picked itself');
    t.equal(await data.deleteTag(repo.id, 'multi', now), 'deleted');
    t.equal(await data.deleteTag(repo.id, 'multi', now), null, 'a tag no longer alive: nothing');
    const rows = await s.raw('SELECT name, hidden, lifetime_end_ms FROM tag WHERE repository_id = ? ORDER BY id', repo.id);
    t.same(
      rows.map((r) => [r.name === 'multi' || String(r.name).endsWith('.sig') ? r.name : 'temp', Number(r.lifetime_end_ms)]),
      [
        ['temp', now],
        ['multi', now],
        [`${list.replace(':', '-')}.sig`, now],
      ],
      'the list, its signature and its child’s temporary tag end now',
    );
    t.equal((await s.raw('SELECT * FROM tagpullstatistics WHERE repository_id = ?', repo.id)).length, 0, 'its pull statistics are gone');
    t.equal(await data.deleteTag(repo.id, 'multi', now), null);
  });

  t.test(`${s.kind}: the Cosign clause in SQL agrees with is_cosign_tag_schema`, async (t) => {
    const hex = 'a'.repeat(63) + 'f';
    const names = [
      `sha256-${hex}.sig`,
      `sha256-${hex}.att`,
      `sha256-${hex}.sbom`,
      `sha256-${hex}.foo`,
      `sha256-${hex.toUpperCase()}.sig`,
      `sha256-${hex}x.sig`,
      'latest',
      'sha256-abc.sig',
    ];
    for (const n of names) {
      const r = await s.raw(`SELECT CASE WHEN ${notCosignTag('?')} THEN 1 ELSE 0 END AS plain`.replaceAll('?', `'${n}'`));
      t.equal(Number(r[0]!.plain) === 0, isCosignTag(n), n);
    }
  });

  t.test(`${s.kind}: DEFAULT_NAMESPACE_AUTOPRUNE_POLICY prunes every active namespace, once a period`, async (t) => {
    now = T0 + 30 * HOUR;
    const ns = `apx${s.kind}`;
    const r = await repoWithTags(ns, 'x', [
      ['old', 40],
      ['new', 1],
    ]);
    const p = program({ DEFAULT_NAMESPACE_AUTOPRUNE_POLICY: { method: 'creation_date', value: '30d' } });
    const did = await p.run(() => true);
    t.ok(Number(did?.default_policy_tags_pruned) >= 1, 'the registry-wide pass pruned');
    t.same(await ended(r), ['old']);
    await s.raw('UPDATE tag SET lifetime_start_ms = ? WHERE repository_id = ? AND name = ?', now - 40 * DAY, r, 'new');
    t.equal(await p.run(() => true), null, 'not again before its period');
    t.same(await ended(r), ['old']);
  });
}
