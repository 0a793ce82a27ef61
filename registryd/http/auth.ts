/** GET /v2/auth (ROUTE_0003): the token service. */
import type { Ctx } from './context.js';
import { sendJson } from './respond.js';

export async function issueToken(c: Ctx): Promise<void> {
  const body = await c.auth.issue(c.authorization, c.query());
  // Quay's @no_cache: a token must never be served from a cache.
  sendJson(c.res, 200, body, { 'cache-control': 'no-cache, no-store, must-revalidate' }, c.method === 'HEAD');
}
