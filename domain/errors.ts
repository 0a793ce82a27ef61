/**
 * Stable error codes of the registryd component: internal failures (storage,
 * database, hasher state) and what the `quay` and `registryd` commands print
 * (`quay: message [REG_CODE]`). Callers compare `code`, never message text.
 * ERRORS.md lists the same table; domain/test/errors.test.ts keeps them equal.
 * The /v2 wire vocabulary (BLOB_UNKNOWN, …) is separate: registryd/oci/errors.ts.
 */
import { CodedError, codeIn } from '../lib/errors.js';

export const REG_ERROR_CODES = {
  REG_SCHEMA_VERSION: 'The database is at another schema revision than this build knows, or is owned by someone else',
  REG_SHA_STATE_INVALID: "A blobupload.sha_state value is not Quay's pickle of a resumable SHA-256",
  REG_STORAGE_NOT_FOUND: 'A storage key (blob or upload object) does not exist',
  REG_STORAGE_TOO_LARGE: 'An upload chunk went past the maximum blob size and was rolled back',
  REG_STORAGE_ABORTED: 'An upload chunk did not complete (client gone or stream error) and was rolled back',
  REG_STORAGE_IO: 'The storage medium failed (permissions, disk full, bad key)',
  REG_CLI_USAGE: 'A quay or registryd command line is malformed',
  REG_CONFIG_INVALID: 'config.yaml has problems for the mode, or lacks a key the command needs',
  REG_FILE_EXISTS: 'The output file exists; it is never overwritten',
  REG_START_FAILED: 'The runtime cannot start (listener, database, storage or signing key)',
  REG_DATABASE_UNAVAILABLE: 'The database cannot be opened',
  REG_NAME_INVALID: 'A user, organization, robot or repository name is not valid',
  REG_NAME_TAKEN: 'A user, organization or robot name, or an e-mail address, is already used',
  REG_NAME_UNKNOWN: 'A user, namespace, team or repository named on the command line does not exist',
  REG_PASSWORD_WEAK: 'A password is shorter than 8 characters',
  REG_WORKER_NOT_BUILT: "quay worker was asked for one of Quay's programs the TS side does not have yet (Python Quay runs it)",
  REG_INTERNAL: 'An unexpected error (a bug); QUAY_DEBUG=1 or REGISTRYD_DEBUG=1 prints its stack trace',
} as const;

export type RegErrorCode = keyof typeof REG_ERROR_CODES;

/** An error of the registryd component that carries its stable code. */
export class RegError extends CodedError<RegErrorCode> {}

/** The REG_ code an error carries (RegError, StorageError, SchemaVersionError, ...), or null. */
export function regCode(e: unknown): RegErrorCode | null {
  return codeIn(e, REG_ERROR_CODES);
}

/**
 * What went wrong in Quay's domain, said once for every surface: the
 * services, names and digests throw these, and each HTTP edge maps them to
 * its wire — the /v2 edge to the OCI envelope (registryd/oci/errors.ts
 * fromDomain), /api/v1 to Quay's API error shape. A code names the fact, not
 * the status: the edge picks the status Quay answers it with.
 */
export const DOMAIN_ERRORS = {
  NAME_INVALID: 'A namespace or repository name is not valid',
  NAME_UNKNOWN: 'The repository does not exist (or is being deleted)',
  NAMESPACE_DISABLED: 'The namespace is disabled',
  REPOSITORY_READ_ONLY: 'The repository does not accept writes (read-only, mirror, being deleted)',
  BLOB_UNKNOWN: 'The blob is not in the repository',
  BLOB_UPLOAD_UNKNOWN: 'No such upload session in the repository, or it has no data',
  BLOB_UPLOAD_INVALID: 'The upload session cannot take this request (changed by another request, unreadable state)',
  BLOB_UPLOAD_RANGE_INVALID: 'A chunk does not start where the upload ends (facts: uploadedBytes, uploadUuid)',
  BLOB_TOO_LARGE: 'The blob is larger than the maximum blob size',
  DIGEST_INVALID: 'A digest is malformed, or the content does not have the digest given',
  MANIFEST_UNKNOWN: 'No such manifest (tag or digest) in the repository',
  MANIFEST_INVALID: 'The manifest is malformed or breaks a rule',
  MANIFEST_MEDIA_TYPE_UNSUPPORTED: "The manifest's media type is not one this registry stores",
  MANIFEST_BLOB_UNKNOWN: 'The manifest names a blob or child manifest the repository does not hold',
  TAG_INVALID: 'A tag name is not valid',
  TAG_EXPIRED: 'The tag existed but has expired',
  TOO_MANY_UPLOADS: 'The client holds the most upload sessions allowed (facts: retryAfterMs)',
  UNAUTHORIZED: 'No credentials, or credentials that do not grant the request',
  DENIED: 'The request is refused whoever asks',
} as const;

export type DomainErrorCode = keyof typeof DOMAIN_ERRORS;

export interface DomainErrorOptions {
  /** What a client may be told besides the code (the OCI envelope's `detail`). */
  readonly detail?: unknown;
  /** The message clients see, when Quay words it otherwise than the code's standard text. */
  readonly publicMessage?: string;
  /** Facts an edge needs to answer (sizes, uuids, retry times), named per code in DOMAIN_ERRORS. */
  readonly facts?: Readonly<Record<string, string | number>>;
  readonly cause?: unknown;
}

export class DomainError extends CodedError<DomainErrorCode> {
  readonly detail: unknown;
  readonly publicMessage: string | undefined;
  readonly facts: Readonly<Record<string, string | number>>;
  constructor(code: DomainErrorCode, message?: string, o: DomainErrorOptions = {}) {
    super(code, message ?? DOMAIN_ERRORS[code], o.cause === undefined ? undefined : { cause: o.cause });
    this.detail = o.detail ?? (message ? { message } : {});
    this.publicMessage = o.publicMessage;
    this.facts = o.facts ?? {};
  }
}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}
