/**
 * The SQL of Quay's manifest subject backfill (workers/manifestsubjectbackfillworker.py):
 * `manifest.subject` and `manifest.artifact_type`, columns added after
 * manifests were already stored, each with its own flag
 * (`subject_backfilled`, `artifact_type_backfilled`) that is false or NULL
 * on the rows still to fill (the migration added the flags without a
 * value; both runtimes' pushes write them true).
 */
import type { PortableSql } from '../model/portable-sql.js';

/** The two fills: the column and its flag. */
export const BACKFILLS = {
  subject: { column: 'subject', flag: 'subject_backfilled' },
  artifact_type: { column: 'artifact_type', flag: 'artifact_type_backfilled' },
} as const;
export type BackfillKind = keyof typeof BACKFILLS;

export interface UnfilledManifest {
  readonly id: number;
  readonly mediaType: string;
  readonly text: string;
}

const pending = (flag: string): string => `(m.${flag} = @no OR m.${flag} IS NULL)`;

export class ManifestBackfill {
  constructor(private readonly sql: PortableSql) {}

  /** Whether any manifest still waits for this fill. */
  async anyPending(kind: BackfillKind): Promise<boolean> {
    const { flag } = BACKFILLS[kind];
    return (await this.sql.one(`SELECT m.id FROM manifest m WHERE ${pending(flag)} LIMIT 1`, { no: false })) !== null;
  }

  /** Up to `limit` manifests above `afterId` still to fill, lowest id first, with their media type's name and text. */
  async unfilled(kind: BackfillKind, afterId: number, limit: number): Promise<UnfilledManifest[]> {
    const { flag } = BACKFILLS[kind];
    const rows = await this.sql.all<{ id: number; media_type: string; manifest_bytes: string }>(
      `SELECT m.id, mt.name AS media_type, m.manifest_bytes FROM manifest m INNER JOIN mediatype mt ON mt.id = m.media_type_id
        WHERE ${pending(flag)} AND m.id > @after ORDER BY m.id LIMIT @limit`,
      { no: false, after: afterId, limit },
    );
    return rows.map((r) => ({ id: Number(r.id), mediaType: r.media_type, text: r.manifest_bytes }));
  }

  /** Writes the value and sets the flag, only while the flag is still unset: false when another worker did it first. */
  async fill(kind: BackfillKind, id: number, value: string | null): Promise<boolean> {
    const { column, flag } = BACKFILLS[kind];
    const n = await this.sql.run(`UPDATE manifest SET ${column} = @value, ${flag} = @yes WHERE id = @id AND (${flag} = @no OR ${flag} IS NULL)`, {
      value,
      yes: true,
      no: false,
      id,
    });
    return n === 1;
  }
}
