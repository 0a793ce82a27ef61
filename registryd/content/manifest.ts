/**
 * Manifest parsing and validation: pure, no I/O. Takes the bytes a client
 * PUT and the Content-Type it sent, returns what the registry must store and
 * check (the blobs and child manifests it references, subject, artifact type)
 * or throws MANIFEST_INVALID with the reason.
 */
import { createHash } from 'node:crypto';
import { isSha256Digest } from '../../domain/digest.js';
import { DomainError } from '../../domain/errors.js';
import { pathKey, sizeLiterals } from './size-literals.js';
import {
  DOCKER_CONFIG,
  DOCKER_LIST,
  DOCKER_MANIFEST,
  DOCKER_SCHEMA1,
  DOCKER_SCHEMA1_SIGNED,
  OCI_INDEX,
  OCI_MANIFEST,
  isManifestMediaType,
  type ManifestMediaType,
} from './media-types.js';

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  /** Foreign (non-distributable) layers carry URLs and need not be in the registry. */
  readonly urls?: readonly string[];
}

export interface ParsedManifest {
  readonly digest: string;
  readonly mediaType: ManifestMediaType;
  /** The exact bytes as text (manifests must be UTF-8 JSON; Quay stores them as text). */
  readonly text: string;
  readonly size: number;
  readonly isIndex: boolean;
  readonly config: Descriptor | null;
  readonly layers: readonly Descriptor[];
  /** Child manifests of an index or list. */
  readonly manifests: readonly Descriptor[];
  readonly subject: Descriptor | null;
  /** The manifest's own `artifactType` (what Quay stores in `manifest.artifact_type`). */
  readonly artifactType: string | null;
  /** What the referrers API reports (OCI 1.1): `artifactType`, else the config's media type. */
  readonly effectiveArtifactType: string | null;
  readonly annotations: Readonly<Record<string, string>> | null;
  /** Blob digests the repository must hold: config and non-foreign layers, unique, in order. */
  readonly blobDigests: readonly string[];
  /** Sum of the layers' sizes (`manifest.layers_compressed_size`). */
  readonly layersCompressedSize: number;
  /**
   * What must be in the repository with the size declared for it, in document
   * order: the config, the non-foreign layers, the child manifests.
   */
  readonly declaredSizes: readonly DeclaredSize[];
}

/** A blob or child manifest a manifest names, with the size it declares. */
export interface DeclaredSize {
  readonly kind: 'config' | 'layer' | 'manifest';
  readonly digest: string;
  readonly size: number;
}

const invalid = (why: string): DomainError => new DomainError('MANIFEST_INVALID', why);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) throw invalid(`${where} must map strings to strings`);
  return v as Record<string, string>;
}

/** Where a descriptor sits in the document: its path (for its size's source text) and its name in messages. */
interface At {
  readonly path: readonly (string | number)[];
  readonly literals: ReadonlyMap<string, string>;
}

const where = (path: readonly (string | number)[]): string => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');

/**
 * A descriptor's size: an integer written as one (OCI: int64), not negative,
 * and at most 2^53 - 1, the largest byte count a JavaScript number holds
 * exactly. Judged on the source text: the parsed value of `1.0`, `1e3` or a
 * 20-digit number would hide what the client wrote.
 */
function sizeOf(v: unknown, at: At): number {
  const name = `${where(at.path)}.size`;
  const literal = at.literals.get(pathKey([...at.path, 'size']));
  if (typeof v !== 'number' || literal === undefined) throw invalid(`${name} must be a number of bytes`);
  if (v < 0) throw invalid(`${name} ${literal} is negative`);
  if (!/^(?:0|[1-9][0-9]*)$/.test(literal)) throw invalid(`${name} ${literal} is not written as a whole number of bytes (no sign, fraction or exponent)`);
  if (BigInt(literal) > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${name} ${literal} is larger than ${Number.MAX_SAFE_INTEGER} bytes`);
  return v;
}

function descriptor(v: unknown, at: At): Descriptor {
  const name = where(at.path);
  if (!isObject(v)) throw invalid(`${name} is not an object`);
  const { mediaType, digest, urls, artifactType } = v;
  if (typeof mediaType !== 'string' || mediaType === '') throw invalid(`${name}.mediaType is missing`);
  if (typeof digest !== 'string' || !isSha256Digest(digest)) throw invalid(`${name}.digest ${JSON.stringify(digest)} is not a sha256 digest`);
  const size = sizeOf(v.size, at);
  if (urls !== undefined && (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string'))) throw invalid(`${name}.urls must be a list of strings`);
  if (artifactType !== undefined && typeof artifactType !== 'string') throw invalid(`${name}.artifactType must be a string`);
  const annotations = stringMap(v.annotations, `${name}.annotations`);
  return {
    mediaType,
    digest,
    size,
    ...(urls !== undefined && (urls as string[]).length > 0 ? { urls: urls as string[] } : {}),
    ...(artifactType !== undefined ? { artifactType: artifactType as string } : {}),
    ...(annotations ? { annotations } : {}),
  };
}

function descriptors(v: unknown, key: string, literals: ReadonlyMap<string, string>): Descriptor[] {
  if (!Array.isArray(v)) throw invalid(`${key} must be a list`);
  return v.map((d, i) => descriptor(d, { path: [key, i], literals }));
}

/** `manifest.layers_compressed_size`: the layers' sizes added up, refused past 2^53 - 1 (never a rounded or overflowing total). */
function layersTotal(layers: readonly Descriptor[]): number {
  let total = 0;
  for (const l of layers) {
    if (l.size > Number.MAX_SAFE_INTEGER - total) throw invalid(`the layers add up to more than ${Number.MAX_SAFE_INTEGER} bytes`);
    total += l.size;
  }
  return total;
}

/**
 * The media type a manifest is stored under: its Content-Type, else its own
 * `mediaType`, else its shape. The Content-Type is compared as sent, as Quay
 * compares it (a parameter or another case is an unknown type: 415).
 */
function mediaTypeOf(contentType: string | undefined, doc: Record<string, unknown>): ManifestMediaType {
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const ct = contentType === '' ? undefined : contentType;
  if (ct === DOCKER_SCHEMA1 || ct === DOCKER_SCHEMA1_SIGNED || declared === DOCKER_SCHEMA1 || declared === DOCKER_SCHEMA1_SIGNED || doc.schemaVersion === 1) {
    throw invalid('Docker schema 1 manifests are not accepted; push schema 2 or OCI');
  }
  if (ct && ct !== 'application/json' && !isManifestMediaType(ct)) {
    throw new DomainError('MANIFEST_MEDIA_TYPE_UNSUPPORTED', `manifest media type ${ct} is not supported`, { detail: { message: 'manifest schema version not supported' } });
  }
  if (ct && isManifestMediaType(ct)) {
    if (declared !== undefined && declared !== ct) throw invalid(`mediaType ${declared} does not match Content-Type ${ct}`);
    return ct;
  }
  if (declared !== undefined) {
    if (!isManifestMediaType(declared)) throw invalid(`unsupported manifest media type ${declared}`);
    return declared;
  }
  // Neither says: OCI allows an image manifest or index without mediaType.
  if (Array.isArray(doc.manifests)) return OCI_INDEX;
  if (isObject(doc.config)) return OCI_MANIFEST;
  throw invalid('cannot tell the manifest media type: no Content-Type, no mediaType, no config or manifests');
}

const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const DOCKER_FOREIGN_LAYER = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';

/** A list entry's or index entry's `platform`, as Quay's schemas require it (architecture and os, typed fields). */
function checkPlatform(v: unknown, name: string): void {
  if (!isObject(v)) throw invalid(`${name} is not an object`);
  for (const key of ['architecture', 'os']) if (typeof v[key] !== 'string') throw invalid(`${name}.${key} is missing or not a string`);
  for (const key of ['os.version', 'variant']) if (v[key] !== undefined && typeof v[key] !== 'string') throw invalid(`${name}.${key} must be a string`);
  for (const key of ['os.features', 'features']) {
    if (v[key] !== undefined && (!Array.isArray(v[key]) || (v[key] as unknown[]).some((x) => typeof x !== 'string'))) throw invalid(`${name}.${key} must be a list of strings`);
  }
}

/**
 * What Quay's schemas (image/docker/schema2/manifest.py and list.py,
 * image/oci/index.py) ask beyond the descriptors: a schema 2 manifest's
 * config is a Docker image config and its layers are Docker layers (foreign
 * ones with `urls`); a schema 2 list names schema 2 (or 1) manifests, each
 * with a platform; an OCI index entry's platform, when given, is complete.
 */
function checkQuaySchema(doc: Record<string, unknown>, mediaType: ManifestMediaType): void {
  if (mediaType === DOCKER_MANIFEST) {
    const config = doc.config;
    if (isObject(config) && config.mediaType !== DOCKER_CONFIG) throw invalid(`config.mediaType ${JSON.stringify(config.mediaType)} is not ${DOCKER_CONFIG}`);
    if (Array.isArray(doc.layers)) {
      doc.layers.forEach((l, i) => {
        if (!isObject(l)) return;
        if (l.mediaType !== DOCKER_LAYER && l.mediaType !== DOCKER_FOREIGN_LAYER) throw invalid(`layers[${i}].mediaType ${JSON.stringify(l.mediaType)} is not a Docker layer type`);
        if (l.mediaType === DOCKER_FOREIGN_LAYER && (!Array.isArray(l.urls) || l.urls.length === 0)) throw invalid(`layers[${i}] is a foreign layer without urls`);
      });
    }
  }
  if ((mediaType === DOCKER_LIST || mediaType === OCI_INDEX) && Array.isArray(doc.manifests)) {
    doc.manifests.forEach((m, i) => {
      if (!isObject(m)) return;
      if (mediaType === DOCKER_LIST) {
        if (m.mediaType !== DOCKER_MANIFEST && m.mediaType !== DOCKER_SCHEMA1)
          throw invalid(`manifests[${i}].mediaType ${JSON.stringify(m.mediaType)} is not a Docker manifest type`);
        checkPlatform(m.platform, `manifests[${i}].platform`);
      } else if (m.platform !== undefined) {
        checkPlatform(m.platform, `manifests[${i}].platform`);
      }
    });
  }
}

export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid('manifest is not UTF-8');
  }
  const doc = jsonObject(text);
  const mediaType = mediaTypeOf(contentType, doc);
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  if ((mediaType === DOCKER_MANIFEST || mediaType === DOCKER_LIST) && doc.mediaType !== mediaType) {
    throw invalid(`a Docker schema 2 manifest must declare mediaType ${mediaType}`);
  }
  const isIndex = mediaType === OCI_INDEX || mediaType === DOCKER_LIST;
  checkQuaySchema(doc, mediaType);
  const literals = sizeLiterals(text);
  const subject = doc.subject === undefined ? null : descriptor(doc.subject, { path: ['subject'], literals });
  if (typeof doc.artifactType === 'string' || doc.artifactType === undefined) {
    /* ok */
  } else throw invalid('artifactType must be a string');
  const annotations = stringMap(doc.annotations, 'annotations') ?? null;
  const digest = 'sha256:' + createHash('sha256').update(bytes).digest('hex');
  if (isIndex) {
    if (doc.config !== undefined || doc.layers !== undefined) throw invalid('an index has manifests, not config or layers');
    const manifests = descriptors(doc.manifests, 'manifests', literals);
    return {
      digest,
      mediaType,
      text,
      size: bytes.length,
      isIndex,
      config: null,
      layers: [],
      manifests,
      subject,
      artifactType: (doc.artifactType as string | undefined) ?? null,
      effectiveArtifactType: (doc.artifactType as string | undefined) ?? null,
      annotations,
      blobDigests: [],
      layersCompressedSize: 0,
      declaredSizes: manifests.map((d): DeclaredSize => ({ kind: 'manifest', digest: d.digest, size: d.size })),
    };
  }
  if (doc.manifests !== undefined) throw invalid('an image manifest has config and layers, not manifests');
  const config = descriptor(doc.config, { path: ['config'], literals });
  const layers = descriptors(doc.layers, 'layers', literals);
  if (mediaType === DOCKER_MANIFEST && layers.length === 0) throw invalid('a Docker schema 2 manifest needs at least one layer');
  const blobs = new Set<string>([config.digest]);
  for (const l of layers) if (!l.urls) blobs.add(l.digest);
  return {
    digest,
    mediaType,
    text,
    size: bytes.length,
    isIndex,
    config,
    layers,
    manifests: [],
    subject,
    artifactType: (doc.artifactType as string | undefined) ?? null,
    effectiveArtifactType: (doc.artifactType as string | undefined) ?? (mediaType === OCI_MANIFEST ? config.mediaType : null),
    annotations,
    blobDigests: [...blobs],
    layersCompressedSize: layersTotal(layers),
    declaredSizes: [
      { kind: 'config', digest: config.digest, size: config.size },
      ...layers.filter((l) => !l.urls).map((l): DeclaredSize => ({ kind: 'layer', digest: l.digest, size: l.size })),
    ],
  };
}

/**
 * What Quay stores in `manifest.subject` and `manifest.artifact_type` for a
 * stored manifest (its text and media type name), as its subject backfill
 * reads them: an OCI image manifest's or index's subject digest and own
 * `artifactType`; nothing for Docker's types, whose schemas have neither; and
 * nothing for a text that does not parse (Quay's worker then writes the
 * previous row's values or stops: see workers/README.md).
 */
export function storedReferrerFields(mediaType: string, text: string): { readonly subject: string | null; readonly artifactType: string | null; readonly unreadable?: string } {
  if (mediaType !== OCI_MANIFEST && mediaType !== OCI_INDEX) return { subject: null, artifactType: null };
  try {
    const p = parseManifest(Buffer.from(text, 'utf8'), mediaType);
    return { subject: p.subject?.digest ?? null, artifactType: p.artifactType };
  } catch (e) {
    if (e instanceof DomainError) return { subject: null, artifactType: null, unreadable: e.message };
    throw e;
  }
}

/** A manifest text that must be one JSON object. */
function jsonObject(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw invalid(`manifest is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw invalid('manifest is not a JSON object');
  return doc;
}

/**
 * Docker schema 1, read as Quay's size backfill reads it (no signature
 * check): the `tag`, `name`, `fsLayers` and `history` it must have, each
 * history entry's `v1Compatibility` a JSON text with an `id`; the layers'
 * sizes are the `Size` those texts give (a layer without one adds nothing).
 */
function schema1LayersSize(text: string): number {
  const doc = jsonObject(text);
  if (typeof doc.tag !== 'string' || typeof doc.name !== 'string') throw invalid('a schema 1 manifest needs a tag and a name');
  const { fsLayers, history } = doc;
  if (!Array.isArray(fsLayers) || fsLayers.some((l) => !isObject(l) || typeof l.blobSum !== 'string')) throw invalid('fsLayers must be a list of {blobSum}');
  if (!Array.isArray(history) || history.some((h) => !isObject(h) || typeof h.v1Compatibility !== 'string')) throw invalid('history must be a list of {v1Compatibility}');
  let total = 0;
  for (let i = 0; i < Math.min(fsLayers.length, history.length); i++) {
    if (!/^[a-zA-Z0-9+._-]+:[a-zA-Z0-9=_-]+$/.test((fsLayers[i] as { blobSum: string }).blobSum)) throw invalid(`fsLayers[${i}].blobSum is not a digest`);
    let v1: unknown;
    try {
      v1 = JSON.parse((history[i] as { v1Compatibility: string }).v1Compatibility) ?? {};
    } catch {
      throw invalid(`history[${i}].v1Compatibility is not JSON`);
    }
    if (!isObject(v1) || !('id' in v1)) throw invalid(`history[${i}].v1Compatibility has no id`);
    if ('config' in v1 && !isObject(v1.config)) throw invalid(`history[${i}].v1Compatibility's config is not an object`);
    const size = v1.Size;
    if (size === undefined || size === null) continue;
    if (typeof size !== 'number' || !Number.isSafeInteger(size)) throw invalid(`history[${i}] Size ${JSON.stringify(size)} is not a whole number of bytes`);
    total += size;
  }
  return total;
}

/**
 * What Quay's size backfill (workers/manifestbackfillworker.py) stores in
 * `manifest.layers_compressed_size` and `manifest.config_media_type` for a
 * stored manifest (its media type name and text): an image's layer sizes
 * added up and its config's media type; 0 and none for a list or index; a
 * schema 1 manifest's `Size`s and no config; -1 and none for a text that does
 * not parse as its media type (with the reason).
 */
export function storedSizeFields(
  mediaType: string,
  text: string,
): { readonly layersCompressedSize: number; readonly configMediaType: string | null; readonly unreadable?: string } {
  try {
    if (mediaType === DOCKER_SCHEMA1 || mediaType === DOCKER_SCHEMA1_SIGNED) return { layersCompressedSize: schema1LayersSize(text), configMediaType: null };
    if (!isManifestMediaType(mediaType)) throw invalid(`unsupported manifest media type ${mediaType}`);
    const p = parseManifest(Buffer.from(text, 'utf8'), mediaType);
    return { layersCompressedSize: p.isIndex ? 0 : p.layersCompressedSize, configMediaType: p.config?.mediaType || null };
  } catch (e) {
    if (e instanceof DomainError) return { layersCompressedSize: -1, configMediaType: null, unreadable: e.message };
    throw e;
  }
}
