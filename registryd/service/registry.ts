/**
 * Registry semantics above the metadata store and the storage driver:
 * repositories, blobs, manifests, tags, catalog and referrers (the /v2 API
 * without HTTP). Handlers in http/ translate requests into these calls.
 */
import type { Readable } from 'node:stream';
import { DomainError } from '../../domain/errors.js';
import { MissingReferences, RepositoryState, SizeMismatch, type BlobRef, type ManifestRef, type MetadataStore, type Page, type RepositoryRef } from '../../dal/model/store.js';
import type { ByteRange, StorageDriver } from '../../storage/driver.js';
import { blobKey } from '../../storage/paths.js';
import { parseManifest, type ParsedManifest } from '../content/manifest.js';
import { DOCKER_MANIFEST, OCI_INDEX } from '../content/media-types.js';
import { dockerConfigProblem } from '../content/docker-config.js';
import { fullName, isValidTag, type RepoName } from '../../domain/names.js';
import type { QuotaAccounting } from '../../dal/model/store.js';
import type { ActivityLog, Requester } from './activity.js';
import { labelsNeedConfig, manifestLabels } from '../content/labels.js';

export interface RegistrySettings {
  /** Create repositories (and namespaces) on first push (mirror mode; Quay's CREATE_NAMESPACE_ON_PUSH). */
  readonly createOnPush: boolean;
  /** Visibility of repositories created on push (Quay: private unless CREATE_PRIVATE_REPO_ON_PUSH is off). */
  readonly createVisibility: 'public' | 'private';
  /** PUSH_TEMP_TAG_EXPIRATION_SEC: how long a manifest pushed by digest lives without a tag. */
  readonly tempTagSeconds: number;
  /** Largest manifest accepted, in bytes. */
  readonly maxManifestBytes: number;
  /** How new manifests count towards quota totals (FEATURE_QUOTA_MANAGEMENT, QUOTA_INVALIDATE_TOTALS); default Quay's (`invalidate`). */
  readonly quota?: QuotaAccounting;
  readonly now: () => number;
}

export interface BlobRead {
  readonly blob: BlobRef;
  readonly body: Readable;
  readonly range: ByteRange | null;
}

export interface Referrer {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Record<string, string>;
}

/** Configs larger than this are not read for the schema 2 config check (image configs are kilobytes). */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

const WRITABLE_STATES: ReadonlySet<number> = new Set([RepositoryState.NORMAL]);
const READABLE_STATES: ReadonlySet<number> = new Set([RepositoryState.NORMAL, RepositoryState.READ_ONLY, RepositoryState.MIRROR, RepositoryState.ORG_MIRROR]);

/** Quay's NameUnknown("repository not found"): that message, an empty detail. */
const nameUnknown = (r: RepoName): DomainError => new DomainError('NAME_UNKNOWN', `repository ${fullName(r)} not found`, { detail: {}, publicMessage: 'repository not found' });

/**
 * A declared size that is not the stored one: 400 MANIFEST_INVALID. For the
 * config and child manifests the detail is Quay's own (its schema 2 config
 * check and its manifest-list loader); Quay does not compare layer sizes, and
 * registryd does so that what it records and serves matches the blobs.
 */
function sizeMismatch(e: SizeMismatch): DomainError {
  const message =
    e.kind === 'layer'
      ? `Size of layer ${e.digest} does not match that retrieved: ${e.actual} vs ${e.declared}`
      : `Size of ${e.kind} does not match that retrieved: ${e.actual} vs ${e.declared}`;
  return new DomainError('MANIFEST_INVALID', message);
}

export class RegistryService {
  constructor(
    readonly store: MetadataStore,
    readonly storage: StorageDriver,
    readonly settings: RegistrySettings,
    /** Action logs and notifications (activity.ts), written for the calls given a Requester. */
    readonly activity: ActivityLog | null = null,
  ) {}

  /** A repository to read from; NAME_UNKNOWN if it does not exist (or is being deleted). */
  async readable(r: RepoName): Promise<RepositoryRef> {
    const repo = await this.store.lookupRepository(r.namespace, r.name);
    if (!repo || !READABLE_STATES.has(repo.state)) throw nameUnknown(r);
    return repo;
  }

  /**
   * A repository to write to; DENIED when its state forbids writes. Only the
   * start of an upload (`create`) makes a missing repository, when creation
   * on push is allowed: every later step of a push finds it there.
   */
  async writable(r: RepoName, create = false): Promise<RepositoryRef> {
    let repo = await this.store.lookupRepository(r.namespace, r.name);
    if (!repo) {
      if (!create || !this.settings.createOnPush) throw nameUnknown(r);
      repo = await this.store.createRepository(r.namespace, r.name, this.settings.createVisibility, this.settings.now());
    }
    if (!WRITABLE_STATES.has(repo.state)) {
      throw new DomainError('REPOSITORY_READ_ONLY', `repository ${fullName(r)} is not accepting writes (state ${repo.state})`);
    }
    return repo;
  }

  async blob(repo: RepositoryRef, digest: string): Promise<BlobRef> {
    const b = await this.store.repositoryBlob(repo.id, digest, this.settings.now());
    if (!b) throw new DomainError('BLOB_UNKNOWN', `blob ${digest} is not in ${repo.namespace}/${repo.name}`, { detail: {} });
    return b;
  }

  async openBlob(blob: BlobRef, range: ByteRange | null): Promise<Readable> {
    return this.storage.read(blobKey(blob.digest), range ?? undefined);
  }

  /** Cross-repository mount: link a blob the source repository holds; null when it cannot (then a normal upload starts). */
  async mount(target: RepositoryRef, from: RepoName, digest: string): Promise<BlobRef | null> {
    const source = await this.store.lookupRepository(from.namespace, from.name);
    if (!source || !READABLE_STATES.has(source.state)) return null;
    const now = this.settings.now();
    const b = await this.store.repositoryBlob(source.id, digest, now);
    if (!b) return null;
    await this.store.linkBlob(target.id, b.id, now, now + this.settings.tempTagSeconds * 1000);
    return b;
  }

  /** A manifest to serve; with `who`, Quay's pull_repo log is written before it is returned. */
  async manifest(repo: RepositoryRef, reference: string, byDigest: boolean, who?: Requester): Promise<ManifestRef> {
    const m = byDigest ? await this.store.manifestByDigest(repo.id, reference, this.settings.now()) : await this.store.manifestByTag(repo.id, reference, this.settings.now());
    if (m) {
      if (who) await this.activity?.pulled(repo, who, byDigest ? { digest: reference } : { tag: reference }, m.mediaType);
      return m;
    }
    if (!byDigest && (await this.store.tagExpired(repo.id, reference, this.settings.now()))) {
      // Quay (TagExpired) puts this text in the envelope's message, not in detail.
      const text = `Tag ${reference} was deleted or has expired. To pull, revive via time machine`;
      throw new DomainError('TAG_EXPIRED', text, { publicMessage: text, detail: {} });
    }
    throw new DomainError('MANIFEST_UNKNOWN', `manifest ${reference} is not in ${repo.namespace}/${repo.name}`, { detail: {} });
  }

  /**
   * Validate and store a pushed manifest under a tag or (by digest) a
   * temporary hidden tag; with `who`, a tag push is logged (push_repo) and
   * notified (repo_push) as Quay does.
   */
  async putManifest(repo: RepositoryRef, reference: string, byDigest: boolean, bytes: Buffer, contentType: string | undefined, who?: Requester): Promise<ParsedManifest> {
    if (!byDigest && !isValidTag(reference)) throw new DomainError('TAG_INVALID', `invalid tag ${JSON.stringify(reference)}`);
    if (bytes.length > this.settings.maxManifestBytes) {
      throw new DomainError('MANIFEST_INVALID', `manifest is ${bytes.length} bytes; at most ${this.settings.maxManifestBytes} are accepted`);
    }
    const m = parseManifest(bytes, contentType);
    if (byDigest && m.digest !== reference) {
      throw new DomainError('DIGEST_INVALID', `manifest digest is ${m.digest}, not ${reference}`, { detail: { digest: reference } });
    }
    const now = this.settings.now();
    if (m.mediaType === DOCKER_MANIFEST && m.config) await this.checkDockerConfig(repo, m.config.digest, m.config.size, now);
    const labels = manifestLabels(m, m.config && labelsNeedConfig(m) ? await this.configBytes(repo, m.config.digest, m.config.size, now) : null);
    try {
      await this.store.putManifest(
        repo.id,
        {
          digest: m.digest,
          mediaType: m.mediaType,
          text: m.text,
          configMediaType: m.config?.mediaType ?? null,
          layersCompressedSize: m.isIndex ? null : m.layersCompressedSize,
          subject: m.subject?.digest ?? null,
          artifactType: m.artifactType,
          blobDigests: m.blobDigests,
          childDigests: m.manifests.map((d) => d.digest),
          declaredSizes: m.declaredSizes,
          labels,
        },
        byDigest ? { tempTagUntilMs: m.subject ? null : now + this.settings.tempTagSeconds * 1000 } : { tag: reference },
        now,
        this.settings.quota ?? 'invalidate',
      );
    } catch (e) {
      if (e instanceof MissingReferences) {
        const first = e.blobs[0] ?? e.manifests[0];
        throw new DomainError('MANIFEST_BLOB_UNKNOWN', `manifest references ${first}, which is not in ${repo.namespace}/${repo.name}`, { detail: { digest: first } });
      }
      if (e instanceof SizeMismatch) throw sizeMismatch(e);
      throw e;
    }
    if (!byDigest && who) await this.activity?.pushed(repo, who, reference, m.mediaType);
    return m;
  }

  /**
   * A Docker schema 2 manifest's config must be an image config Quay can read
   * (content/docker-config.ts): Quay loads it before storing the manifest and
   * refuses the push otherwise. A config that is missing or has another size
   * is left to the store's reference check, which reports it.
   */
  private async checkDockerConfig(repo: RepositoryRef, digest: string, declared: number, now: number): Promise<void> {
    const blob = await this.store.repositoryBlob(repo.id, digest, now);
    if (!blob || blob.size !== declared || blob.size > MAX_CONFIG_BYTES) return;
    const parts: Buffer[] = [];
    for await (const chunk of await this.storage.read(blobKey(digest))) parts.push(chunk as Buffer);
    const problem = dockerConfigProblem(Buffer.concat(parts));
    if (problem !== null) throw new DomainError('MANIFEST_INVALID', problem);
  }

  /** End the tag, or every visible tag of the digest; with `who`, one delete_tag log per tag ended. */
  /** A config blob of the repository, for its labels; null when it is not there, not that size, or too large. */
  private async configBytes(repo: RepositoryRef, digest: string, declared: number, now: number): Promise<Buffer | null> {
    const blob = await this.store.repositoryBlob(repo.id, digest, now);
    if (!blob || blob.size !== declared || blob.size > MAX_CONFIG_BYTES) return null;
    const parts: Buffer[] = [];
    for await (const chunk of await this.storage.read(blobKey(digest))) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  }

  async deleteManifest(repo: RepositoryRef, reference: string, byDigest: boolean, who?: Requester): Promise<void> {
    const now = this.settings.now();
    const ended = byDigest ? await this.store.deleteManifest(repo.id, reference, now) : (await this.store.deleteTag(repo.id, reference, now)) ? [reference] : [];
    if (ended.length === 0) throw new DomainError('MANIFEST_UNKNOWN', `manifest ${reference} is not in ${repo.namespace}/${repo.name}`, { detail: {} });
    if (who) await this.activity?.tagsDeleted(repo, who, ended, reference);
  }

  tags(repo: RepositoryRef, page?: Page): Promise<string[]> {
    return this.store.listTags(repo.id, this.settings.now(), page);
  }

  catalog(page: Page): Promise<string[]> {
    return this.store.listRepositories(page);
  }

  /**
   * Manifests whose subject is the digest, as OCI 1.1 describes them: an
   * unknown subject has no referrers (an empty list, never an error), and
   * `artifactType` falls back to the config's media type.
   */
  async referrers(repo: RepositoryRef, subject: string, artifactType: string | null): Promise<Referrer[]> {
    const rows = await this.store.referrers(repo.id, subject, this.settings.now());
    const out: Referrer[] = [];
    for (const r of rows) {
      let doc: { annotations?: Record<string, string>; config?: { mediaType?: string } } = {};
      try {
        doc = JSON.parse(r.text) as typeof doc;
      } catch {
        /* stored manifests are valid JSON */
      }
      const type = r.artifactType ?? doc.config?.mediaType ?? null;
      if (artifactType !== null && type !== artifactType) continue;
      const annotations = doc.annotations && Object.keys(doc.annotations).length > 0 ? doc.annotations : undefined;
      out.push({
        mediaType: r.mediaType,
        digest: r.digest,
        size: Buffer.byteLength(r.text),
        ...(type ? { artifactType: type } : {}),
        ...(annotations ? { annotations } : {}),
      });
    }
    return out;
  }

  /**
   * The referrers index as Quay builds it (image/oci/index.py
   * OCIIndexBuilder): the referrers, then at the top level every referrer's
   * annotations merged in list order (a later one wins a key), when any.
   */
  static referrersIndex(refs: readonly Referrer[]): string {
    const merged: Record<string, string> = {};
    for (const r of refs) Object.assign(merged, r.annotations ?? {});
    return JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: refs, ...(Object.keys(merged).length > 0 ? { annotations: merged } : {}) });
  }
}
