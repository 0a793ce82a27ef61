/**
 * /api/v1 GET rows of API_AUTOPRUNE, API_BILLING, API_IMMUTABILITY,
 * API_ORG_MIRROR, API_REPO_MIRROR and API_SECURITY_SCAN: resources Quay
 * registers only when their FEATURE_ flags are on (each `registered` is the
 * resource's show_if decorators, all of them). With a flag off the row is
 * absent from the route table, as the resource is from Quay's, and the
 * request meets whatever else matches, as in Werkzeug:
 *
 *   - patterns under /repository/<ns>/<repo>/ without a trailing slash
 *     (0171, 0181, 0196, 0205, 0206) match Repository.get's
 *     `/repository/<apirepopath>`, so Quay answers getRepo on a repository
 *     named e.g. `simple/mirror`: 401 anonymous, 403 without read, 404 when
 *     the caller could read it (the repositories resource answers these);
 *   - every other one reaches no rule: the unmatched answer (a 308 to the
 *     path with a slash, or the 404 page, for those ending in `/`).
 *
 * With a flag ON these handlers are still `notYet` (501): none of these
 * features (Stripe billing, RH marketplace, auto-prune and immutability
 * policies, repository and organisation mirroring, Clair) is served by the
 * go side yet.
 */
import type { ApiRouteRecord } from '../call/record.js';
import type { ApiSettings } from '../wire/settings.js';
import { notYet } from './not-yet.js';

/**
 * Records for the other methods of a gated resource: Quay drops the whole
 * class, so its POST/PUT/DELETE rows must leave the route table with the
 * GET row (else a GET there meets Werkzeug's 405 instead of what Quay
 * answers). The surface keys `registered` by handler, so each method needs
 * its record; they answer 501 (not built) while the flag is on.
 */
export function gatedMethods(registered: (s: ApiSettings) => boolean, ...handlers: string[]): ApiRouteRecord[] {
  return handlers.map((quayHandler) => ({ quayHandler, handle: notYet, registered }));
}

const billing = (s: ApiSettings): boolean => s.feature('BILLING');
const autoPrune = (s: ApiSettings): boolean => s.feature('AUTO_PRUNE');
const immutableTags = (s: ApiSettings): boolean => s.feature('IMMUTABLE_TAGS');
const repoMirror = (s: ApiSettings): boolean => s.feature('REPO_MIRROR');
const orgMirror = (s: ApiSettings): boolean => s.feature('ORG_MIRROR');

export const FEATURE_OFF_ROUTES: readonly ApiRouteRecord[] = [
  // ROUTE_0166 /api/v1/plans/
  { quayHandler: 'ListPlans.get', handle: notYet, registered: billing },
  // ROUTE_0128 /api/v1/organization/{orgname}/private
  { quayHandler: 'OrgPrivateRepositories.get', handle: notYet, registered: billing },
  // ROUTE_0090 /api/v1/organization/{orgname}/card
  { quayHandler: 'OrganizationCard.get', handle: notYet, registered: billing },
  // ROUTE_0100 /api/v1/organization/{orgname}/invoice/fields
  { quayHandler: 'OrganizationInvoiceFieldList.get', handle: notYet, registered: billing },
  // ROUTE_0102 /api/v1/organization/{orgname}/invoices
  { quayHandler: 'OrganizationInvoiceList.get', handle: notYet, registered: billing },
  // ROUTE_0125 /api/v1/organization/{orgname}/plan
  { quayHandler: 'OrganizationPlan.get', handle: notYet, registered: billing },
  // ROUTE_0104 /api/v1/organization/{orgname}/marketplace
  { quayHandler: 'OrganizationRhSku.get', handle: notYet, registered: billing },
  // ROUTE_0336 /api/v1/user/private
  { quayHandler: 'PrivateRepositories.get', handle: notYet, registered: billing },
  // ROUTE_0312 /api/v1/user/card
  { quayHandler: 'UserCard.get', handle: notYet, registered: billing },
  // ROUTE_0319 /api/v1/user/invoice/fields
  { quayHandler: 'UserInvoiceFieldList.get', handle: notYet, registered: billing },
  // ROUTE_0321 /api/v1/user/invoices
  { quayHandler: 'UserInvoiceList.get', handle: notYet, registered: billing },
  // ROUTE_0333 /api/v1/user/plan
  { quayHandler: 'UserPlan.get', handle: notYet, registered: billing },
  // ROUTE_0323 /api/v1/user/marketplace
  { quayHandler: 'UserSkuList.get', handle: notYet, registered: (s) => s.feature('RH_MARKETPLACE') },
  // ROUTE_0085 /api/v1/organization/{orgname}/autoprunepolicy/
  { quayHandler: 'OrgAutoPrunePolicies.get', handle: notYet, registered: autoPrune },
  // ROUTE_0088 /api/v1/organization/{orgname}/autoprunepolicy/{policy_uuid}
  { quayHandler: 'OrgAutoPrunePolicy.get', handle: notYet, registered: autoPrune },
  // ROUTE_0178 /api/v1/repository/{repository:apirepopath}/autoprunepolicy/
  { quayHandler: 'RepositoryAutoPrunePolicies.get', handle: notYet, registered: autoPrune },
  // (off: falls through to Repository.get) ROUTE_0181 /api/v1/repository/{repository:apirepopath}/autoprunepolicy/{policy_uuid}
  { quayHandler: 'RepositoryAutoPrunePolicy.get', handle: notYet, registered: autoPrune },
  // ROUTE_0307 /api/v1/user/autoprunepolicy/
  { quayHandler: 'UserAutoPrunePolicies.get', handle: notYet, registered: autoPrune },
  // ROUTE_0310 /api/v1/user/autoprunepolicy/{policy_uuid}
  { quayHandler: 'UserAutoPrunePolicy.get', handle: notYet, registered: autoPrune },
  // ROUTE_0094 /api/v1/organization/{orgname}/immutabilitypolicy/
  { quayHandler: 'OrgImmutabilityPolicies.get', handle: notYet, registered: immutableTags },
  // ROUTE_0097 /api/v1/organization/{orgname}/immutabilitypolicy/{policy_uuid}
  { quayHandler: 'OrgImmutabilityPolicy.get', handle: notYet, registered: immutableTags },
  // ROUTE_0193 /api/v1/repository/{repository:apirepopath}/immutabilitypolicy/
  { quayHandler: 'RepositoryImmutabilityPolicies.get', handle: notYet, registered: immutableTags },
  // (off: falls through to Repository.get) ROUTE_0196 /api/v1/repository/{repository:apirepopath}/immutabilitypolicy/{policy_uuid}
  { quayHandler: 'RepositoryImmutabilityPolicy.get', handle: notYet, registered: immutableTags },
  // (off: falls through to Repository.get) ROUTE_0206 /api/v1/repository/{repository:apirepopath}/mirror
  { quayHandler: 'RepoMirrorResource.get', handle: notYet, registered: repoMirror },
  // (off: falls through to Repository.get) ROUTE_0171 /api/v1/repository/mirror/health
  { quayHandler: 'RepositoryMirrorHealth.get', handle: notYet, registered: repoMirror },
  // ROUTE_0264 /api/v1/superuser/mirror/health
  { quayHandler: 'SuperUserRepositoryMirrorHealth.get', handle: notYet, registered: (s) => s.feature('REPO_MIRROR') && s.feature('SUPER_USERS') },
  // ROUTE_0112 /api/v1/organization/{orgname}/mirror
  { quayHandler: 'OrgMirrorConfig.get', handle: notYet, registered: orgMirror },
  // ROUTE_0115 /api/v1/organization/{orgname}/mirror/repositories
  { quayHandler: 'OrgMirrorRepositories.get', handle: notYet, registered: orgMirror },
  // (off: falls through to Repository.get) ROUTE_0205 /api/v1/repository/{repository:apirepopath}/manifest/{manifestref:digest}/security
  { quayHandler: 'RepositoryManifestSecurity.get', handle: notYet, registered: (s) => s.feature('SECURITY_SCANNER') },
  // The mutations of the same resources (Quay registers them with their GET).
  ...gatedMethods(billing, 'OrganizationCard.post', 'OrganizationInvoiceFieldList.post', 'OrganizationRhSku.post', 'OrganizationPlan.post', 'OrganizationPlan.put'),
  ...gatedMethods(billing, 'UserCard.post', 'UserInvoiceFieldList.post', 'UserPlan.post', 'UserPlan.put'),
  ...gatedMethods(autoPrune, 'OrgAutoPrunePolicies.post', 'OrgAutoPrunePolicy.delete', 'OrgAutoPrunePolicy.put'),
  ...gatedMethods(autoPrune, 'RepositoryAutoPrunePolicies.post', 'RepositoryAutoPrunePolicy.delete', 'RepositoryAutoPrunePolicy.put'),
  ...gatedMethods(autoPrune, 'UserAutoPrunePolicies.post', 'UserAutoPrunePolicy.delete', 'UserAutoPrunePolicy.put'),
  ...gatedMethods(immutableTags, 'OrgImmutabilityPolicies.post', 'OrgImmutabilityPolicy.delete', 'OrgImmutabilityPolicy.put'),
  ...gatedMethods(immutableTags, 'RepositoryImmutabilityPolicies.post', 'RepositoryImmutabilityPolicy.delete', 'RepositoryImmutabilityPolicy.put'),
  ...gatedMethods(repoMirror, 'RepoMirrorResource.post', 'RepoMirrorResource.put'),
  ...gatedMethods(orgMirror, 'OrgMirrorConfig.delete', 'OrgMirrorConfig.post', 'OrgMirrorConfig.put'),
];
