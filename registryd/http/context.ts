/** What every /v2 handler receives: the request, its route parameters and the services. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RegistryService } from '../service/registry.js';
import type { UploadService } from '../service/uploads.js';
import type { Requester } from '../service/activity.js';
import type { AuthService, RequestAuth } from '../auth/auth-service.js';
import { ANONYMOUS_SUB } from '../auth/tokens.js';
import { parseRepositoryPath, type RepoName } from '../../domain/names.js';
import type { ClientAddresses } from '../../lib/client-address.js';
import { queryOf } from './respond.js';

export interface HttpSettings {
  /** Quay's LIBRARY_NAMESPACE: the namespace of one-segment repository names. */
  readonly libraryNamespace: string;
  /** Who a request comes from (TRUSTED_PROXIES). */
  readonly clients: ClientAddresses;
}

export class Ctx {
  private q: URLSearchParams | null = null;
  private name: RepoName | null = null;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly params: Readonly<Record<string, string>>,
    readonly svc: RegistryService,
    readonly uploads: UploadService,
    readonly settings: HttpSettings,
    /** Aborted when the client goes away before the response is finished. */
    readonly signal: AbortSignal,
    readonly auth: AuthService,
  ) {}

  /** The request's validated token and grants (set before a repository handler runs; open in anonymous mode). */
  access: RequestAuth | null = null;

  get authorization(): string | undefined {
    return this.req.headers.authorization;
  }

  /** May this request read the repository (a grant, or a public repository with anonymous access)? */
  mayRead(name: RepoName): Promise<boolean> {
    return this.auth.canRead(this.access, name);
  }

  get method(): string {
    return this.req.method ?? 'GET';
  }

  query(): URLSearchParams {
    return (this.q ??= queryOf(this.req.url ?? ''));
  }

  /** The repository named in the path (NAME_INVALID when malformed). */
  repoName(): RepoName {
    return (this.name ??= parseRepositoryPath(this.params.repository ?? '', this.settings.libraryNamespace));
  }

  /**
   * The client a per-client bound counts against: the token's user (or
   * robot) when there is one, else the client's address (IPv6 by /64). With
   * database auth only users get push, so anonymous clients are counted by
   * address in anonymous mode alone.
   */
  clientKey(): string {
    const sub = this.access?.claims?.sub;
    if (sub && sub !== ANONYMOUS_SUB) return `user:${sub}`;
    return `address:${this.settings.clients.keyOf(this.req)}`;
  }

  /** The request's facts Quay's action logs record: client address, User-Agent, token. */
  requester(): Requester {
    const peer = this.req.socket.remoteAddress;
    return {
      ip: peer ? this.settings.clients.addressOf(peer, this.req.headers['x-forwarded-for']) : null,
      userAgent: this.req.headers['user-agent'] ?? '',
      claims: this.access?.claims ?? null,
    };
  }

  /** `/v2/<namespace>/<name>` as it appears in Location headers. */
  repoPath(): string {
    const r = this.repoName();
    return `/v2/${r.namespace}/${r.name}`;
  }
}
