/**
 * OCI image layouts written directly (no umoci, no tar): images whose blobs
 * are random but whose sizes are fixed, so that two layouts built alike hold
 * different digests of equal sizes. A layer is gzip at level 0 (stored
 * blocks: its size is set by its input's) of random bytes; the config
 * carries a fixed-length random label. skopeo copies them as any layout.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export interface SizedImage {
  readonly tag: string;
  readonly digest: string;
  /** Config first, then the layers. */
  readonly blobs: readonly string[];
  /** The config's `side` label (random, 32 hex digits). */
  readonly label: string;
}

/**
 * Writes `layout` with the images, tagged by `tag`; `layers` are seeds: equal
 * seeds give the same layer within the layout. Layers are 3011 bytes, configs
 * the same size for the same number of layers.
 */
export function writeSizedLayout(layout: string, images: readonly { tag: string; layers: readonly string[] }[]): SizedImage[] {
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Buffer): { digest: string; size: number } => {
    const digest = sha(b);
    writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), b);
    return { digest, size: b.length };
  };
  const layerBytes = new Map<string, Buffer>();
  const index: unknown[] = [];
  const out: SizedImage[] = [];
  for (const img of images) {
    const layers = img.layers.map((seed) => {
      let b = layerBytes.get(seed);
      if (!b) {
        b = gzipSync(randomBytes(3000), { level: 0 });
        layerBytes.set(seed, b);
      }
      return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...put(b) };
    });
    const label = randomBytes(16).toString('hex');
    const config = put(
      Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: { Labels: { side: label } },
          rootfs: { type: 'layers', diff_ids: layers.map(() => `sha256:${randomBytes(32).toString('hex')}`) },
        }),
      ),
    );
    const manifest = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers }),
    );
    const m = put(manifest);
    index.push({ mediaType: OCI_MANIFEST, ...m, annotations: { 'org.opencontainers.image.ref.name': img.tag } });
    out.push({ tag: img.tag, digest: m.digest, blobs: [config.digest, ...layers.map((l) => l.digest)], label });
  }
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: index }));
  return out;
}
