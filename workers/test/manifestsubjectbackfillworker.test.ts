/**
 * manifestsubjectbackfillworker (dal/portable/manifest-backfill.ts +
 * programs/manifestsubjectbackfillworker.ts) on SQLite and a fresh
 * PostgreSQL: manifests whose flags are false or NULL get the subject digest
 * and artifact type their text holds (OCI image manifest and index), none for
 * Docker's types or a text that does not parse (with a log line); a row
 * already backfilled is left as it is; each fill is a compare-and-swap on
 * its flag. Needs the local PostgreSQL; fails, never skips.
 */
import t from 'tap';
import { storedReferrerFields } from '../../registryd/index.js';
import { openStoreSides } from '../../dal/test/lib/store-sides.js';
import { digestOf, testManifest } from '../../dal/test/lib/manifests.js';
import { ManifestBackfill } from '../../dal/portable/manifest-backfill.js';
import { createLogger } from '../../lib/log.js';
import { manifestSubjectBackfill } from '../programs/manifestsubjectbackfillworker.js';

const { sides } = await openStoreSides(t);
const NOW = Date.UTC(2026, 11, 4, 12);

const OCI_M = 'application/vnd.oci.image.manifest.v1+json';
const OCI_I = 'application/vnd.oci.image.index.v1+json';
const DOCKER_M = 'application/vnd.docker.distribution.manifest.v2+json';
const EMPTY = { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf('4'), size: 2 };
const SUBJECT = { mediaType: OCI_M, digest: digestOf('5'), size: 321 };

const texts: Record<string, { mediaType: string; doc: unknown }> = {
  referrer: { mediaType: OCI_M, doc: { schemaVersion: 2, mediaType: OCI_M, artifactType: 'application/vnd.example.sig', config: EMPTY, layers: [EMPTY], subject: SUBJECT } },
  plain: { mediaType: OCI_M, doc: { schemaVersion: 2, mediaType: OCI_M, config: EMPTY, layers: [EMPTY] } },
  index: { mediaType: OCI_I, doc: { schemaVersion: 2, mediaType: OCI_I, artifactType: 'application/vnd.example.bundle', manifests: [SUBJECT], subject: SUBJECT } },
  docker: {
    mediaType: DOCKER_M,
    doc: {
      schemaVersion: 2,
      mediaType: DOCKER_M,
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: digestOf('6'), size: 9 },
      layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: digestOf('7'), size: 9 }],
      subject: SUBJECT, // Docker's schema has no subject: not read
    },
  },
  broken: { mediaType: OCI_M, doc: { schemaVersion: 2, mediaType: OCI_M, subject: SUBJECT } },
};

for (const s of sides) {
  t.test(`${s.kind}: subjects and artifact types filled from the stored text, once`, async (t) => {
    const repo = await s.meta.createRepository(`msb${s.kind}`, 'r', 'private', NOW);
    const ids: Record<string, number> = {};
    let c = 0;
    for (const [name, m] of Object.entries(texts)) {
      const ref = await s.meta.putManifest(repo.id, testManifest(digestOf(`a${c++}`), [], { mediaType: m.mediaType, text: JSON.stringify(m.doc) }), { tag: name }, NOW);
      ids[name] = ref.id;
    }
    const kept = await s.meta.putManifest(repo.id, testManifest(digestOf('b'), [], { subject: 'kept', artifactType: 'kept/type' }), { tag: 'kept' }, NOW);
    // As Quay's migration leaves rows stored before the columns: flags NULL (alembic) or false (initdb's NOT NULL columns).
    const no = s.kind === 'pg' ? false : 0;
    await s.raw(
      'UPDATE manifest SET subject = NULL, artifact_type = NULL, subject_backfilled = ?, artifact_type_backfilled = ? WHERE repository_id = ? AND id <> ?',
      no,
      no,
      repo.id,
      kept.id,
    );
    await s.raw('UPDATE manifest SET subject_backfilled = NULL, artifact_type_backfilled = NULL WHERE id = ?', ids.index);

    const data = new ManifestBackfill(s.dal.sql);
    t.equal(await data.anyPending('subject'), true);
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({}, { write: (l: string) => lines.push(JSON.parse(l) as Record<string, unknown>) });
    const program = manifestSubjectBackfill({ sql: s.dal.sql, referrerFields: storedReferrerFields, log, quayConfig: {} });
    t.same(await program.run(() => true), { subject: { filled: 5, taken_by_another: 0 }, artifact_type: { filled: 5, taken_by_another: 0 } });
    const rows = Object.fromEntries(
      (await s.raw('SELECT id, subject, artifact_type, subject_backfilled, artifact_type_backfilled FROM manifest WHERE repository_id = ?', repo.id)).map((r) => [
        Number(r.id),
        [r.subject, r.artifact_type, Boolean(r.subject_backfilled), Boolean(r.artifact_type_backfilled)],
      ]),
    );
    t.same(rows[ids.referrer!], [SUBJECT.digest, 'application/vnd.example.sig', true, true], 'an OCI referrer: its subject digest and artifact type');
    t.same(rows[ids.plain!], [null, null, true, true], 'an OCI image without either');
    t.same(rows[ids.index!], [SUBJECT.digest, 'application/vnd.example.bundle', true, true], 'an OCI index with a subject (flags that were NULL)');
    t.same(rows[ids.docker!], [null, null, true, true], "a Docker manifest: Docker's schema has neither");
    t.same(rows[ids.broken!], [null, null, true, true], 'a text that does not parse: none…');
    t.ok(
      lines.some((l) => l.manifest_id === ids.broken && l.level === 'warn'),
      '…with a log line',
    );
    t.same(rows[kept.id], ['kept', 'kept/type', true, true], 'a row already backfilled is left alone');

    t.equal(await program.run(() => true), null, 'the next pass has nothing to do');
    t.equal(await data.fill('subject', ids.referrer!, ['other']), false, 'a fill is refused once its flag is set (another worker did it)');
  });
}
