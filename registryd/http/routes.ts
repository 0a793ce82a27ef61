/**
 * The /v2 surface's route records: one per Quay endpoint, keyed by the
 * endpoint function's name in Quay (the inventory's `handler` column, e.g.
 * `download_blob`), with its handler, the permission it needs (Quay's
 * require_repo_read/write) and the action its refusals are audited as
 * (log_unauthorized). The go side's router (quay/router.ts) joins them to the
 * inventory's REGISTRY_V2 rows and compiles one route table for every surface;
 * it refuses records and rows that are not one to one.
 */
import { loadInventory } from '../../owner-maps/index.js';
import type { RouteRow } from '../../owner-maps/index.js';
import type { Need } from '../auth/auth-service.js';
import type { RefusedAction } from '../service/activity.js';
import type { Ctx } from './context.js';
import { deleteBlob, getBlob } from './blobs.js';
import { base, catalog, referrers, tagsList } from './listing.js';
import { deleteManifest, getManifest, putManifest } from './manifests.js';
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './uploads.js';
import { issueToken } from './auth.js';

export type Handler = (c: Ctx) => Promise<void>;

export interface RouteRecord {
  /** Quay's endpoint function (inventory `handler`). */
  readonly quayHandler: string;
  readonly handle: Handler;
  /** The repository permission the route needs; absent for routes without a repository. */
  readonly need?: Need;
  /** The action a refusal counts as when Quay audits refusals. */
  readonly audited?: RefusedAction;
  /**
   * The scopes a refused (invalid) bearer token's challenge names, when they are not the
   * permission's: Quay's `process_registry_jwt_auth(scopes=…)` of the route (fetch_existing_upload
   * needs write but its decorator names pull).
   */
  readonly tokenNeed?: Need;
}

/** The family whose rows these records serve. */
export const FAMILY = 'REGISTRY_V2';

export const V2_ROUTES: readonly RouteRecord[] = [
  { quayHandler: 'v2_support_enabled', handle: base },
  { quayHandler: 'catalog_search', handle: catalog },
  { quayHandler: 'generate_registry_jwt', handle: issueToken },
  { quayHandler: 'start_blob_upload', handle: startUpload, need: 'write', audited: 'push' },
  { quayHandler: 'cancel_upload', handle: cancelUpload, need: 'write' },
  { quayHandler: 'fetch_existing_upload', handle: uploadStatus, need: 'write', tokenNeed: 'read' },
  { quayHandler: 'upload_chunk', handle: patchUpload, need: 'write' },
  { quayHandler: 'monolithic_upload_or_last_chunk', handle: finishUpload, need: 'write' },
  { quayHandler: 'delete_digest', handle: deleteBlob, need: 'write' },
  { quayHandler: 'download_blob', handle: getBlob, need: 'read' },
  { quayHandler: 'check_blob_exists', handle: getBlob, need: 'read' },
  { quayHandler: 'delete_manifest_by_digest', handle: deleteManifest, need: 'write', audited: 'delete' },
  { quayHandler: 'fetch_manifest_by_digest', handle: getManifest, need: 'read', audited: 'pull' },
  { quayHandler: 'write_manifest_by_digest', handle: putManifest, need: 'write', audited: 'push' },
  { quayHandler: 'delete_manifest_by_tag', handle: deleteManifest, need: 'write', audited: 'delete' },
  { quayHandler: 'fetch_manifest_by_tagname', handle: getManifest, need: 'read', audited: 'pull' },
  { quayHandler: 'write_manifest_by_tagname', handle: putManifest, need: 'write', audited: 'push' },
  { quayHandler: 'list_manifest_referrers', handle: referrers, need: 'read' },
  { quayHandler: 'list_all_tags', handle: tagsList, need: 'read' },
];

/** The inventory route ids the records serve (every row of the family; the router refuses to compile otherwise). */
export function servedRouteIds(rows: readonly RouteRow[] = loadInventory().routes): string[] {
  const handlers = new Set(V2_ROUTES.map((r) => r.quayHandler));
  return rows
    .filter((r) => r.family === FAMILY && handlers.has(r.handler))
    .map((r) => r.id)
    .sort();
}
