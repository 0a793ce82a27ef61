/**
 * Just enough of real Quay's REST API (/api/v1) to prepare the Quay oracle's
 * fixtures through Quay itself: create users (the namespaces the sequences
 * run in) and read robot tokens (initdb makes them random). A browser-style
 * session, as Quay's own UI does: `GET /csrf_token`, then requests with the
 * session cookie and `X-CSRF-Token`; sign-in rotates the session.
 */
import { send, type Response } from './session.js';

export class QuayApi {
  private cookies = new Map<string, string>();
  private csrf = '';

  constructor(private readonly port: number) {}

  /** A new user with this password (FEATURE_USER_CREATION; without FEATURE_MAILING it is verified at once). */
  async createUser(username: string, password: string): Promise<void> {
    await this.refreshCsrf();
    const res = await this.call('POST', '/api/v1/user/', { username, password, email: `${username}@example.com` });
    if (res.status !== 200) throw new Error(`real Quay: creating user ${username} failed: ${res.status} ${res.text().slice(0, 300)}`);
  }

  async signIn(username: string, password: string): Promise<void> {
    await this.refreshCsrf();
    const res = await this.call('POST', '/api/v1/signin', { username, password });
    if (res.status !== 200) throw new Error(`real Quay: signing in as ${username} failed: ${res.status} ${res.text().slice(0, 300)}`);
    await this.refreshCsrf();
  }

  /** A robot's token (`/api/v1/user/robots/<name>` or `/api/v1/organization/<org>/robots/<name>`), signed in as its owner or an org admin. */
  async robotToken(robot: string, signedInAs: string): Promise<string> {
    const [owner, name] = robot.split('+') as [string, string];
    const path = owner === signedInAs ? `/api/v1/user/robots/${name}` : `/api/v1/organization/${owner}/robots/${name}`;
    const res = await this.call('GET', path);
    const token = res.status === 200 ? (res.json() as { token?: unknown }).token : undefined;
    if (typeof token !== 'string') throw new Error(`real Quay: reading the token of ${robot} failed: ${res.status} ${res.text().slice(0, 300)}`);
    return token;
  }

  private async refreshCsrf(): Promise<void> {
    const res = await this.call('GET', '/csrf_token');
    const token = res.status === 200 ? (res.json() as { csrf_token?: unknown }).csrf_token : undefined;
    if (typeof token !== 'string') throw new Error(`real Quay: GET /csrf_token: ${res.status} ${res.text().slice(0, 300)}`);
    this.csrf = token;
  }

  private async call(method: string, path: string, json?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (this.csrf) headers['x-csrf-token'] = this.csrf;
    if (json !== undefined) headers['content-type'] = 'application/json';
    const res = await send(this.port, { method, path, headers, body: json === undefined ? undefined : JSON.stringify(json) });
    const set = res.headers['set-cookie'] ?? [];
    for (const c of set) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      if (eq > 0) this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
    return res;
  }
}
