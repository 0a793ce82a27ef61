/**
 * Manifest rows for tests that write through the stores: a digest made of
 * one repeated character, and a NewManifest whose text names its digest and
 * blobs (distinct manifests, no real image needed).
 */
import type { NewManifest } from '../../model/store.js';

export const OCI_MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/** `sha256:` and 64 hex characters from `c` repeated. */
export const digestOf = (c: string): string => `sha256:${c.repeat(64).slice(0, 64)}`;

/** An OCI image manifest `d` holding `blobs`, with `extra` over the defaults. */
export const testManifest = (d: string, blobs: string[], extra: Partial<NewManifest> = {}): NewManifest => ({
  digest: d,
  mediaType: OCI_MANIFEST_TYPE,
  text: JSON.stringify({ d, blobs }),
  configMediaType: null,
  layersCompressedSize: 0,
  subject: null,
  artifactType: null,
  blobDigests: blobs,
  childDigests: [],
  declaredSizes: [],
  ...extra,
});
