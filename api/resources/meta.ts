/**
 * /api/v1 GET rows about the API and the registry itself: error type
 * descriptions (Error.get), registry capabilities, the global messages,
 * the superuser registry status; the discovery document.
 */
import type { ApiCall } from '../call/context.js';
import type { ApiRouteRecord } from '../call/record.js';
import { ERROR_DESCRIPTION, notFound, type ApiErrorType } from '../wire/errors.js';
import { verifyNotProd } from './guards.js';
import { errorTypeUrl, externalBase } from '../wire/urls.js';
import { loadInventory } from '../../owner-maps/index.js';
import { ALL_SCOPES } from '../auth/scopes.js';

/** data/model/repo_mirror.py VALID_ARCHITECTURES. */
const VALID_ARCHITECTURES = ['amd64', 'arm64', 'ppc64le', 's390x'];

async function errorDescription(c: ApiCall): Promise<unknown> {
  const type = c.params.error_type ?? '';
  if (!Object.hasOwn(ERROR_DESCRIPTION, type)) throw notFound();
  return { type: errorTypeUrl(c.req, c.svc.settings.serverHostname, type), title: type, description: ERROR_DESCRIPTION[type as ApiErrorType] };
}

async function registryCapabilities(c: ApiCall): Promise<unknown> {
  const sparse = c.svc.settings.feature('SPARSE_INDEX');
  return {
    sparse_manifests: { supported: sparse, required_architectures: [], optional_architectures_allowed: sparse },
    mirror_architectures: [...VALID_ARCHITECTURES].sort(),
  };
}

async function globalMessages(c: ApiCall): Promise<unknown> {
  const rows = await c.svc.sql.all<{ uuid: string; content: string; severity: string; media_type: string }>(
    'SELECT m.uuid, m.content, m.severity, t.name AS media_type FROM messages m JOIN mediatype t ON t.id = m.media_type_id ORDER BY m.id',
  );
  return { messages: rows.map((m) => ({ uuid: m.uuid, content: m.content, severity: m.severity, media_type: m.media_type })) };
}

/**
 * The API description. Quay's is a Swagger 2.0 document built from its
 * resources' docstrings and JSON schemas: that text is Quay's, not ours to
 * copy, so this one has Quay's shape (swagger, host, basePath, schemes,
 * securityDefinitions with the OAuth scopes, paths, definitions, tags) and
 * lists the same registered /api/v1 paths and methods, in our own words and
 * without Quay's schemas. API_DISCOVERY is not claimed (api/claims.ts).
 */
async function discovery(c: ApiCall): Promise<unknown> {
  const a = c.args([{ name: 'internal', help: 'Whether to include internal APIs.', type: 'bool', default: false }]);
  void a;
  const base = externalBase(c.req, c.svc.settings.serverHostname);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const row of loadInventory().routes.filter((r) => r.family === 'API_V1')) {
    if (!c.svc.registered(row)) continue;
    const path = row.pattern.replace(/\{(\w+)(?::[^}]*)?\}/g, '{$1}');
    const entry = (paths[path] ??= { 'x-path': path });
    const params = [...row.pattern.matchAll(/\{(\w+)(?::[^}]*)?\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, type: 'string' }));
    entry[row.method.toLowerCase()] = {
      'x-quay-handler': row.handler,
      'x-capability': row.capability,
      parameters: params,
      responses: { '200': { description: 'Successful invocation' } },
    };
  }
  return {
    swagger: '2.0',
    host: c.req.headers.host ?? c.svc.settings.serverHostname,
    basePath: '/',
    schemes: [base.startsWith('https') ? 'https' : 'http'],
    info: {
      version: 'v1',
      title: 'Quay Frontend (served by the go side)',
      description: "The /api/v1 paths this registry serves; Quay's own description is served by the python side.",
    },
    securityDefinitions: {
      oauth2_implicit: { type: 'oauth2', flow: 'implicit', authorizationUrl: `${base}/oauth/authorize`, scopes: Object.fromEntries(ALL_SCOPES.map((s) => [s, s])) },
    },
    paths,
    definitions: {},
    tags: [],
  };
}

async function registryStatus(c: ApiCall): Promise<unknown> {
  verifyNotProd(c);
  // Quay's file config provider: provider_id "file".
  return c.svc.settings.keys.SETUP_COMPLETE === true ? { provider_id: 'file', status: 'ready' } : { status: 'setup-incomplete' };
}

export const META_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0063 /api/v1/error/{error_type}
  { quayHandler: 'Error.get', handle: errorDescription },
  // ROUTE_0168 /api/v1/registry/capabilities
  { quayHandler: 'RegistryCapabilities.get', handle: registryCapabilities, anonAllowed: true },
  // ROUTE_0060 /api/v1/discovery
  { quayHandler: 'DiscoveryResource.get', handle: discovery, anonAllowed: true },
  // ROUTE_0069 /api/v1/messages
  { quayHandler: 'GlobalUserMessages.get', handle: globalMessages },
  // ROUTE_0274 /api/v1/superuser/registrystatus
  { quayHandler: 'SuperUserRegistryStatus.get', handle: registryStatus, registered: (s) => s.feature('SUPER_USERS') },
];
