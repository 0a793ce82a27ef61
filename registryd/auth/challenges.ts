/**
 * The /v2 refusals of auth, as Quay words them: the `WWW-Authenticate`
 * challenge (endpoints/v2/__init__.py get_auth_headers), the 401 in the OCI
 * envelope, and the 401 a refused bearer token gets (util/http.py abort).
 */
import { RegistryError } from '../oci/errors.js';
import type { DomainError } from '../../domain/errors.js';

/** What a /v2 request needs on its repository. */
export type Need = 'read' | 'write' | 'admin';

/** The scopes a challenge names for what a request needs. */
export const SCOPES_FOR: Readonly<Record<Need, readonly string[]>> = { read: ['pull'], write: ['pull', 'push'], admin: ['pull', 'push'] };

export class Challenges {
  constructor(private readonly settings: { readonly urlScheme: 'http' | 'https'; readonly serverHostname: string }) {}

  /** `Bearer realm=…,service=…[,scope=…]`, as Quay's get_auth_headers writes it. */
  challenge(repository?: string, scopes?: readonly string[]): Record<string, string> {
    let v = `Bearer realm="${this.settings.urlScheme}://${this.settings.serverHostname}/v2/auth",service="${this.settings.serverHostname}"`;
    if (repository) v += `,scope="repository:${repository}${scopes && scopes.length > 0 ? `:${scopes.join(',')}` : ''}"`;
    return { 'www-authenticate': v };
  }

  unauthorized(message?: string, repository?: string, scopes?: readonly string[]): RegistryError {
    // Quay puts the reason in the envelope's message (what docker login prints), with an empty detail.
    return new RegistryError('UNAUTHORIZED', message, { headers: this.challenge(repository, scopes), detail: {}, ...(message ? { wireMessage: message } : {}) });
  }

  /** A login refused by domain/auth/credentials.ts: its message, with the challenge. */
  refusedLogin(e: DomainError): RegistryError {
    return this.unauthorized(e.publicMessage ?? e.message);
  }

  /**
   * A bearer token refused on a /v2 request: Quay's process_registry_jwt_auth
   * answers with util/http.py abort(401) (`{"error": <reason>}`, text/html),
   * not the OCI envelope, with the challenge.
   */
  refusedToken(message: string, repository?: string, scopes?: readonly string[]): RegistryError {
    return new RegistryError('UNAUTHORIZED', message, { headers: this.challenge(repository, scopes), detail: {}, wireMessage: message, abortBody: true });
  }
}
