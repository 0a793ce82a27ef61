/**
 * The rows Quay writes beside a new manifest, as SQL both adapters run (named
 * `@parameters`; the PostgreSQL adapter turns them into `$n` with
 * `positional`). Parameters: `@repo` the repository id, `@ns` its namespace's
 * user id, `@m` the new manifest's id (its `manifestblob` rows already
 * inserted), `@total` a byte count, `@complete` true.
 *
 * Quota totals (data/model/quota.py update_quota / update_sizes), for a new
 * manifest with at least one blob in an enabled, non-robot namespace:
 *   namespace bytes  = sizes of its blobs no other manifest of the namespace holds;
 *   repository bytes = sizes of its blobs no other manifest of the repository holds
 *                      (a blob new to the namespace is new to the repository);
 *   a NULL image_size counts 0. Each total is then written:
 *     row there, backfill complete   → size_bytes += bytes
 *     row there, backfill incomplete → nothing (the backfill worker counts it)
 *     no row, and no other manifest with blobs in the namespace (its repositories
 *       not being deleted) / in the repository → INSERT (backfill_start_ms 0, complete)
 *     no row otherwise                → nothing (left to the backfill worker)
 * With quota management off Quay instead resets any computed total of the
 * repository and of its namespace for the backfill worker (reset_backfill).
 */

/** `manifestsecuritystatus.index_status` of a manifest not scanned yet (IndexStatus.PENDING). */
export const SECURITY_STATUS_PENDING = 0;
/** `manifestsecuritystatus.indexer_version` Quay writes (IndexerVersion.V4). */
export const INDEXER_V4 = 4;

const totalTable = (table: 'quotanamespacesize' | 'quotarepositorysize', key: 'namespace_user_id' | 'repository_id', param: '@ns' | '@repo', others: string) => ({
  select: `SELECT backfill_complete FROM ${table} WHERE ${key} = ${param}`,
  add: `UPDATE ${table} SET size_bytes = size_bytes + @total WHERE ${key} = ${param}`,
  onlyManifest: `SELECT 1 AS only WHERE NOT EXISTS (${others})`,
  insert: `INSERT INTO ${table} (${key}, size_bytes, backfill_start_ms, backfill_complete) VALUES (${param}, @total, 0, @complete) ON CONFLICT DO NOTHING`,
  reset: `UPDATE ${table} SET size_bytes = 0, backfill_start_ms = NULL, backfill_complete = false WHERE ${key} = ${param} AND backfill_start_ms IS NOT NULL`,
});

export const QUOTA_SQL = {
  hasBlobs: 'SELECT 1 AS found FROM manifestblob WHERE manifest_id = @m LIMIT 1',
  eligibleNamespace: 'SELECT 1 AS found FROM "user" WHERE id = @ns AND enabled AND NOT robot',
  newBytes: `SELECT
      CAST(COALESCE(SUM(CASE WHEN NOT EXISTS (SELECT 1 FROM manifestblob o JOIN repository r ON r.id = o.repository_id
        WHERE r.namespace_user_id = @ns AND o.blob_id = mb.blob_id AND o.manifest_id <> @m) THEN s.image_size ELSE 0 END), 0) AS BIGINT) AS namespace,
      CAST(COALESCE(SUM(CASE WHEN NOT EXISTS (SELECT 1 FROM manifestblob o WHERE o.repository_id = @repo AND o.blob_id = mb.blob_id AND o.manifest_id <> @m)
        THEN s.image_size ELSE 0 END), 0) AS BIGINT) AS repository
    FROM manifestblob mb JOIN imagestorage s ON s.id = mb.blob_id WHERE mb.manifest_id = @m`,
  namespace: totalTable(
    'quotanamespacesize',
    'namespace_user_id',
    '@ns',
    'SELECT 1 FROM manifestblob mb JOIN repository r ON r.id = mb.repository_id WHERE r.namespace_user_id = @ns AND mb.manifest_id <> @m AND r.state <> 3',
  ),
  repository: totalTable('quotarepositorysize', 'repository_id', '@repo', 'SELECT 1 FROM manifestblob mb WHERE mb.repository_id = @repo AND mb.manifest_id <> @m'),
} as const;

/** `@name` parameters as PostgreSQL's `$n`, with the names in placeholder order. */
export function positional(sql: string): { readonly text: string; readonly names: readonly string[] } {
  const names: string[] = [];
  const text = sql.replace(/@(\w+)/g, (_, n: string) => {
    let i = names.indexOf(n);
    if (i < 0) {
      names.push(n);
      i = names.length - 1;
    }
    return `$${i + 1}`;
  });
  return { text, names };
}
