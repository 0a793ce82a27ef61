/**
 * The inventory rows the proxy handles specially, found by capability and
 * method (and, where a capability has several such rows, by Quay's endpoint
 * function), never by route id: ids are renumbered when the inventory is
 * regenerated from Quay's source.
 */
import type { Inventory } from '../../owner-maps/index.js';

export interface SpecialRoutes {
  /** GET /v2/<repo>/blobs/<digest> (V2_PULL, Quay's download_blob): large bodies take the blob lane (blob-lane.ts). */
  readonly blobGet: string;
  /** POST /v2/<repo>/blobs/uploads/ (V2_UPLOAD's one POST): its 202 starts an upload session, which is pinned. */
  readonly uploadStart: string;
}

function one(inv: Inventory, what: string, test: (r: Inventory['routes'][number]) => boolean): string {
  const rows = inv.routes.filter(test);
  if (rows.length !== 1) throw new Error(`the inventory has ${rows.length} rows for ${what}, not one: the proxy cannot find it`);
  return rows[0]!.id;
}

export function specialRoutes(inv: Inventory): SpecialRoutes {
  return {
    blobGet: one(inv, 'the blob GET (V2_PULL, download_blob)', (r) => r.capability === 'V2_PULL' && r.method === 'GET' && r.handler === 'download_blob'),
    uploadStart: one(inv, 'the upload start (V2_UPLOAD, POST)', (r) => r.capability === 'V2_UPLOAD' && r.method === 'POST'),
  };
}
