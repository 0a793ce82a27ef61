/**
 * What the contract's sequences are made of: media types, test blobs and
 * images, and the push and pull steps every registry client performs
 * (sequences*.ts). Steps go through a `Client`: a Session, or `writes(s)`,
 * which sends them to the sequence's writer (cross-reading sequences).
 */
import { bytes, sha256 } from './lib.js';
import type { Response, Session, Step } from './session.js';

/** What the helpers need of a session. */
export type Client = Pick<Session, 'step' | 'uploadUrl'>;

/** `s`, with every step sent to the sequence's writer (the side a cross-reading sequence writes through). */
export function writes(s: Session): Client {
  return { step: (label, o) => s.step(label, { ...o, via: 'writer' }), uploadUrl: (res, current) => s.uploadUrl(res, current) };
}

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
/** What a client that knows every manifest type sends. */
export const ACCEPT_ALL = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].join(', ');

/** An upload uuid no registry handed out. */
export const NO_SUCH_UPLOAD = '0b6b3c1e-5a0e-4c41-9d38-000000000000';
export const SHA512_OF_NOTHING = 'sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e';

/** `url` with one more query parameter (upload URLs may already carry `_state`). */
export const withQuery = (url: string, q: string): string => url + (url.includes('?') ? '&' : '?') + q;

export const OCTETS = { 'content-type': 'application/octet-stream' };

/** An upload session, followed through every Location a response gives (Distribution's `_state` moves with the offset). */
export class Upload {
  private constructor(
    private readonly s: Client,
    public url: string,
  ) {}

  static async start(s: Client, label: string, repo: string): Promise<Upload> {
    const post = await s.step(label, { method: 'POST', path: `/v2/${repo}/blobs/uploads/` });
    return new Upload(s, s.uploadUrl(post, `/v2/${repo}/blobs/uploads/${NO_SUCH_UPLOAD}`));
  }

  async step(label: string, o: Omit<Step, 'path'> & { query?: string }): Promise<Response> {
    const { query, ...rest } = o;
    const res = await this.s.step(label, { ...rest, path: query === undefined ? this.url : withQuery(this.url, query) });
    this.url = this.s.uploadUrl(res, this.url);
    return res;
  }
}

/** Push a blob the portable way (POST, then PUT with the whole body), recording both steps. */
export async function push(s: Client, repo: string, data: Buffer, label: string): Promise<string> {
  const digest = sha256(data);
  const post = await s.step(`${label}: POST upload`, { method: 'POST', path: `/v2/${repo}/blobs/uploads/`, setup: true });
  const url = s.uploadUrl(post, `/v2/${repo}/blobs/uploads/${NO_SUCH_UPLOAD}`);
  await s.step(`${label}: PUT ?digest with body`, {
    method: 'PUT',
    path: withQuery(url, `digest=${digest}`),
    body: data,
    headers: { 'content-type': 'application/octet-stream' },
    setup: true,
  });
  return digest;
}

export interface Image {
  readonly manifest: Buffer;
  readonly digest: string;
}

/** Push config and one layer, return an OCI image manifest over them (not pushed). */
export async function ociImage(s: Client, repo: string, seed: string, extra: Record<string, unknown> = {}): Promise<Image> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, seed }));
  const layer = bytes(1024, `layer ${seed}`);
  const cd = await push(s, repo, config, `${seed} config`);
  const ld = await push(s, repo, layer, `${seed} layer`);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: cd, size: config.length },
      layers: [{ mediaType: OCI_LAYER, digest: ld, size: layer.length }],
      ...extra,
    }),
  );
  return { manifest, digest: sha256(manifest) };
}

export async function dockerImage(s: Client, repo: string, seed: string): Promise<Image> {
  // A Docker image config has a history (Quay refuses a schema 2 manifest whose config lacks it).
  const config = Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, history: [{ created_by: 'contract' }], seed }));
  const layer = bytes(2048, `docker layer ${seed}`);
  const cd = await push(s, repo, config, `${seed} config`);
  const ld = await push(s, repo, layer, `${seed} layer`);
  const manifest = Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST,
        config: { mediaType: DOCKER_CONFIG, digest: cd, size: config.length },
        layers: [{ mediaType: DOCKER_LAYER, digest: ld, size: layer.length }],
      },
      null,
      3,
    ),
  );
  return { manifest, digest: sha256(manifest) };
}

export const putManifest = (s: Client, label: string, repo: string, ref: string, body: Buffer, contentType: string | null, setup = false): Promise<Response> =>
  s.step(label, { method: 'PUT', path: `/v2/${repo}/manifests/${ref}`, body, headers: contentType === null ? {} : { 'content-type': contentType }, setup });

/** A manifest PUT the rest of the sequence builds on: it must succeed on both registries. */
export const putSetup = (s: Client, label: string, repo: string, ref: string, body: Buffer, contentType: string): Promise<Response> =>
  putManifest(s, label, repo, ref, body, contentType, true);

export const getManifest = (s: Client, label: string, repo: string, ref: string, method: 'GET' | 'HEAD' = 'GET', accept: string | null = ACCEPT_ALL): Promise<Response> =>
  s.step(label, { method, path: `/v2/${repo}/manifests/${ref}`, headers: accept === null ? {} : { accept }, compare: 'bytes' });
