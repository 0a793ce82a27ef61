/**
 * Two copies of one real Quay's data — its database (SQLite file or
 * PostgreSQL database) and its `local_us` storage — so that Quay's own code
 * runs on one and ours on the other, and the results are compared (database
 * snapshots with ./db-diff.ts, storage file lists with `storageFiles`).
 */
import { cpSync, existsSync, readdirSync, type Dirent } from 'node:fs';
import { join, relative } from 'node:path';
import pg from 'pg';
import { PG_ADMIN_URL, pgUrl } from '../../dal/test/lib/postgres.js';
import { openDal, type Dal } from '../../dal/index.js';
import { pgReader, sqliteReader, type DbReader } from './db-diff.js';
import type { QuayPython } from './quay-python.js';
import { tempDir, type TLike } from './proc.js';

/** Every file under `root`, as sorted relative paths. */
export function storageFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return (readdirSync(root, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
}

/** A copy of a PostgreSQL database (`<name>_<suffix>`, from it as a template), dropped at teardown. */
export async function copyPg(t: TLike, url: string, suffix: string): Promise<string> {
  const name = new URL(url).pathname.slice(1);
  const copy = `${name}_${suffix}`;
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${copy} TEMPLATE ${name}`);
  } finally {
    await c.end();
  }
  t.teardown(async () => {
    const d = new pg.Client({ connectionString: PG_ADMIN_URL });
    await d.connect();
    await d.query(`DROP DATABASE IF EXISTS ${copy} WITH (FORCE)`).finally(() => d.end());
  });
  return pgUrl(copy);
}

/**
 * A copy of a (stopped) Quay's database as it is now, for ours: a file path
 * for SQLite (`quay.db` in `dir`, a new temporary folder by default), a URL
 * for PostgreSQL (see `copyPg`).
 */
export async function copyQuayDatabase(t: TLike, quay: QuayPython, database: 'sqlite' | 'postgres', suffix: string, dir?: string): Promise<string> {
  if (database === 'postgres') return copyPg(t, quay.database, suffix);
  const file = join(dir ?? tempDir(t, `${suffix}-ours-`), 'quay.db');
  for (const ext of ['', '-wal', '-shm']) if (existsSync(quay.database + ext)) cpSync(quay.database + ext, file + ext);
  return file;
}

/**
 * A copy of a (stopped) Quay's database and storage as they are now: the
 * database for ours (a file path for SQLite, a URL for PostgreSQL) and the
 * storage root.
 */
export async function copyQuayData(t: TLike, quay: QuayPython, database: 'sqlite' | 'postgres', suffix: string): Promise<{ database: string; storage: string }> {
  const dir = tempDir(t, `${suffix}-ours-`);
  const storage = join(dir, 'storage');
  cpSync(quay.storageDir, storage, { recursive: true });
  return { database: await copyQuayDatabase(t, quay, database, suffix, dir), storage };
}

/** Readers of Quay's database and of ours (its copy), in that order, closed at teardown. */
export async function quayAndOursReaders(t: TLike, database: 'sqlite' | 'postgres', quayDb: string, oursDb: string): Promise<[DbReader, DbReader]> {
  const readers: [DbReader, DbReader] = database === 'sqlite' ? [sqliteReader(quayDb), sqliteReader(oursDb)] : [await pgReader(quayDb), await pgReader(oursDb)];
  t.teardown(() => Promise.all(readers.map((r) => r.close())));
  return readers;
}

/** Our data layer on the copy (`copyQuayDatabase`'s path or URL), closed at teardown. */
export async function openOursDal(t: TLike, database: 'sqlite' | 'postgres', oursDb: string): Promise<Dal> {
  const dal = await openDal({ databaseUri: database === 'postgres' ? oursDb : null, databaseFile: oursDb, storageLocation: 'local_us' });
  t.teardown(() => dal.close());
  return dal;
}

/**
 * Python run in Quay's environment (QuayPython.python) before building
 * content with Quay's own model code: starts its redis (Quay's GC removes
 * files only under its GlobalLock) and defines `blob(repo, content,
 * expires)` (a file in `local_us` and a temporary link), `image(repo, name,
 * layers, subject=None)` (an OCI manifest over those layers, as Quay creates
 * one) and `tag(name, manifest)`; `loc` is the `local_us` location, `OLD` a
 * time in ms a month ago.
 */
export const PY_CONTENT = `import json, os, subprocess, time
subprocess.check_call(["bash", os.environ["QUAY_HOME_DIR"] + "/redis.sh"])  # GlobalLock: GC removes files only under it
from app import app, storage, repository_gc_queue
from data import model, database
from data.database import ImageStorage, ImageStorageLocation, Tag, UploadedBlob, TagPullStatistics, ManifestPullStatistics, Repository
from data.model import oci
from digest.digest_tools import sha256_digest
from image.oci.manifest import OCIManifestBuilder
from image.oci.index import OCIIndexBuilder
from image.oci.config import OCIConfig
from util.bytes import Bytes
from datetime import datetime, timedelta

loc = ImageStorageLocation.get(name="local_us")
OLD = int(time.time() * 1000) - 30 * 86400 * 1000  # past devtable's two-week window

def blob(repo, content, expires=3600):
    d = sha256_digest(content)
    storage.put_content(["local_us"], storage.blob_path(d), content)
    model.blob.store_blob_record_and_temp_link_in_repo(repo.id, d, loc, len(content), expires)
    return d, len(content)

def image(repo, name, layers, subject=None):
    cfg = json.dumps({"os": "linux", "architecture": "amd64", "rootfs": {"type": "layers", "diff_ids": []}, "history": [], "config": {"Labels": {"name": name}}}).encode()
    blob(repo, cfg)
    b = OCIManifestBuilder()
    b.set_config(OCIConfig(Bytes.for_string_or_unicode(cfg.decode())))
    for content in layers:
        d, n = blob(repo, content)
        b.add_layer(d, n)
    if subject is not None:
        b.set_subject(subject.digest, len(subject.manifest_bytes.encode() if isinstance(subject.manifest_bytes, str) else subject.manifest_bytes), "application/vnd.oci.image.manifest.v1+json")
    m = b.build()
    created = oci.manifest.get_or_create_manifest(repo.id, m, storage, for_tagging=True, raise_on_error=True)
    return m, created.manifest

def tag(name, manifest):
    oci.tag.retarget_tag(name, manifest.id, raise_on_error=True)

`;

/** Python: a file in storage for every CAS blob row that has none (Quay's initdb writes rows only). */
export const PY_FILE_FOR_EVERY_BLOB = `# a file for every blob row of Quay's test data too
for s in ImageStorage.select():
    if s.cas_path and s.content_checksum and s.content_checksum.startswith("sha256:") and len(s.content_checksum) == 71:
        path = storage.blob_path(s.content_checksum)
        if not storage.exists(["local_us"], path):
            storage.put_content(["local_us"], path, s.content_checksum.encode())
`;
