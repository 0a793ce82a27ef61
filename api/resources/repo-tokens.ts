/**
 * /api/v1 GET rows: API_REPO_TOKENS (endpoints/api/repotoken.py). Repository
 * access tokens are gone from Quay: after require_repo_admin both rows
 * answer 410 with a fixed message, whatever the repository or code.
 */
import type { ApiCall } from '../call/context.js';
import { Reply } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import { requireRepo } from './guards.js';

async function gone(c: ApiCall): Promise<Reply> {
  await requireRepo(c, 'admin', { allowForSuperuser: true, allowForGlobalReadonlySuperuser: true });
  return new Reply(410, { message: 'Handling of access tokens is no longer supported' });
}

export const REPO_TOKEN_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0233 /api/v1/repository/{repository:apirepopath}/tokens/
  { quayHandler: 'RepositoryTokenList.get', handle: gone },
  // ROUTE_0236 /api/v1/repository/{repository:apirepopath}/tokens/{code}
  { quayHandler: 'RepositoryToken.get', handle: gone },
];
