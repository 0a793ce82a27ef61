/**
 * registryd as other components use it: `openRegistry()` wires a metadata
 * store, a storage driver and the services into a request handler.
 *
 * Data directory layout (mirror mode):
 *   <data-dir>/quay.db       SQLite database in Quay's table layout
 *   <data-dir>/storage/      blob storage in Quay's layout (storage/paths.ts)
 */
import { mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Logger } from '../switchboard/log.js';
import { SqliteMetadataStore } from './metadata/sqlite/store.js';
import type { MetadataStore } from './metadata/store.js';
import { LocalStorage } from './storage/local.js';
import type { StorageDriver } from './storage/driver.js';
import { RegistryService, type RegistrySettings } from './service/registry.js';
import { UploadService, type UploadSettings } from './service/uploads.js';
import { createRegistryHandler } from './http/server.js';

export { RegistryError, OCI_ERRORS, type OciErrorCode } from './oci-errors.js';
export type { MetadataStore } from './metadata/store.js';
export type { StorageDriver } from './storage/driver.js';

export interface RegistryOptions {
  readonly dataDir: string;
  readonly log: Logger;
  readonly libraryNamespace?: string;
  readonly maxBlobBytes?: number;
  readonly now?: () => number;
}

export interface Registry {
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  readonly store: MetadataStore;
  readonly storage: StorageDriver;
  readonly uploads: UploadService;
  close(): Promise<void>;
}

/** Quay's MAXIMUM_LAYER_SIZE default (20G). */
export const DEFAULT_MAX_BLOB_BYTES = 20 * 1024 ** 3;

export function openRegistry(o: RegistryOptions): Registry {
  mkdirSync(join(o.dataDir, 'storage'), { recursive: true });
  const store = new SqliteMetadataStore(join(o.dataDir, 'quay.db'));
  const storage = new LocalStorage(join(o.dataDir, 'storage'));
  const now = o.now ?? Date.now;
  const registrySettings: RegistrySettings = {
    createOnPush: true, createVisibility: 'public', tempTagSeconds: 3600, maxManifestBytes: 4 * 1024 * 1024, now,
  };
  const uploadSettings: UploadSettings = { maxBlobBytes: o.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES, linkExpirySeconds: 3600, now };
  const svc = new RegistryService(store, storage, registrySettings);
  const uploads = new UploadService(store, storage, uploadSettings);
  const handler = createRegistryHandler({ svc, uploads, settings: { libraryNamespace: o.libraryNamespace ?? 'library' }, log: o.log });
  return { handler, store, storage, uploads, close: () => store.close() };
}
