/**
 * The loop both manifest backfill programs run (manifestbackfillworker's
 * sizes, manifestsubjectbackfillworker's subject and artifact type): over
 * the manifests still waiting for one fill, lowest id first in Quay's
 * batches, each manifest's values read by the program and written only
 * while the row still waits (another worker may have filled it first).
 */
import type { Logger } from '../../lib/log.js';
import type { PortableSql } from '../../dal/model/portable-sql.js';
import { type BackfillKind, type BackfillValues, type ManifestBackfill, type UnfilledManifest } from '../../dal/portable/manifest-backfill.js';

/** What both programs are given, besides the registry's manifest reader. */
export interface ManifestBackfillDeps {
  readonly sql: PortableSql;
  readonly log: Logger;
  readonly quayConfig: Readonly<Record<string, unknown>>;
}

/** Quay's batch of manifest ids. */
const BATCH = 250;

/** What one fill did: rows written, rows another worker had filled first. */
export interface FillCounts {
  filled: number;
  taken_by_another: number;
}

/**
 * One fill over every manifest still waiting for it; null when there was
 * none. Stops (with the counts so far) when `active()` turns false.
 */
export async function fillPending<K extends BackfillKind>(
  data: ManifestBackfill,
  kind: K,
  active: () => boolean,
  valuesOf: (m: UnfilledManifest) => BackfillValues<K>,
): Promise<FillCounts | null> {
  if (!(await data.anyPending(kind))) return null;
  let filled = 0;
  let taken = 0;
  let after = 0;
  for (;;) {
    const rows = await data.unfilled(kind, after, BATCH);
    if (rows.length === 0) break;
    for (const m of rows) {
      if (!active()) return { filled, taken_by_another: taken };
      if (await data.fill(kind, m.id, valuesOf(m))) filled++;
      else taken++;
      after = m.id;
    }
  }
  return { filled, taken_by_another: taken };
}
