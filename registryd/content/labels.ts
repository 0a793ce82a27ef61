/**
 * The labels Quay records for a new manifest (`label` + `manifestlabel`
 * rows, source `manifest`; image/oci/manifest.py and image/docker/schema2/manifest.py get_manifest_labels):
 *   Docker schema 2 image      the config's `config.Labels`
 *   OCI image (config of the OCI image config type)
 *                              the config's `config.Labels`, then the manifest's annotations over them
 *   other OCI manifests        the manifest's annotations
 *   indexes and lists          none
 * Empty keys are skipped, as Quay does. A value is `application/json` when
 * it is a JSON object or array (util/validation.py is_json), else
 * `text/plain`. Quay also acts on some of them (`quay.expires-after` sets the
 * tag's expiry); registryd only records them.
 */
import { DOCKER_MANIFEST, OCI_IMAGE_CONFIG, OCI_MANIFEST } from './media-types.js';
import type { ParsedManifest } from './manifest.js';

export interface ManifestLabel {
  readonly key: string;
  readonly value: string;
  readonly mediaType: 'application/json' | 'text/plain';
}

/** Whether the labels of `m` come from its config (which the caller then reads). */
export function labelsNeedConfig(m: ParsedManifest): boolean {
  return m.config !== null && (m.mediaType === DOCKER_MANIFEST || (m.mediaType === OCI_MANIFEST && m.config.mediaType === OCI_IMAGE_CONFIG));
}

/** Quay's is_json: an object or array Python's json.loads accepts (NaN and Infinity included). */
export function isJsonValue(value: string): boolean {
  if (!((value.startsWith('{') && value.endsWith('}')) || (value.startsWith('[') && value.endsWith(']')))) return false;
  try {
    JSON.parse(value.replace(/-?\bInfinity\b|\bNaN\b/g, '0'));
    return true;
  } catch {
    return false;
  }
}

/** `config.Labels` of an image config; none when it cannot be read. */
function configLabels(config: Buffer | null): [string, unknown][] {
  if (config === null) return [];
  try {
    const doc = JSON.parse(config.toString('utf8')) as { config?: { Labels?: Record<string, unknown> | null } | null };
    return Object.entries(doc.config?.Labels ?? {});
  } catch {
    return [];
  }
}

/** The labels of a new manifest, in Quay's order; `config` is its config blob when labelsNeedConfig says so. */
export function manifestLabels(m: ParsedManifest, config: Buffer | null): ManifestLabel[] {
  if (m.isIndex) return [];
  const all = new Map<string, unknown>();
  if (labelsNeedConfig(m)) for (const [k, v] of configLabels(config)) all.set(k, v);
  if (m.mediaType === OCI_MANIFEST) for (const [k, v] of Object.entries(m.annotations ?? {})) all.set(k, v);
  const out: ManifestLabel[] = [];
  for (const [key, value] of all) {
    if (key === '' || typeof value !== 'string') continue;
    out.push({ key, value, mediaType: isJsonValue(value) ? 'application/json' : 'text/plain' });
  }
  return out;
}
