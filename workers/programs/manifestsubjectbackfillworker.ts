/**
 * manifestsubjectbackfillworker (Quay's workers/manifestsubjectbackfillworker.py):
 * every MANIFEST_SUBJECT_BACKFILL_WORKER_FREQUENCY seconds (default 60), two
 * fills over the manifests stored before Quay had the columns: `subject`
 * (the digest an OCI manifest or index names as its subject, what the
 * referrers API and garbage collection look up) and `artifact_type`, each
 * marking its own flag. Read from the stored text by the registry's own
 * parser (registryd's storedReferrerFields, given by the composition root), so a backfilled row holds what
 * a push through either runtime writes.
 */
import type { Logger } from '../../lib/log.js';
import type { PortableSql } from '../../dal/model/portable-sql.js';
import { ManifestBackfill, SUBJECT_BACKFILLS, type SubjectBackfillKind } from '../../dal/portable/manifest-backfill.js';
import type { WorkerProgram } from '../runner.js';

/** Quay's batch of manifest ids. */
const BATCH = 250;

/** A stored manifest's subject digest and artifact type as the registry reads them (registryd's storedReferrerFields). */
export type ReferrerFieldsReader = (mediaType: string, text: string) => { readonly subject: string | null; readonly artifactType: string | null; readonly unreadable?: string };

export interface SubjectBackfillDeps {
  readonly sql: PortableSql;
  /** The registry's manifest reader: workers sit below registryd, so the composition root (quay/) passes it. */
  readonly referrerFields: ReferrerFieldsReader;
  readonly log: Logger;
  readonly quayConfig: Readonly<Record<string, unknown>>;
}

export function manifestSubjectBackfill(d: SubjectBackfillDeps): WorkerProgram {
  const data = new ManifestBackfill(d.sql);
  const every = d.quayConfig.MANIFEST_SUBJECT_BACKFILL_WORKER_FREQUENCY;

  /** One fill over every manifest still waiting for it; null when there was none. */
  const fillAll = async (kind: SubjectBackfillKind, active: () => boolean): Promise<{ filled: number; taken_by_another: number } | null> => {
    if (!(await data.anyPending(kind))) return null;
    let filled = 0;
    let taken = 0;
    let after = 0;
    for (;;) {
      const rows = await data.unfilled(kind, after, BATCH);
      if (rows.length === 0) break;
      for (const m of rows) {
        if (!active()) return { filled, taken_by_another: taken };
        const fields = d.referrerFields(m.mediaType, m.text);
        if (fields.unreadable !== undefined)
          d.log.warn('manifest does not parse: backfilled as having none', { program: 'manifestsubjectbackfillworker', manifest_id: m.id, fill: kind, reason: fields.unreadable });
        const value = kind === 'subject' ? fields.subject : fields.artifactType;
        if (await data.fill(kind, m.id, [value])) filled++;
        else taken++;
        after = m.id;
      }
    }
    return { filled, taken_by_another: taken };
  };

  return {
    program: 'manifestsubjectbackfillworker',
    everyMs: (typeof every === 'number' && every > 0 ? every : 60) * 1000,
    async run(active) {
      const did: Record<string, unknown> = {};
      for (const kind of SUBJECT_BACKFILLS) {
        const r = await fillAll(kind, active);
        if (r) did[kind] = r;
      }
      return Object.keys(did).length > 0 ? did : null;
    },
  };
}
