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
import { ManifestBackfill, SUBJECT_BACKFILLS, type SubjectBackfillKind } from '../../dal/portable/manifest-backfill.js';
import type { WorkerProgram } from '../runner.js';
import { fillPending, type FillCounts, type ManifestBackfillDeps } from './manifest-backfill.js';

/** A stored manifest's subject digest and artifact type as the registry reads them (registryd's storedReferrerFields). */
export type ReferrerFieldsReader = (mediaType: string, text: string) => { readonly subject: string | null; readonly artifactType: string | null; readonly unreadable?: string };

export interface SubjectBackfillDeps extends ManifestBackfillDeps {
  /** The registry's manifest reader: workers sit below registryd, so the composition root (quay/) passes it. */
  readonly referrerFields: ReferrerFieldsReader;
}

export function manifestSubjectBackfill(d: SubjectBackfillDeps): WorkerProgram {
  const data = new ManifestBackfill(d.sql);
  const every = d.quayConfig.MANIFEST_SUBJECT_BACKFILL_WORKER_FREQUENCY;

  /** One fill over every manifest still waiting for it; null when there was none. */
  const fillAll = (kind: SubjectBackfillKind, active: () => boolean): Promise<FillCounts | null> =>
    fillPending(data, kind, active, (m) => {
      const fields = d.referrerFields(m.mediaType, m.text);
      if (fields.unreadable !== undefined)
        d.log.warn('manifest does not parse: backfilled as having none', { program: 'manifestsubjectbackfillworker', manifest_id: m.id, fill: kind, reason: fields.unreadable });
      return [kind === 'subject' ? fields.subject : fields.artifactType];
    });

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
