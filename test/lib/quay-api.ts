/**
 * Real Quay's REST API (/api/v1) as its web UI drives it: a browser session
 * (cookie) with Quay's CSRF token. Quay's API takes no Basic credentials, so
 * tests that create robots, app-specific tokens or permissions *in Quay* sign
 * in this way. The session rotates at sign-in, so a fresh CSRF token is
 * fetched before every write.
 */
export interface QuayApiReply {
  readonly status: number;
  readonly body: any;
}

export class QuayWebSession {
  private readonly cookies = new Map<string, string>();

  constructor(private readonly baseUrl: string) {}

  /** Signs in; throws with Quay's answer when it refuses. */
  static async signIn(baseUrl: string, username: string, password: string): Promise<QuayWebSession> {
    const s = new QuayWebSession(baseUrl);
    const r = await s.call('POST', '/api/v1/signin', { username, password });
    if (r.status !== 200) throw new Error(`Quay refused the sign-in of ${username}: ${r.status} ${JSON.stringify(r.body)}`);
    return s;
  }

  /** One API call; writes carry a fresh X-CSRF-Token. */
  async call(method: string, path: string, json?: unknown): Promise<QuayApiReply> {
    const headers: Record<string, string> = {};
    if (method !== 'GET') headers['x-csrf-token'] = await this.csrf();
    if (json !== undefined) headers['content-type'] = 'application/json';
    const res = await this.fetch(method, path, headers, json === undefined ? undefined : JSON.stringify(json));
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body };
  }

  /** A new user (FEATURE_USER_CREATION; without FEATURE_MAILING it is verified at once); throws unless Quay makes it. */
  async createUser(username: string, password: string): Promise<void> {
    const r = await this.call('POST', '/api/v1/user/', { username, password, email: `${username}@example.com` });
    if (r.status !== 200) throw new Error(`real Quay: creating user ${username} failed: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  }

  /** A robot's token (initdb makes them random): `ns+name` of the signed-in user, or of an organisation it administers. */
  async robotToken(robot: string, signedInAs: string): Promise<string> {
    const [owner, name] = robot.split('+') as [string, string];
    const path = owner === signedInAs ? `/api/v1/user/robots/${name}` : `/api/v1/organization/${owner}/robots/${name}`;
    const r = await this.call('GET', path);
    const token = r.status === 200 ? (r.body as { token?: unknown }).token : undefined;
    if (typeof token !== 'string') throw new Error(`real Quay: reading the token of ${robot} failed: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
    return token;
  }

  private async csrf(): Promise<string> {
    const res = await this.fetch('GET', '/csrf_token', {});
    const body = (await res.json()) as { csrf_token?: string };
    if (typeof body.csrf_token !== 'string') throw new Error(`Quay's /csrf_token answered ${res.status} without a token`);
    return body.csrf_token;
  }

  private async fetch(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Response> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers: { ...headers, ...(cookie ? { cookie } : {}) }, body, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq > 0) this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
    return res;
  }
}
