/**
 * The SQL of Quay's manifest backfills, columns added after manifests were
 * already stored:
 * - workers/manifestsubjectbackfillworker.py: `manifest.subject` and
 *   `manifest.artifact_type`, each with its own flag (`subject_backfilled`,
 *   `artifact_type_backfilled`) that is false or NULL on the rows still to
 *   fill (the migration added the flags without a value; both runtimes'
 *   pushes write them true);
 * - workers/manifestbackfillworker.py: `manifest.layers_compressed_size` and
 *   `manifest.config_media_type` together, on the rows whose size is NULL
 *   (pushes write a size, or -1 where the backfill could not read one).
 */
import type { PortableSql } from '../model/portable-sql.js';

/** The fills: the columns each writes and what marks a row still to fill (`flag` false or NULL, else `column` NULL). */
export const BACKFILLS = {
  subject: { columns: ['subject'], flag: 'subject_backfilled' },
  artifact_type: { columns: ['artifact_type'], flag: 'artifact_type_backfilled' },
  sizes: { columns: ['layers_compressed_size', 'config_media_type'], flag: null },
} as const;
export type BackfillKind = keyof typeof BACKFILLS;
/** The subject backfill's two fills, in Quay's order. */
export const SUBJECT_BACKFILLS = ['subject', 'artifact_type'] as const;
export type SubjectBackfillKind = (typeof SUBJECT_BACKFILLS)[number];

/** What each fill writes, in its `columns` order. */
export type BackfillValues<K extends BackfillKind> = K extends 'sizes' ? readonly [number, string | null] : readonly [string | null];

export interface UnfilledManifest {
  readonly id: number;
  readonly mediaType: string;
  readonly text: string;
}

const pending = (kind: BackfillKind, alias: string): string => {
  const b = BACKFILLS[kind];
  return b.flag === null ? `${alias}${b.columns[0]} IS NULL` : `(${alias}${b.flag} = @no OR ${alias}${b.flag} IS NULL)`;
};

export class ManifestBackfill {
  constructor(private readonly sql: PortableSql) {}

  /** Whether any manifest still waits for this fill. */
  async anyPending(kind: BackfillKind): Promise<boolean> {
    return (await this.sql.one(`SELECT m.id FROM manifest m WHERE ${pending(kind, 'm.')} LIMIT 1`, { no: false })) !== null;
  }

  /** Up to `limit` manifests above `afterId` still to fill, lowest id first, with their media type's name and text. */
  async unfilled(kind: BackfillKind, afterId: number, limit: number): Promise<UnfilledManifest[]> {
    const rows = await this.sql.all<{ id: number; media_type: string; manifest_bytes: string }>(
      `SELECT m.id, mt.name AS media_type, m.manifest_bytes FROM manifest m INNER JOIN mediatype mt ON mt.id = m.media_type_id
        WHERE ${pending(kind, 'm.')} AND m.id > @after ORDER BY m.id LIMIT @limit`,
      { no: false, after: afterId, limit },
    );
    return rows.map((r) => ({ id: Number(r.id), mediaType: r.media_type, text: r.manifest_bytes }));
  }

  /** Writes the values (and sets the flag), only while the row still waits: false when another worker did it first. */
  async fill<K extends BackfillKind>(kind: K, id: number, values: BackfillValues<K>): Promise<boolean> {
    const b = BACKFILLS[kind];
    const params: Record<string, unknown> = { yes: true, no: false, id };
    const sets = b.columns.map((c, i) => {
      params[`v${i}`] = values[i];
      return `${c} = @v${i}`;
    });
    if (b.flag !== null) sets.push(`${b.flag} = @yes`);
    const n = await this.sql.run(`UPDATE manifest SET ${sets.join(', ')} WHERE id = @id AND ${pending(kind, '')}`, params);
    return n === 1;
  }
}
