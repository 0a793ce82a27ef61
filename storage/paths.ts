/**
 * The only place that turns "blob by digest" or "upload by uuid" into a
 * storage key. Quay's storage layout (storage/basestorage.py and
 * digest/digest_tools.py), shared with Python Quay so both find the same bytes:
 *
 *   <storage root>/
 *   ├── sha256/
 *   │   └── ab/
 *   │       └── ab12…(64 hex)      a blob, content-addressed; written once, by rename
 *   ├── uploads/
 *   │   └── <uuid>                 an upload in progress (the local driver appends chunks here)
 *   └── exportedactionlogs/        (EXPORT_ACTION_LOGS_STORAGE_PATH)
 *       └── <export id>-<uuid>     an action-log export, written by exportactionlogsworker
 *
 * Keys are relative, `/`-separated; drivers map them onto their medium.
 */
import { digestHex } from '../domain/digest.js';

export function blobKey(digest: string): string {
  const hex = digestHex(digest);
  return `sha256/${hex.slice(0, 2)}/${hex}`;
}

const UUID_RE = /^[A-Za-z0-9-]{1,64}$/;

export function uploadKey(uuid: string): string {
  // The uuid comes from a URL: never let it name anything outside uploads/.
  if (!UUID_RE.test(uuid)) throw new Error(`not an upload uuid: ${JSON.stringify(uuid)}`);
  return `uploads/${uuid}`;
}

export function isUploadUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/**
 * A legacy (non-CAS, Docker v1) layer's key: Quay's v1_image_layer_path,
 * `sharedimages/<storage uuid>/layer`. Only garbage collection uses it, to
 * remove such a layer's file.
 */
export function v1LayerKey(storageUuid: string): string {
  if (!UUID_RE.test(storageUuid)) throw new Error(`not a storage uuid: ${JSON.stringify(storageUuid)}`);
  return `sharedimages/${storageUuid}/layer`;
}

/**
 * An action-log export (workers/exportactionlogsworker.py): the file
 * `<export id>-<uuid>` under EXPORT_ACTION_LOGS_STORAGE_PATH (default
 * `exportedactionlogs`), joined as Python's os.path.join joins them.
 */
export function exportedLogsKey(dir: string, filename: string): string {
  if (filename.includes('/') || filename === '' || filename === '.' || filename === '..') throw new Error(`not an export file name: ${JSON.stringify(filename)}`);
  if (dir.startsWith('/')) throw new Error(`EXPORT_ACTION_LOGS_STORAGE_PATH must be relative to the storage root: ${JSON.stringify(dir)}`);
  return dir === '' ? filename : `${dir.replace(/\/+$/, '')}/${filename}`;
}
