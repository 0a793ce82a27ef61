/**
 * /api/v1 GET rows of API_MANIFEST_READ (endpoints/api/manifest.py): one
 * manifest of a repository with its layers, its labels, one label, and its
 * pull statistics (FEATURE_IMAGE_PULL_STATS only: with the flag off the path
 * falls through to Repository.get).
 *
 * The layers are Quay's registry_model.list_manifest_layers: the manifest
 * parsed as its media type says (Docker schema 1, Docker schema 2, OCI),
 * the image config blob read from storage (schema 2 and OCI images), the
 * config's history walked against the layers, and every local layer looked
 * up among the repository's blobs. Any failure on that path makes Quay
 * answer abort(404); this file reproduces that (and the few places where a
 * failure escapes as a 500 instead).
 */
import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { ManifestReads, type ManifestRow, type StorageRow } from '../../dal/portable/manifests.js';
import { RepositoryReads } from '../../dal/portable/repositories.js';
import { PyFloat, pythonJsonDumps, type PyJson, pythonJsonLoads } from '../../lib/python-json.js';
import { blobKey } from '../../storage/paths.js';
import type { ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import { formatDate } from '../../domain/quay-dates.js';
import { GUNICORN_500_HTML, notFound, RawAnswer } from '../wire/errors.js';
import { requireRepo } from './guards.js';

const DOCKER_SCHEMA1_TYPES = new Set(['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws']);
const DOCKER_SCHEMA2_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_SCHEMA2_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_SCHEMA2_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const DOCKER_SCHEMA2_REMOTE_LAYER = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_NON_DISTRIBUTABLE = new Set(['application/vnd.oci.image.layer.nondistributable.v1.tar', 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip']);
/** MANIFEST_LIST_TYPES (image/shared/schemas.py). */
const LIST_TYPES = new Set(['application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.oci.image.index.v1+json']);
/** image/docker/schema2 EMPTY_LAYER_BLOB_DIGEST and EMPTY_LAYER_SIZE. */
const EMPTY_LAYER_BLOB_DIGEST = 'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';
const EMPTY_LAYER_SIZE = 32;

/** Why the layers cannot be listed (Quay: any exception inside list_manifest_layers → None → abort(404)). */
class NoLayers extends Error {}

/** An exception Quay does not catch: gunicorn's 500 page. */
const internalError = (): RawAnswer => new RawAnswer(500, 'text/html', GUNICORN_500_HTML);

// ---------------------------------------------------------------------------------------------
// JSON as Python's json.loads reads it: floats stay floats (PyFloat), NaN/Infinity accepted.

type Obj = { [k: string]: PyJson };

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof PyFloat);
const isNum = (v: unknown): boolean => typeof v === 'number' || v instanceof PyFloat;
const numOf = (v: PyJson | undefined): number => (v instanceof PyFloat ? v.value : (v as number));
const get = (o: Obj, k: string): PyJson => (Object.hasOwn(o, k) ? o[k]! : null);

/** Python truthiness of a JSON value. */
function truthy(v: PyJson | undefined): boolean {
  if (v === null || v === undefined || v === false || v === '') return false;
  if (typeof v === 'number') return v !== 0;
  if (v instanceof PyFloat) return v.value !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isObj(v)) return Object.keys(v).length > 0;
  return true;
}

/** digest_tools.Digest.parse_digest (the whole string must match). */
function parseDigest(v: PyJson): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9_+.-]+:[A-Fa-f0-9]+$/.test(v)) throw new NoLayers('bad digest');
  return v;
}

/** json.dumps(value, sort_keys=True) then json.loads: objects with their keys sorted. */
function sortKeys(v: PyJson): PyJson {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObj(v)) {
    const o: Obj = {};
    for (const k of Object.keys(v).sort()) o[k] = sortKeys(v[k]!);
    return o;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Dates: dateutil.parser.parse of the ISO forms images carry, to epoch ms.

/** dateutil's parse for RFC 3339 / ISO 8601 dates; `keepWallClock` is `.replace(tzinfo=None)` (schema 1). */
function parseDateMs(s: string, keepWallClock: boolean): number {
  const m = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?\s*$/.exec(s);
  if (!m) {
    const ms = Date.parse(s);
    if (Number.isNaN(ms)) throw new NoLayers(`unparsable date ${s}`);
    return ms;
  }
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0', m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) throw new NoLayers(`bad date ${s}`);
  const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, sec));
  date.setUTCFullYear(y);
  if (date.getUTCDate() !== d) throw new NoLayers(`bad day ${s}`);
  let ms = date.getTime();
  const tz = m[8];
  if (tz && !keepWallClock && !/^(z|utc)$/i.test(tz)) {
    const sign = tz[0] === '-' ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0')) * 60_000;
  }
  return ms;
}

// ---------------------------------------------------------------------------------------------
// Manifests as Quay's image/ parsers read them.

/** image.shared.types.ManifestImageLayer, the fields _layer_dict reads. */
interface LayerInfo {
  readonly compressedSize: PyJson;
  readonly isRemote: boolean;
  readonly urls: PyJson;
  readonly command: PyJson;
  readonly comment: PyJson;
  readonly author: PyJson;
  readonly blobDigest: string;
  readonly createdMs: number | null;
}

/** A descriptor in `layers` (DockerV2ManifestLayer / OCIManifestLayer). */
interface FsLayer {
  readonly digest: string;
  readonly size: PyJson;
  readonly isRemote: boolean;
  readonly urls: PyJson;
  readonly annotations: Obj | null;
}

/** One history entry of an image config (LayerHistory). */
interface History {
  readonly createdMs: number | null;
  readonly command: PyJson;
  readonly author: PyJson;
  readonly comment: PyJson;
  readonly isEmpty: boolean;
}

/** Reads blobs of the repository as RepositoryContentRetriever does. */
type BlobReader = (digest: string) => Promise<Buffer | null>;

interface ParsedManifest {
  readonly kind: 'schema1' | 'schema2' | 'oci';
  readonly json: Obj;
  /** OCI: artifactType. */
  readonly artifactType: string | null;
  readonly annotations: Obj;
  readonly fsLayers: readonly FsLayer[];
}

function checkDescriptor(d: PyJson, mediaTypes: ReadonlySet<string> | null, requireMediaType: boolean): Obj {
  if (!isObj(d)) throw new NoLayers('descriptor not an object');
  const mt = get(d, 'mediaType');
  if (Object.hasOwn(d, 'mediaType')) {
    if (typeof mt !== 'string') throw new NoLayers('mediaType');
    if (mediaTypes && !mediaTypes.has(mt)) throw new NoLayers('mediaType not allowed');
  } else if (requireMediaType) throw new NoLayers('mediaType missing');
  if (!Object.hasOwn(d, 'size') || !isNum(d.size)) throw new NoLayers('size');
  if (!Object.hasOwn(d, 'digest') || typeof d.digest !== 'string') throw new NoLayers('digest');
  if (Object.hasOwn(d, 'urls') && (!Array.isArray(d.urls) || d.urls.some((u) => typeof u !== 'string')) && mediaTypes === null) throw new NoLayers('urls');
  if (Object.hasOwn(d, 'annotations') && !isObj(d.annotations) && mediaTypes === null) throw new NoLayers('annotations');
  return d;
}

/**
 * parse_manifest_from_bytes for an image manifest, with the validation its
 * constructor does (the JSON schema, sizes, remote layers' urls; schema 1's
 * signatures). Throws NoLayers where Quay raises a ManifestException.
 */
function parseManifest(text: string, mediaType: string): ParsedManifest {
  let json: PyJson;
  try {
    json = pythonJsonLoads(text);
  } catch {
    throw new NoLayers('malformed manifest');
  }
  if (DOCKER_SCHEMA1_TYPES.has(mediaType)) return parseSchema1(text, json);
  if (!isObj(json)) throw new NoLayers('not an object');
  const version = json.schemaVersion;
  if (!isNum(version) || numOf(version) !== 2) throw new NoLayers('schemaVersion');
  const docker = mediaType === DOCKER_SCHEMA2_MANIFEST;
  if (!docker && mediaType !== OCI_MANIFEST) throw new NoLayers(`unsupported ${mediaType}`);
  if (docker ? json.mediaType !== DOCKER_SCHEMA2_MANIFEST : Object.hasOwn(json, 'mediaType') && json.mediaType !== OCI_MANIFEST) throw new NoLayers('mediaType');
  if (!docker && Object.hasOwn(json, 'artifactType') && typeof json.artifactType !== 'string') throw new NoLayers('artifactType');
  if (!docker && Object.hasOwn(json, 'annotations') && !isObj(json.annotations)) throw new NoLayers('annotations');
  checkDescriptor(get(json, 'config'), docker ? new Set([DOCKER_SCHEMA2_CONFIG]) : null, true);
  const layers = json.layers;
  if (!Array.isArray(layers)) throw new NoLayers('layers');
  const fsLayers: FsLayer[] = [];
  for (const l of layers) {
    const d = checkDescriptor(l, docker ? new Set([DOCKER_SCHEMA2_LAYER, DOCKER_SCHEMA2_REMOTE_LAYER]) : null, true);
    if (numOf(d.size) < 0) throw new NoLayers('invalid layer size');
  }
  for (const l of layers as Obj[]) {
    const mt = l.mediaType as string;
    fsLayers.push({
      digest: parseDigest(l.digest!),
      size: l.size!,
      isRemote: docker ? mt === DOCKER_SCHEMA2_REMOTE_LAYER : OCI_NON_DISTRIBUTABLE.has(mt),
      urls: get(l, 'urls'),
      annotations: docker ? null : isObj(l.annotations) ? l.annotations : {},
    });
  }
  for (const l of fsLayers) if (l.isRemote && !truthy(l.urls)) throw new NoLayers('missing urls for remote layer');
  return {
    kind: docker ? 'schema2' : 'oci',
    json,
    artifactType: !docker && typeof json.artifactType === 'string' ? json.artifactType : null,
    annotations: !docker && isObj(json.annotations) ? json.annotations : {},
    fsLayers,
  };
}

/** DockerSchema1Manifest(bytes, validate=True): the schema, then the JWS signatures. */
function parseSchema1(text: string, json: PyJson): ParsedManifest {
  if (!isObj(json)) throw new NoLayers('not an object');
  for (const k of ['tag', 'name']) if (!Object.hasOwn(json, k) || typeof json[k] !== 'string') throw new NoLayers(k);
  const fs = json.fsLayers;
  const history = json.history;
  if (!Array.isArray(fs) || fs.some((l) => !isObj(l) || typeof l.blobSum !== 'string')) throw new NoLayers('fsLayers');
  if (!Array.isArray(history) || history.some((h) => !isObj(h) || typeof h.v1Compatibility !== 'string')) throw new NoLayers('history');
  const sigs = json.signatures;
  if (Object.hasOwn(json, 'signatures')) {
    if (!Array.isArray(sigs)) throw new NoLayers('signatures');
    for (const s of sigs) {
      if (!isObj(s) || typeof s.protected !== 'string' || typeof s.signature !== 'string' || !isObj(s.header)) throw new NoLayers('signature');
      if (typeof s.header.alg !== 'string' || !isObj(s.header.jwk)) throw new NoLayers('signature header');
    }
    if (truthy(sigs)) verifySchema1(text, sigs as Obj[]);
  }
  return { kind: 'schema1', json, artifactType: null, annotations: {}, fsLayers: [] };
}

const JWS_ALGS: Readonly<Record<string, { hash: string; ec?: boolean; pss?: boolean }>> = {
  ES256: { hash: 'sha256', ec: true },
  ES384: { hash: 'sha384', ec: true },
  ES512: { hash: 'sha512', ec: true },
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  PS256: { hash: 'sha256', pss: true },
  PS384: { hash: 'sha384', pss: true },
  PS512: { hash: 'sha512', pss: true },
};

/** _validate: every signature verifies over the formatted payload (formatLength/formatTail of the first). */
function verifySchema1(text: string, sigs: readonly Obj[]): void {
  const bytes = Buffer.from(text, 'utf8');
  let payload: Buffer;
  try {
    const protectedHeader = JSON.parse(Buffer.from(sigs[0]!.protected as string, 'base64url').toString('utf8')) as { formatLength: number; formatTail: string };
    payload = Buffer.concat([bytes.subarray(0, protectedHeader.formatLength), Buffer.from(String(protectedHeader.formatTail), 'base64url')]);
  } catch {
    throw internalError();
  }
  for (const s of sigs) {
    const header = s.header as Obj;
    const alg = JWS_ALGS[header.alg as string];
    if (!alg) throw new NoLayers('unsupported algorithm');
    let key: KeyObject;
    try {
      key = createPublicKey({ key: header.jwk as never, format: 'jwk' });
    } catch {
      throw internalError();
    }
    const input = Buffer.from(`${s.protected as string}.${payload.toString('base64url')}`);
    const signature = Buffer.from(s.signature as string, 'base64url');
    let ok = false;
    try {
      ok = verifySignature(alg.hash, input, alg.ec ? { key, dsaEncoding: 'ieee-p1363' } : alg.pss ? { key, padding: 6, saltLength: 32 } : key, signature);
    } catch {
      ok = false;
    }
    if (!ok) throw new NoLayers('invalid signature');
  }
}

/** The layers of a schema 1 manifest (_generate_layers then get_layers), base first. */
function schema1Layers(p: ParsedManifest): LayerInfo[] {
  const fs = p.json.fsLayers as Obj[];
  const history = p.json.history as Obj[];
  const n = Math.min(fs.length, history.length);
  const out: LayerInfo[] = [];
  for (let idx = n - 1; idx >= 0; idx--) {
    const digest = parseDigest(fs[idx]!.blobSum!);
    let v1: PyJson;
    try {
      v1 = pythonJsonLoads(history[idx]!.v1Compatibility as string);
    } catch {
      throw new NoLayers('v1Compatibility');
    }
    if (!truthy(v1)) v1 = {};
    if (!isObj(v1)) throw new NoLayers('v1Compatibility not an object');
    const cc = truthy(get(v1, 'container_config')) ? v1.container_config : {};
    if (!isObj(cc)) throw new NoLayers('container_config');
    const cmd = get(cc, 'Cmd');
    if (!Object.hasOwn(v1, 'id')) throw new NoLayers('id field missing from v1Compatibility JSON');
    if (Object.hasOwn(v1, 'config') && !isObj(v1.config)) throw new NoLayers('config');
    let createdMs: number | null = null;
    const created = get(v1, 'created');
    if (typeof created === 'string') {
      try {
        createdMs = parseDateMs(created, true);
      } catch {
        createdMs = null;
      }
    }
    out.push({
      compressedSize: get(v1, 'Size'),
      isRemote: false,
      urls: null,
      // command = to_canonical_json(Cmd) when truthy (a JSON string _layer_dict json.loads back).
      command: truthy(cmd) ? pythonJsonDumps(sortKeys(cmd)) : null,
      comment: get(v1, 'comment'),
      author: get(v1, 'author'),
      blobDigest: digest,
      createdMs,
    });
  }
  return out;
}

/** _get_built_config: the config blob, of the size the manifest says, as JSON. */
async function readConfig(p: ParsedManifest, read: BlobReader): Promise<Obj> {
  const config = p.json.config as Obj;
  const bytes = await read(config.digest as string);
  if (bytes === null) throw new NoLayers('Could not load config blob for manifest');
  if (bytes.length !== numOf(config.size)) throw new NoLayers('Size of config does not match');
  let json: PyJson;
  try {
    json = pythonJsonLoads(bytes.toString('utf8'));
  } catch {
    throw new NoLayers('malformed config');
  }
  if (p.kind === 'oci' && isObj(json) && Object.keys(json).length === 0) return json;
  if (!isObj(json)) throw new NoLayers('config not an object');
  const rootfs = json.rootfs;
  if (!isObj(rootfs) || typeof rootfs.type !== 'string') throw new NoLayers('rootfs');
  if (p.kind === 'schema2') {
    if (!Array.isArray(json.history)) throw new NoLayers('history');
  } else {
    if (typeof json.architecture !== 'string' || typeof json.os !== 'string') throw new NoLayers('architecture/os');
    if (rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids) || rootfs.diff_ids.some((d) => typeof d !== 'string')) throw new NoLayers('rootfs');
    if (Object.hasOwn(json, 'history') && !Array.isArray(json.history)) throw new NoLayers('history');
    for (const k of ['created', 'author']) if (Object.hasOwn(json, k) && json[k] !== null && typeof json[k] !== 'string') throw new NoLayers(k);
    if (Object.hasOwn(json, 'config') && json.config !== null) {
      const cfg = json.config;
      if (!isObj(cfg)) throw new NoLayers('config');
      for (const [k, t] of [
        ['User', 'string'],
        ['WorkingDir', 'string'],
        ['StopSignal', 'string'],
        ['Env', 'array'],
        ['Entrypoint', 'array'],
        ['Cmd', 'array'],
        ['ExposedPorts', 'object'],
        ['Volumes', 'object'],
        ['Labels', 'object'],
      ] as const) {
        const v = get(cfg, k);
        if (v === null) continue;
        if (t === 'string' ? typeof v !== 'string' : t === 'array' ? !Array.isArray(v) : !isObj(v)) throw new NoLayers(`config.${k}`);
      }
    }
  }
  for (const h of (json.history as PyJson[] | undefined) ?? []) {
    if (!isObj(h)) throw new NoLayers('history entry');
    if (Object.hasOwn(h, 'empty_layer') && typeof h.empty_layer !== 'boolean') throw new NoLayers('empty_layer');
    for (const k of ['created', 'created_by', 'comment', 'author']) if (Object.hasOwn(h, k) && typeof h[k] !== 'string') throw new NoLayers(k);
  }
  return json;
}

function historyOf(config: Obj): History[] {
  const entries = (config.history as Obj[] | null | undefined) ?? [];
  return entries.map((h) => {
    const created = get(h, 'created');
    return {
      createdMs: truthy(created) ? parseDateMs(created as string, false) : null,
      command: get(h, 'created_by'),
      author: get(h, 'author'),
      comment: get(h, 'comment'),
      isEmpty: truthy(get(h, 'empty_layer')),
    };
  });
}

/** _manifest_image_layers + get_layers of schema 2 and OCI images, base first. */
function imageLayers(p: ParsedManifest, config: Obj): LayerInfo[] {
  const history = historyOf(config);
  const fs = p.fsLayers;
  const out: LayerInfo[] = [];
  if (p.kind === 'oci' && history.length === 0) {
    // No history: one layer per blob, the last with the config's synthesized history.
    const created = get(config, 'created');
    const cfg = isObj(config.config) ? config.config : {};
    fs.forEach((l, index) => {
      const last = index === fs.length - 1;
      out.push({
        compressedSize: l.size,
        isRemote: l.isRemote,
        urls: l.urls,
        // synthesized_history: the config's Cmd list, which json.loads refuses (TypeError): wrapped in a list.
        command: last && truthy(get(cfg, 'Cmd')) ? [get(cfg, 'Cmd')] : null,
        comment: null,
        author: last ? get(config, 'author') : null,
        blobDigest: l.digest,
        createdMs: last && truthy(created) ? parseDateMs(created as string, false) : null,
      });
    });
    return out;
  }
  if (history.length < fs.length) throw new NoLayers('Found less history than layer blobs');
  let blobIndex = 0;
  for (const h of history) {
    if (!h.isEmpty && blobIndex >= fs.length) throw new NoLayers('Missing history entry');
    const blob = h.isEmpty ? null : fs[blobIndex]!;
    out.push({
      compressedSize: blob ? blob.size : EMPTY_LAYER_SIZE,
      isRemote: blob ? blob.isRemote : false,
      urls: blob ? blob.urls : null,
      command: h.command,
      comment: h.comment,
      author: h.author,
      blobDigest: blob ? blob.digest : EMPTY_LAYER_BLOB_DIGEST,
      createdMs: h.createdMs,
    });
    if (!h.isEmpty) blobIndex++;
  }
  return out;
}

/** RepositoryContentRetriever.get_blob_bytes_with_digest over our storage driver. */
function blobReader(c: ApiCall, reads: ManifestReads, repositoryId: number): BlobReader {
  return async (digest) => {
    const blob = await reads.blobForRead(repositoryId, digest);
    if (!blob) return null;
    // get_storage_by_uuid raises InvalidImageException when the storage has no placement.
    if (blob.locations.length === 0) throw new NoLayers('no placement');
    // DistributedStorage picks a configured location among the placements; one it does not know is a KeyError.
    if (!blob.locations.includes(c.svc.storage.location)) throw new NoLayers('unknown storage location');
    if (blob.casPath === false) throw new NoLayers('legacy v1 layer path');
    try {
      return await c.svc.storage.readAll(blobKey(blob.contentChecksum));
    } catch {
      // IOError, retried 5 times by Quay, then None.
      return null;
    }
  };
}

/** registry_model.list_manifest_layers: the layers, or null where Quay returns None. */
async function listManifestLayers(c: ApiCall, m: ManifestRow, text: string): Promise<LayerInfo[] | null> {
  const reads = new ManifestReads(c.svc.sql);
  const read = blobReader(c, reads, m.repositoryId);
  try {
    const p = parseManifest(text, m.mediaType);
    let layers: LayerInfo[];
    let localDigests: string[];
    let requiresEmpty = false;
    if (p.kind === 'schema1') {
      layers = schema1Layers(p);
      localDigests = layers.map((l) => l.blobDigest);
    } else {
      const configDigest = String((p.json.config as Obj).digest);
      const isImage = p.kind === 'schema2' || (p.json.config as Obj).mediaType === OCI_IMAGE_CONFIG;
      localDigests = [...p.fsLayers.filter((l) => (p.kind === 'schema2' ? !truthy(l.urls) : !l.isRemote)).map((l) => l.digest), configDigest];
      if (isImage) {
        const config = await readConfig(p, read);
        requiresEmpty = ((config.history as Obj[] | null | undefined) ?? []).some((h) => truthy(get(h, 'empty_layer')));
        layers = imageLayers(p, config);
      } else {
        // Not an image (an artifact): the layers as they are, nothing from a config.
        layers = p.fsLayers.map((l) => ({
          compressedSize: l.size,
          isRemote: l.isRemote,
          urls: l.urls,
          command: null,
          comment: null,
          author: null,
          blobDigest: l.digest,
          createdMs: null,
        }));
      }
    }
    if (requiresEmpty) localDigests.push(EMPTY_LAYER_BLOB_DIGEST);
    // _lookup_repo_storages_by_content_checksum: the shared empty layer globally (Quay creates the
    // row when missing: a write on a GET we do not repeat, so it counts as found), the rest by repository.
    const storageMap = new Map<string, StorageRow | 'created'>();
    const rest = new Set(localDigests);
    if (rest.has(EMPTY_LAYER_BLOB_DIGEST)) {
      storageMap.set(EMPTY_LAYER_BLOB_DIGEST, (await reads.sharedStorage(EMPTY_LAYER_BLOB_DIGEST)) ?? 'created');
      rest.delete(EMPTY_LAYER_BLOB_DIGEST);
    }
    for (const [k, v] of await reads.repoStorages(m.repositoryId, [...rest])) storageMap.set(k, v);
    for (const l of layers) {
      if (l.isRemote) continue;
      const s = storageMap.get(l.blobDigest);
      if (s === undefined) return null;
      if (s !== 'created' && (s.casPath === null || s.imageSize === null)) return null;
    }
    return layers;
  } catch (e) {
    if (e instanceof NoLayers) return null;
    throw e;
  }
}

/** _layer_dict. */
function layerDict(l: LayerInfo, index: number): Record<string, PyJson> {
  // `command` is JSON text (schema 1's canonical Cmd) or a plain string (schema 2's created_by):
  // json.loads it, else wrap it in a list (manifest.py:60-66). A non-string (OCI's synthesized Cmd)
  // arrives here already wrapped.
  let command: PyJson = null;
  if (truthy(l.command)) {
    if (typeof l.command === 'string') {
      try {
        command = pythonJsonLoads(l.command);
      } catch {
        command = [l.command];
      }
    } else command = l.command;
  }
  return {
    index,
    compressed_size: l.compressedSize,
    is_remote: l.isRemote,
    urls: l.urls,
    command,
    comment: l.comment,
    author: l.author,
    blob_digest: l.blobDigest,
    created_datetime: formatDate(l.createdMs),
  };
}

// ---------------------------------------------------------------------------------------------
// Handlers.

const REPO_READ = { allowForSuperuser: true, allowForGlobalReadonlySuperuser: true } as const;

/** lookup_repository then lookup_manifest_by_digest; NotFound when either is missing. */
async function findManifest(c: ApiCall, namespace: string, repository: string): Promise<ManifestRow> {
  const repo = await new RepositoryReads(c.svc.sql).repository(namespace, repository);
  if (!repo) throw notFound();
  const m = await new ManifestReads(c.svc.sql).manifest(repo.id, c.params.manifestref ?? '', c.svc.now());
  if (!m) throw notFound();
  return m;
}

/** _get_modelcard_layer_digest over a parsed manifest (config UI_MODELCARD_*). */
function modelcardLayerDigest(c: ApiCall, p: ParsedManifest | { kind: 'list'; artifactType: string | null }): string | null {
  const keys = c.svc.settings.keys;
  const artifactType = Object.hasOwn(keys, 'UI_MODELCARD_ARTIFACT_TYPE') ? keys.UI_MODELCARD_ARTIFACT_TYPE : 'application/x-mlmodel';
  const manifestAnnotation = Object.hasOwn(keys, 'UI_MODELCARD_ANNOTATION') ? keys.UI_MODELCARD_ANNOTATION : {};
  const layerAnnotation = (Object.hasOwn(keys, 'UI_MODELCARD_LAYER_ANNOTATION') ? keys.UI_MODELCARD_LAYER_ANNOTATION : { 'org.opencontainers.image.title': 'README.md' }) as Record<
    string,
    unknown
  >;
  const within = (want: Record<string, unknown>, have: Obj): boolean =>
    Object.entries(want).every(([k, v]) => Object.hasOwn(have, k) && JSON.stringify(have[k]) === JSON.stringify(v));
  const findLayer = (q: ParsedManifest): string | null => {
    for (const l of q.fsLayers) if (l.annotations && within(layerAnnotation, l.annotations)) return l.digest;
    return null;
  };
  if (p.artifactType && p.artifactType === artifactType) {
    // A list has no filesystem layers: len(None) raises TypeError.
    if (p.kind === 'list') throw internalError();
    return p.fsLayers.length === 1 ? p.fsLayers[p.fsLayers.length - 1]!.digest : findLayer(p);
  }
  const ma = (manifestAnnotation ?? {}) as Record<string, unknown>;
  if (Object.keys(ma).length > 0 && p.kind === 'oci' && within(ma, p.annotations)) return findLayer(p);
  return null;
}

async function getManifest(c: ApiCall): Promise<unknown> {
  const { namespace, repository } = await requireRepo(c, 'read', REPO_READ);
  const a = c.args([{ name: 'include_modelcard', help: 'If specified, include modelcard markdown from image, if any', type: 'bool', default: false }]);
  const m = await findManifest(c, namespace, repository);
  // Sub-manifests a proxy cache created hold no bytes: NotFound (manifest.py:166-172).
  const text = m.manifestBytes ?? '';
  if (text === '') throw notFound();
  const isList = LIST_TYPES.has(m.mediaType);
  let layers: LayerInfo[] | null = null;
  if (!isList) {
    layers = await listManifestLayers(c, m, text);
    if (layers === null) throw c.abort(404);
  }
  const out: Record<string, PyJson> = {
    digest: m.digest,
    is_manifest_list: isList,
    manifest_data: text,
    config_media_type: m.configMediaType,
    layers_compressed_size: isList ? 0 : m.layersCompressedSize,
    layers: layers === null ? null : layers.map(layerDict),
  };
  if (c.svc.settings.feature('UI_MODELCARD') && a.include_modelcard) {
    // get_parsed_manifest is not guarded here: a manifest that does not parse is a 500.
    let digest: string | null;
    if (isList) {
      let json: PyJson;
      try {
        json = pythonJsonLoads(text);
      } catch {
        throw internalError();
      }
      const at = isObj(json) && m.mediaType === 'application/vnd.oci.image.index.v1+json' ? get(json, 'artifactType') : null;
      digest = modelcardLayerDigest(c, { kind: 'list', artifactType: typeof at === 'string' ? at : null });
    } else {
      let p: ParsedManifest;
      try {
        p = parseManifest(text, m.mediaType);
      } catch {
        throw internalError();
      }
      digest = modelcardLayerDigest(c, p);
    }
    if (digest) {
      const reads = new ManifestReads(c.svc.sql);
      let content: Buffer | null;
      try {
        content = await blobReader(c, reads, m.repositoryId)(digest);
      } catch {
        throw internalError();
      }
      if (content === null) throw internalError();
      try {
        out.modelcard = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(content);
      } catch {
        throw internalError();
      }
    }
  }
  return out;
}

/** _label_dict. */
const labelDict = (l: { uuid: string; key: string; value: string; sourceType: string; mediaType: string }): Record<string, string> => ({
  id: l.uuid,
  key: l.key,
  value: l.value,
  source_type: l.sourceType,
  media_type: l.mediaType,
});

async function listLabels(c: ApiCall): Promise<unknown> {
  const { namespace, repository } = await requireRepo(c, 'read', REPO_READ);
  const a = c.args([{ name: 'filter', help: 'If specified, only labels matching the given prefix will be returned', type: 'str', default: null }]);
  const m = await findManifest(c, namespace, repository);
  const labels = await new ManifestReads(c.svc.sql).labels(m.id, (a.filter as string | null) ?? null);
  return { labels: labels.map(labelDict) };
}

async function getLabel(c: ApiCall): Promise<unknown> {
  const { namespace, repository } = await requireRepo(c, 'read', REPO_READ);
  const m = await findManifest(c, namespace, repository);
  const label = await new ManifestReads(c.svc.sql).label(m.id, c.params.labelid ?? '');
  if (!label) throw notFound();
  return labelDict(label);
}

async function pullStatistics(c: ApiCall): Promise<unknown> {
  const { namespace, repository } = await requireRepo(c, 'read', REPO_READ);
  const m = await findManifest(c, namespace, repository);
  const digest = c.params.manifestref ?? '';
  const stats = await new ManifestReads(c.svc.sql).pullStatistics(m.repositoryId, digest);
  if (!stats) return { manifest_digest: digest, manifest_pull_count: 0, last_manifest_pull_date: null };
  return { manifest_digest: digest, manifest_pull_count: stats.pullCount, last_manifest_pull_date: stats.lastPullMs ? formatDate(stats.lastPullMs) : null };
}

export const MANIFEST_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0199 /api/v1/repository/{repository:apirepopath}/manifest/{manifestref:digest}
  { quayHandler: 'RepositoryManifest.get', handle: getManifest },
  // ROUTE_0200 /api/v1/repository/{repository:apirepopath}/manifest/{manifestref:digest}/labels
  { quayHandler: 'RepositoryManifestLabels.get', handle: listLabels },
  // ROUTE_0203 /api/v1/repository/{repository:apirepopath}/manifest/{manifestref:digest}/labels/{labelid}
  { quayHandler: 'ManageRepositoryManifestLabel.get', handle: getLabel },
  // ROUTE_0204 /api/v1/repository/{repository:apirepopath}/manifest/{manifestref:digest}/pull_statistics: FEATURE_IMAGE_PULL_STATS only.
  { quayHandler: 'RepositoryManifestPullStatistics.get', handle: pullStatistics, registered: (s) => s.feature('IMAGE_PULL_STATS') },
];
