/**
 * A small /v2 client that authenticates as docker and skopeo do: a Basic
 * login at `/v2/auth` for the scope a call needs, then Bearer. Used where a
 * test must place each request on a chosen implementation (a port) or reuse
 * a token one implementation issued on the other.
 */
import { createHash } from 'node:crypto';
import { request, type Reply } from './proc.js';

export const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export interface V2Call {
  method?: string;
  path: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
  /** Token to send; default one for the repository scope the path names, from `tokens`. */
  token?: string | null;
}

export class V2Client {
  private readonly cache = new Map<string, string>();

  /**
   * @param port where requests go
   * @param service SERVER_HOSTNAME (the token audience)
   * @param creds `user:password` for /v2/auth; null = anonymous
   * @param authPort where /v2/auth is asked (default `port`)
   */
  constructor(
    readonly port: number,
    readonly service: string,
    readonly creds: string | null,
    readonly authPort = port,
  ) {}

  /** A token for `scope` (e.g. repository:ns/x:pull,push) from /v2/auth on authPort; throws unless 200. */
  async token(scope: string): Promise<string> {
    const hit = this.cache.get(scope);
    if (hit) return hit;
    const r = await this.auth(scope);
    if (r.status !== 200) throw new Error(`/v2/auth on ${this.authPort} for ${scope}: ${r.status} ${r.text()}`);
    const token = String(r.json().token);
    this.cache.set(scope, token);
    return token;
  }

  /** The raw /v2/auth answer. */
  auth(scope: string, creds = this.creds): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (creds) headers.authorization = `Basic ${Buffer.from(creds).toString('base64')}`;
    return request(this.authPort, { path: `/v2/auth?service=${encodeURIComponent(this.service)}&scope=${encodeURIComponent(scope)}`, headers });
  }

  async call(c: V2Call, scope?: string): Promise<Reply> {
    const headers: Record<string, string> = { ...(c.headers ?? {}) };
    let token = c.token;
    if (token === undefined && this.creds && scope) token = await this.token(scope);
    if (token) headers.authorization = `Bearer ${token}`;
    return request(this.port, { method: c.method ?? 'GET', path: c.path, headers, body: c.body });
  }

  /** pull,push scope of a repository. */
  static rw(repo: string): string {
    return `repository:${repo}:pull,push`;
  }

  /** Monolithic blob upload (POST then PUT ?digest); returns the digest. Throws unless 201. */
  async pushBlob(repo: string, bytes: Buffer | string): Promise<string> {
    const digest = sha256(bytes);
    const start = await this.call({ method: 'POST', path: `/v2/${repo}/blobs/uploads/` }, V2Client.rw(repo));
    if (start.status !== 202) throw new Error(`upload start on ${this.port}: ${start.status} ${start.text()}`);
    const loc = new URL(start.header('location'), 'http://x');
    loc.searchParams.set('digest', digest);
    const put = await this.call({ method: 'PUT', path: loc.pathname + loc.search, body: bytes, headers: { 'content-type': 'application/octet-stream' } }, V2Client.rw(repo));
    if (put.status !== 201) throw new Error(`upload finish on ${this.port}: ${put.status} ${put.text()}`);
    return digest;
  }

  async putManifest(repo: string, ref: string, bytes: Buffer | string, mediaType = OCI_MANIFEST): Promise<Reply> {
    return this.call({ method: 'PUT', path: `/v2/${repo}/manifests/${ref}`, body: bytes, headers: { 'content-type': mediaType } }, V2Client.rw(repo));
  }

  async getManifest(repo: string, ref: string, method = 'GET'): Promise<Reply> {
    return this.call(
      {
        method,
        path: `/v2/${repo}/manifests/${ref}`,
        headers: { accept: `${OCI_MANIFEST}, ${OCI_INDEX}, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json` },
      },
      V2Client.rw(repo),
    );
  }
}

/** A small OCI image: config and one layer pushed through `c`, and its manifest bytes (not pushed). */
export async function pushImageParts(
  c: V2Client,
  repo: string,
  label: string,
  extra: Record<string, unknown> = {},
): Promise<{ manifest: Buffer; digest: string; layer: Buffer; layerDigest: string }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Labels: { label } } }));
  const layer = Buffer.from(`layer of ${label} ${Math.random()}\n`.repeat(50));
  const configDigest = await c.pushBlob(repo, config);
  const layerDigest = await c.pushBlob(repo, layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
      ...extra,
    }),
  );
  return { manifest, digest: sha256(manifest), layer, layerDigest };
}
