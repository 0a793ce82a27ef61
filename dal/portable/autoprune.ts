/**
 * Auto-prune's SQL, written once for both dialects: the steps of Quay's
 * data/model/autoprune.py and the tag functions it calls in
 * data/model/oci/tag.py (fetch_paginated_autoprune_repo_tags_by_number,
 * fetch_paginated_autoprune_repo_tags_older_than_ms, delete_tag with its
 * _delete_tag, _expire_cosign_sibling_tags and reset_child_manifest_expiration).
 *
 * Tables (Quay's):
 *   namespaceautoprunepolicy (uuid, namespace_id, policy)
 *   repositoryautoprunepolicy (uuid, repository_id, namespace_id, policy)
 *   autoprunetaskstatus (namespace_id, last_ran_ms, status)
 * `policy` is a JSONField holding `json.dumps(config)`: JSON text whose value
 * is itself the JSON text of the config (Quay encodes it twice).
 *
 * Times are milliseconds since the epoch, passed in by the caller.
 */
import type { Dal } from '../model/dal.js';
import type { PortableSql } from '../model/portable-sql.js';
import { RepositoryState } from '../model/store.js';
import { advisoryLockId } from '../model/advisory-lock.js';

/** Which of Quay's settings change how a tag is deleted. */
export interface AutoPruneSettings {
  /** FEATURE_IMAGE_PULL_STATS: a deleted tag's `tagpullstatistics` row goes with it. */
  readonly pullStats: boolean;
  /** FEATURE_IMMUTABLE_TAGS: an immutable tag is never deleted (skipped). */
  readonly immutableTags: boolean;
  /** RESET_CHILD_MANIFEST_EXPIRATION: a deleted manifest list's children's hidden `$temp-` tags end now. */
  readonly resetChildManifestExpiration: boolean;
}

export interface AutoPruneTask {
  readonly id: number;
  readonly namespaceId: number;
}

/** A policy row, its config decoded (Quay's NamespaceAutoPrunePolicy / RepositoryAutoPrunePolicy). */
export interface AutoPrunePolicy {
  readonly uuid: string;
  /** The repository of a repository policy, null for a namespace policy. */
  readonly repositoryId: number | null;
  readonly config: Readonly<Record<string, unknown>>;
}

/** A tag picked for pruning: its name (Quay re-reads it by name before deleting). */
export interface TagPage {
  readonly names: readonly string[];
}

const COSIGN_PREFIX = 'sha256-';
const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'] as const;

/**
 * `_not_cosign_tag_schema_clause`: the tag is not a Cosign signature,
 * attestation or SBOM tag (`sha256-<64 lowercase hex>.<sig|att|sbom>`), in
 * SQL both dialects run (no regular expressions: SUBSTR, LENGTH, REPLACE).
 */
export function notCosignTag(col: string): string {
  const p = COSIGN_PREFIX.length;
  let hex = `SUBSTR(${col}, ${p + 1}, 64)`;
  for (const ch of '0123456789abcdef') hex = `REPLACE(${hex}, '${ch}', '')`;
  const suffixes = COSIGN_SUFFIXES.map((s) => `(LENGTH(${col}) = ${p + 64 + 1 + s.length} AND SUBSTR(${col}, ${p + 64 + 1}, ${1 + s.length}) = '.${s}')`).join(' OR ');
  return `NOT (SUBSTR(${col}, 1, ${p}) = '${COSIGN_PREFIX}' AND ${hex} = '' AND (${suffixes}))`;
}

/** is_cosign_tag_schema. */
export function isCosignTag(name: string): boolean {
  return /^sha256-[a-f0-9]{64}\.(sig|att|sbom)$/.test(name);
}

/** A JSONField's text: Quay stores json.dumps(config), so the column holds JSON text of JSON text. */
export function decodePolicy(text: string): Record<string, unknown> {
  let v: unknown = JSON.parse(text);
  if (typeof v === 'string') v = JSON.parse(v);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('policy is not a JSON object');
  return v as Record<string, unknown>;
}

const num = (v: unknown): number => Number(v);
const ALIVE = '(t.lifetime_end_ms IS NULL OR t.lifetime_end_ms > CAST(@now AS BIGINT))';

export class AutoPruneData {
  private readonly sql: PortableSql;

  constructor(
    private readonly dal: Dal,
    private readonly settings: AutoPruneSettings,
  ) {
    this.sql = dal.sql;
  }

  // ---- tasks (one per namespace: autoprunetaskstatus) ----

  /**
   * fetch_autoprune_task: the task run longest ago (never run first) whose
   * namespace is enabled and that did not run in the last `intervalMs`,
   * claimed by setting `last_ran_ms` to now and `status` to `running`.
   * PostgreSQL skips rows another worker holds (FOR UPDATE SKIP LOCKED, as
   * Quay); SQLite's write transaction serialises the claim.
   */
  async claimTask(intervalMs: number, nowMs: number): Promise<AutoPruneTask | null> {
    return this.dal.tx(async (tx) => {
      const lock = tx.sql.dialect === 'postgresql' ? ' FOR UPDATE OF a SKIP LOCKED' : '';
      const row = await tx.sql.one<{ id: unknown; namespace_id: unknown }>(
        `SELECT a.id, a.namespace_id FROM autoprunetaskstatus a
          WHERE a.namespace_id NOT IN (SELECT u.id FROM "user" u WHERE u.enabled = @no AND u.id = a.namespace_id)
            AND (a.last_ran_ms < CAST(@before AS BIGINT) OR a.last_ran_ms IS NULL)
          ORDER BY a.last_ran_ms ASC NULLS FIRST, a.id LIMIT 1${lock}`,
        { no: false, before: nowMs - intervalMs },
      );
      if (!row) return null;
      await tx.sql.run(`UPDATE autoprunetaskstatus SET last_ran_ms = @now, status = 'running' WHERE id = @id`, { now: nowMs, id: num(row.id) });
      return { id: num(row.id), namespaceId: num(row.namespace_id) };
    });
  }

  /** update_autoprune_task. */
  async setTaskStatus(taskId: number, status: string): Promise<void> {
    await this.sql.run('UPDATE autoprunetaskstatus SET status = @status WHERE id = @id', { status, id: taskId });
  }

  /** delete_autoprune_task. */
  async deleteTask(taskId: number): Promise<void> {
    await this.sql.run('DELETE FROM autoprunetaskstatus WHERE id = @id', { id: taskId });
  }

  // ---- policies ----

  /** get_namespace_autoprune_policies_by_id. */
  namespacePolicies(namespaceId: number): Promise<AutoPrunePolicy[]> {
    return this.policies('SELECT uuid, NULL AS repository_id, policy FROM namespaceautoprunepolicy WHERE namespace_id = @id ORDER BY id', namespaceId);
  }

  /** get_repository_autoprune_policies_by_namespace_id. */
  repositoryPoliciesOfNamespace(namespaceId: number): Promise<AutoPrunePolicy[]> {
    return this.policies('SELECT uuid, repository_id, policy FROM repositoryautoprunepolicy WHERE namespace_id = @id ORDER BY id', namespaceId);
  }

  /** get_repository_autoprune_policies_by_repo_id. */
  repositoryPolicies(repositoryId: number): Promise<AutoPrunePolicy[]> {
    return this.policies('SELECT uuid, repository_id, policy FROM repositoryautoprunepolicy WHERE repository_id = @id ORDER BY id', repositoryId);
  }

  private async policies(sql: string, id: number): Promise<AutoPrunePolicy[]> {
    const rows = await this.sql.all<{ uuid: string; repository_id: unknown; policy: string }>(sql, { id });
    return rows.map((r) => ({ uuid: r.uuid, repositoryId: r.repository_id === null ? null : num(r.repository_id), config: decodePolicy(r.policy) }));
  }

  // ---- namespaces and repositories ----

  /** get_namespace_user_by_user_id: the namespace's name (not a robot), or null. */
  async namespaceName(namespaceId: number): Promise<string | null> {
    const r = await this.sql.one<{ username: string }>('SELECT username FROM "user" WHERE id = @id AND robot = @no', { id: namespaceId, no: false });
    return r?.username ?? null;
  }

  /** get_active_namespaces, one page by id (modelutil.paginate): enabled users and organisations, no robots. */
  async activeNamespaces(afterId: number, limit: number): Promise<number[]> {
    const rows = await this.sql.all<{ id: unknown }>(`SELECT id FROM "user" WHERE robot = @no AND enabled = @yes AND id > @after ORDER BY id LIMIT ${limit}`, {
      no: false,
      yes: true,
      after: afterId,
    });
    return rows.map((r) => num(r.id));
  }

  /** get_paginated_repositories_for_namespace, one page by id: the namespace's repositories in the NORMAL state. */
  async repositories(namespaceId: number, afterId: number, limit: number): Promise<{ id: number; name: string }[]> {
    const rows = await this.sql.all<{ id: unknown; name: string }>(
      `SELECT id, name FROM repository WHERE state = @normal AND namespace_user_id = @ns AND id > @after ORDER BY id LIMIT ${limit}`,
      { normal: RepositoryState.NORMAL, ns: namespaceId, after: afterId },
    );
    return rows.map((r) => ({ id: num(r.id), name: r.name }));
  }

  /** lookup_repository (any state): its name, or null. */
  async repositoryName(repositoryId: number, normalOnly = false): Promise<string | null> {
    const r = await this.sql.one<{ name: string }>(`SELECT name FROM repository WHERE id = @id${normalOnly ? ' AND state = @normal' : ''}`, {
      id: repositoryId,
      normal: RepositoryState.NORMAL,
    });
    return r?.name ?? null;
  }

  // ---- the tags a policy prunes ----

  /**
   * fetch_paginated_autoprune_repo_tags_by_number: the alive, visible,
   * mutable, non-Cosign tags newest first (by lifetime_start_ms), past the
   * first `keep` (of those the pattern selects, with one); one page.
   */
  async tagsBeyondCount(repositoryId: number, keep: number, perPage: number, page: number, pattern: TagPattern | null, nowMs: number): Promise<string[]> {
    const offset = keep + (page - 1) * perPage;
    const base = `SELECT t.name FROM tag t WHERE t.repository_id = @repo AND ${ALIVE} AND t.hidden = @no AND t.immutable = @no AND ${notCosignTag('t.name')}`;
    return this.page(base, ' ORDER BY t.lifetime_start_ms DESC', { repo: repositoryId, now: nowMs, no: false }, offset, perPage, pattern);
  }

  /** fetch_paginated_autoprune_repo_tags_older_than_ms: the alive, visible, mutable, non-Cosign tags created more than `ageMs` ago; one page. */
  async tagsOlderThan(repositoryId: number, ageMs: number, perPage: number, page: number, pattern: TagPattern | null, nowMs: number): Promise<string[]> {
    const base = `SELECT t.name FROM tag t WHERE t.repository_id = @repo AND ${ALIVE}
      AND CAST(@now AS BIGINT) - t.lifetime_start_ms > CAST(@age AS BIGINT) AND t.hidden = @no AND t.immutable = @no AND ${notCosignTag('t.name')}`;
    // Quay's query has no ORDER BY; the id order is the one both databases use for it here.
    return this.page(base, ' ORDER BY t.id', { repo: repositoryId, now: nowMs, age: ageMs, no: false }, (page - 1) * perPage, perPage, pattern);
  }

  /**
   * One page of `base`, filtered by the tag pattern as Quay's db_regex_search
   * does: PostgreSQL's `~` in the query; on SQLite (no regular expressions)
   * every row is read and filtered here, then the page cut out.
   */
  private async page(base: string, order: string, params: Record<string, unknown>, offset: number, limit: number, pattern: TagPattern | null): Promise<string[]> {
    if (pattern === null || this.sql.dialect === 'postgresql') {
      const where = pattern === null ? '' : pattern.matches ? ' AND t.name ~ @pattern' : ' AND NOT (t.name ~ @pattern)';
      const rows = await this.sql.all<{ name: string }>(`${base}${where}${order} LIMIT ${limit} OFFSET ${offset}`, { ...params, pattern: pattern?.source });
      return rows.map((r) => r.name);
    }
    const rows = await this.sql.all<{ name: string }>(`${base}${order}`, params);
    const re = new RegExp(pattern.source);
    return rows
      .map((r) => r.name)
      .filter((n) => re.test(n) === pattern.matches)
      .slice(offset, offset + limit);
  }

  // ---- deleting a tag (oci.tag.delete_tag) ----

  /**
   * delete_tag + _delete_tag: the alive, visible tag `name` ends now, with
   * its pull statistics (FEATURE_IMAGE_PULL_STATS) and tag-expiry
   * notification records, its Cosign siblings (signature, attestation, SBOM
   * tags of its manifest, once no other tag holds that manifest) and, with
   * RESET_CHILD_MANIFEST_EXPIRATION, the hidden `$temp-` tags of its
   * manifest list's children. `deleted` is null when no such tag is alive or
   * its end moved meanwhile; `immutable` when FEATURE_IMMUTABLE_TAGS keeps it.
   */
  async deleteTag(repositoryId: number, name: string, nowMs: number): Promise<'deleted' | 'immutable' | null> {
    const tag = await this.sql.one<{ id: unknown; lifetime_end_ms: unknown; immutable: unknown; manifest_id: unknown; digest: string | null }>(
      `SELECT t.id, t.lifetime_end_ms, t.immutable, t.manifest_id, m.digest FROM tag t JOIN manifest m ON m.id = t.manifest_id
        WHERE t.repository_id = @repo AND t.name = @name AND ${ALIVE} AND t.hidden = @no ORDER BY t.id LIMIT 1`,
      { repo: repositoryId, name, now: nowMs, no: false },
    );
    if (!tag) return null;
    if (this.settings.immutableTags && (tag.immutable === true || tag.immutable === 1)) return 'immutable';
    const id = num(tag.id);
    const manifestId = num(tag.manifest_id);
    const end = tag.lifetime_end_ms === null ? null : num(tag.lifetime_end_ms);
    return this.dal.tx(async (tx) => {
      const s = tx.sql;
      if (this.settings.pullStats) await s.run('DELETE FROM tagpullstatistics WHERE repository_id = @repo AND tag_name = @name', { repo: repositoryId, name });
      await s.run('DELETE FROM tagnotificationsuccess WHERE tag_id = @id', { id });
      const ended = await s.run(`UPDATE tag SET lifetime_end_ms = @now WHERE id = @id AND ${end === null ? 'lifetime_end_ms IS NULL' : 'lifetime_end_ms = CAST(@end AS BIGINT)'}`, {
        now: nowMs,
        id,
        end,
      });
      if (ended !== 1) return null;
      if (!isCosignTag(name) && tag.digest !== null) await this.expireCosignSiblings(tx, repositoryId, tag.digest, manifestId, id, nowMs);
      if (this.settings.resetChildManifestExpiration) await this.resetChildTempTags(tx, repositoryId, manifestId, nowMs);
      return 'deleted';
    });
  }

  /** _expire_cosign_sibling_tags with subject_manifest and exclude_tag_id, under the retarget_tag lock on PostgreSQL. */
  private async expireCosignSiblings(tx: Dal, repositoryId: number, digest: string, manifestId: number, excludeId: number, nowMs: number): Promise<void> {
    const s = tx.sql;
    if (s.dialect === 'postgresql')
      await s.one('SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(CAST(@k AS BIGINT))) x', { k: advisoryLockId('retarget_tag', repositoryId) });
    const prefix = digest.replace(':', '-');
    const names = COSIGN_SUFFIXES.map((x) => `${prefix}.${x}`);
    const siblings = await s.all<{ id: unknown; name: string }>(
      `SELECT t.id, t.name FROM tag t WHERE t.repository_id = @repo AND t.name IN (@n0, @n1, @n2) AND t.immutable = @no AND ${ALIVE}
         AND NOT EXISTS (SELECT 1 FROM tag o WHERE o.repository_id = @repo AND o.manifest_id = @manifest AND o.hidden = @no AND ${notCosignTag('o.name')}
           AND (o.lifetime_end_ms IS NULL OR o.lifetime_end_ms > CAST(@now AS BIGINT)) AND o.id <> @exclude)
       ORDER BY t.id`,
      { repo: repositoryId, n0: names[0], n1: names[1], n2: names[2], no: false, now: nowMs, manifest: manifestId, exclude: excludeId },
    );
    // Each gets its own end at or before now that no other row of its name has (the unique (repository, name, lifetime_end_ms) index).
    let increment = 0;
    for (const sib of siblings) {
      for (;;) {
        const taken = await s.one('SELECT 1 AS x FROM tag WHERE repository_id = @repo AND name = @name AND lifetime_end_ms = CAST(@end AS BIGINT) AND id <> @id', {
          repo: repositoryId,
          name: sib.name,
          end: nowMs - increment,
          id: num(sib.id),
        });
        if (!taken) break;
        increment++;
      }
      await s.run('UPDATE tag SET lifetime_end_ms = @end WHERE id = @id', { end: nowMs - increment, id: num(sib.id) });
      increment++;
    }
  }

  /** reset_child_manifest_expiration: the children's hidden `$temp-` tags that would outlive now end now. */
  private async resetChildTempTags(tx: Dal, repositoryId: number, manifestId: number, nowMs: number): Promise<void> {
    const children = await tx.sql.all<{ child: unknown }>('SELECT child_manifest_id AS child FROM manifestchild WHERE repository_id = @repo AND manifest_id = @m', {
      repo: repositoryId,
      m: manifestId,
    });
    // peewee's startswith is a case-insensitive LIKE on both databases.
    for (const c of children)
      await tx.sql.run(
        `UPDATE tag SET lifetime_end_ms = @now WHERE repository_id = @repo AND manifest_id = @child AND lifetime_end_ms > CAST(@now AS BIGINT)
           AND LOWER(name) LIKE '$temp-%' AND hidden = @yes`,
        { now: nowMs, repo: repositoryId, child: num(c.child), yes: true },
      );
  }
}

/** A policy's tag pattern: `tag_pattern`, and whether the tags it selects are those that match it (`tag_pattern_matches`). */
export interface TagPattern {
  readonly source: string;
  readonly matches: boolean;
}
