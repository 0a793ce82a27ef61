/**
 * manifestbackfillworker (Quay's workers/manifestbackfillworker.py): every
 * MANIFEST_BACKFILL_WORKER_FREQUENCY seconds (default 3600), fills
 * `manifest.layers_compressed_size` and `manifest.config_media_type` on the
 * manifests whose size is NULL (stored before Quay had the columns). Read
 * from the stored text by the registry's own parser (registryd's
 * storedSizeFields, given by the composition root): an image's layer sizes
 * added up and its config's media type, 0 for a list or index, -1 for a text
 * that does not parse.
 */
import { ManifestBackfill } from '../../dal/portable/manifest-backfill.js';
import type { WorkerProgram } from '../runner.js';
import { fillPending, type ManifestBackfillDeps } from './manifest-backfill.js';

/** A stored manifest's layers' size and config media type as the registry reads them (registryd's storedSizeFields). */
export type SizeFieldsReader = (
  mediaType: string,
  text: string,
) => { readonly layersCompressedSize: number; readonly configMediaType: string | null; readonly unreadable?: string };

export interface SizeBackfillDeps extends ManifestBackfillDeps {
  /** The registry's manifest reader: workers sit below registryd, so the composition root (quay/) passes it. */
  readonly sizeFields: SizeFieldsReader;
}

export function manifestSizeBackfill(d: SizeBackfillDeps): WorkerProgram {
  const data = new ManifestBackfill(d.sql);
  const every = d.quayConfig.MANIFEST_BACKFILL_WORKER_FREQUENCY;
  return {
    program: 'manifestbackfillworker',
    everyMs: (typeof every === 'number' && every > 0 ? every : 60 * 60) * 1000,
    async run(active) {
      let unreadable = 0;
      const r = await fillPending(data, 'sizes', active, (m) => {
        const f = d.sizeFields(m.mediaType, m.text);
        if (f.unreadable !== undefined) {
          unreadable++;
          d.log.warn('manifest does not parse: size backfilled as -1', { program: 'manifestbackfillworker', manifest_id: m.id, reason: f.unreadable });
        }
        return [f.layersCompressedSize, f.configMediaType];
      });
      return r && { filled: r.filled, unreadable, taken_by_another: r.taken_by_another };
    },
  };
}
