/**
 * The garbage collector: Quay's data/model/gc.py (garbage_collect_repo,
 * purge_repository, _run_garbage_collection) and storage.py
 * (garbage_collect_storage) driving the SQL steps of dal/portable/gc.ts, and
 * the removal of blob files from storage.
 *
 * What it keeps from Quay, step by step:
 *  - tags are taken ten at a time; each chunk is a "context" whose manifests
 *    (the tags' manifests and, level by level, their children), labels and
 *    blobs are collected until a round changes nothing;
 *  - a manifest goes only when no tag, no parent list and no referrer holds it;
 *  - a storage row goes only when orphaned (no manifestblob, no uploadedblob,
 *    and it has a placement), with its placements and signatures;
 *  - a file goes only after the database changes, only for a checksum no
 *    `imagestorage` row has any more (checked again, under the per-digest
 *    lock, right before the removal), never for the special empty layer, and
 *    never for a row without a checksum.
 * Differences (each also in workers/README.md):
 *  - a chunk in which nothing could be deleted ends the loop (Quay would
 *    fetch the same chunk again; it cannot happen with Quay's own queries
 *    except through a concurrent writer, and it must not spin);
 *  - a placement in a location other than this side's storage driver keeps
 *    its file (logged): the TS side has one storage location.
 */
import type { Logger } from '../../lib/log.js';
import type { GcData, GcPlacement, GcRepository, GcSettings, GcTag } from '../../dal/portable/gc.js';
import { GC_CHUNK } from '../../dal/portable/gc.js';
import { RepositoryState } from '../../dal/model/store.js';
import type { StorageDriver } from '../../storage/driver.js';
import { blobKey, v1LayerKey } from '../../storage/paths.js';

/** Quay's SPECIAL_BLOB_DIGESTS: the empty layer's file is never removed. */
export const EMPTY_LAYER_BLOB_DIGEST = 'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';

/** What a collection did (counts of rows and files removed). */
export interface GcCounts {
  tags: number;
  manifests: number;
  labels: number;
  uploaded_blobs: number;
  storages: number;
  files: number;
}

export const zeroCounts = (): GcCounts => ({ tags: 0, manifests: 0, labels: 0, uploaded_blobs: 0, storages: 0, files: 0 });

interface Context {
  readonly repo: GcRepository;
  readonly manifests: Set<number>;
  readonly labels: Set<number>;
  readonly blobs: Set<number>;
}

export interface GarbageCollectorDeps {
  readonly data: GcData;
  readonly storage: StorageDriver;
  readonly settings: GcSettings;
  readonly log: Logger;
  readonly now?: () => number;
}

export class GarbageCollector {
  private readonly now: () => number;

  constructor(private readonly d: GarbageCollectorDeps) {
    this.now = d.now ?? Date.now;
  }

  /**
   * garbage_collect_repo: the repository's unrecoverable tags (ended longer
   * ago than its namespace's time-machine window) and expired uploaded
   * blobs, with everything only they held. `active` is checked between
   * chunks: collection is incremental, stopping early loses nothing.
   */
  async garbageCollectRepo(repo: GcRepository, active: () => boolean = () => true): Promise<GcCounts> {
    const counts = zeroCounts();
    while (active()) {
      const tags = await this.d.data.unrecoverableTags(repo.id, this.now());
      if (tags.length === 0) break;
      const ctx = this.context(repo);
      let purged = 0;
      for (const tag of tags) if (await this.purgeTag(ctx, tag, false, counts)) purged++;
      await this.run(ctx, counts);
      if (purged === 0) break; // nothing could go (a concurrent change): do not fetch the same chunk for ever
    }
    await this.purgeUploadedBlobs(repo, () => this.d.data.expiredUploadedBlobs(repo.id, this.now()), counts, active);
    return counts;
  }

  /** _purge_uploaded_blob over chunks from `next` until it is empty: each link goes, its blob is a candidate. */
  private async purgeUploadedBlobs(
    repo: GcRepository,
    next: () => Promise<readonly { readonly id: number; readonly blobId: number }[]>,
    counts: GcCounts,
    active: () => boolean = () => true,
  ): Promise<void> {
    while (active()) {
      const uploaded = await next();
      if (uploaded.length === 0) return;
      const ctx = this.context(repo);
      for (const u of uploaded) {
        ctx.blobs.add(u.blobId);
        await this.d.data.deleteUploadedBlob(u.id);
        counts.uploaded_blobs++;
      }
      await this.run(ctx, counts);
    }
  }

  /**
   * purge_repository: every tag, manifest and uploaded blob of a repository
   * marked for deletion (with what only they held), then its other rows and
   * the repository row itself. Resolves false when the repository row could
   * not go (already gone, or something still points at it: retried later).
   */
  async purgeRepository(repo: GcRepository, counts: GcCounts = zeroCounts()): Promise<boolean> {
    if (repo.state !== RepositoryState.MARKED_FOR_DELETION) throw new Error(`repository ${repo.id} is not marked for deletion`);
    // Child manifests have lower ids than their lists: the links go first so any chunk of manifests can go.
    await this.d.data.deleteManifestChildren(repo.id);
    for (;;) {
      const tags = await this.d.data.anyTags(repo.id, GC_CHUNK);
      if (tags.length === 0) break;
      const ctx = this.context(repo);
      let purged = 0;
      for (const tag of tags) if (await this.purgeTag(ctx, tag, true, counts)) purged++;
      await this.run(ctx, counts);
      if (purged === 0) throw new Error(`repository ${repo.id}: tags changed while it was purged`);
    }
    for (;;) {
      const manifests = await this.d.data.anyManifests(repo.id, GC_CHUNK);
      if (manifests.length === 0) break;
      const ctx = this.context(repo);
      for (const m of manifests) ctx.manifests.add(m);
      const before = counts.manifests;
      await this.run(ctx, counts);
      if (counts.manifests === before) throw new Error(`repository ${repo.id}: manifests still referenced while it was purged`);
    }
    await this.purgeUploadedBlobs(repo, () => this.d.data.anyUploadedBlobs(repo.id, GC_CHUNK), counts);
    await this.d.data.deleteRepositorySize(repo.id);
    const left = await this.d.data.contentsLeft(repo.id);
    for (const t of ['tag', 'manifest', 'manifestblob', 'uploadedblob']) {
      if (left[t]) throw new Error(`repository ${repo.id}: ${left[t]} ${t} rows left after its contents were purged`);
    }
    return this.d.data.deleteRepositoryRows(repo.id);
  }

  private context(repo: GcRepository): Context {
    return { repo, manifests: new Set(), labels: new Set(), blobs: new Set() };
  }

  /** _purge_oci_tag: the tag's manifest joins the context; the tag goes unless it changed meanwhile. */
  private async purgeTag(ctx: Context, tag: GcTag, allowNonExpired: boolean, counts: GcCounts): Promise<boolean> {
    if (!allowNonExpired && this.d.settings.protectImmutable && tag.immutable) {
      this.d.log.warn('gc: skipping an immutable tag', { repository_id: ctx.repo.id, tag: tag.name, tag_id: tag.id });
      return false;
    }
    if (!allowNonExpired && (tag.lifetimeEndMs === null || tag.lifetimeEndMs > this.now())) throw new Error(`tag ${tag.id} has not expired`);
    if (tag.manifestId !== null) ctx.manifests.add(tag.manifestId);
    const deleted = await this.d.data.purgeTag(ctx.repo.id, tag);
    if (deleted) counts.tags++;
    return deleted;
  }

  /** _run_garbage_collection: walk the manifest tree, then delete manifests, labels and blobs until a round changes nothing. */
  private async run(ctx: Context, counts: GcCounts): Promise<void> {
    const discovered = new Set<number>();
    let toDiscover = [...ctx.manifests];
    while (toDiscover.length > 0) {
      for (const m of toDiscover) discovered.add(m);
      const level = await this.d.data.manifestTree(toDiscover);
      for (const b of level.blobs) ctx.blobs.add(b);
      for (const l of level.labels) ctx.labels.add(l);
      const next = new Set<number>();
      for (const c of level.children) {
        if (discovered.has(c)) continue;
        ctx.manifests.add(c);
        next.add(c);
      }
      toDiscover = [...next];
    }
    for (let changed = true; changed;) {
      changed = false;
      for (const m of [...ctx.manifests]) {
        if (await this.d.data.collectManifest(ctx.repo.id, m)) {
          ctx.manifests.delete(m);
          counts.manifests++;
          changed = true;
        }
      }
      const labels = await this.d.data.collectLabels([...ctx.labels]);
      for (const l of labels) ctx.labels.delete(l);
      if (labels.length > 0) {
        counts.labels += labels.length;
        changed = true;
      }
      if (ctx.blobs.size > 0) {
        const removed = await this.collectStorage([...ctx.blobs], ctx.repo, counts);
        for (const b of removed) ctx.blobs.delete(b);
        if (removed.length > 0) changed = true;
      }
    }
  }

  /**
   * garbage_collect_storage: each candidate row in its own transaction, then,
   * outside any, the files of the rows that went (each checked once more).
   * Resolves with the ids of the rows removed.
   */
  private async collectStorage(candidates: readonly number[], repo: GcRepository, counts: GcCounts): Promise<number[]> {
    const removed: number[] = [];
    const files = new Map<string, GcPlacement>();
    for (const id of candidates) {
      const r = await this.d.data.collectStorage(id);
      if (!r.removed) continue;
      removed.push(id);
      counts.storages++;
      for (const p of r.placements) files.set(`${p.location}\0${p.casPath ? `cas:${p.checksum}` : `v1:${p.uuid}`}\0${p.checksum}`, p);
    }
    for (const p of files.values()) {
      // Quay removes a file only for a row with a checksum, never the special empty layer.
      if (p.checksum === null || p.checksum === '' || p.checksum === EMPTY_LAYER_BLOB_DIGEST) continue;
      if (p.location !== this.d.storage.location) {
        this.d.log.warn('gc: blob file in another storage location left in place', { location: p.location, checksum: p.checksum, repository_id: repo.id });
        continue;
      }
      let key: string;
      try {
        key = p.casPath ? blobKey(p.checksum) : v1LayerKey(p.uuid);
      } catch (e) {
        this.d.log.warn('gc: no storage path for a removed blob: file left in place', { checksum: p.checksum, uuid: p.uuid, error: (e as Error).message });
        continue;
      }
      const gone = await this.d.data.removeIfUnreferenced(p.checksum, () => this.d.storage.delete(key));
      if (gone) {
        counts.files++;
        this.d.log.info('gc: removed blob file', { checksum: p.checksum, location: p.location, path: key, namespace: repo.namespace, repository: repo.name });
      }
    }
    return removed;
  }
}
