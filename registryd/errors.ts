/**
 * Stable error codes of the registryd component: internal failures (storage,
 * database, hasher state) and what the `quay` and `registryd` commands print
 * (`quay: message [REG_CODE]`). Callers compare `code`, never message text.
 * ERRORS.md lists the same table; registryd/test/errors.test.ts keeps them equal.
 * The /v2 wire vocabulary (BLOB_UNKNOWN, …) is separate: oci-errors.ts.
 */
import { CodedError, codeIn } from '../lib/errors.js';

export const REG_ERROR_CODES = {
  REG_SCHEMA_VERSION: 'The database is at another schema revision than this build knows, or is owned by someone else',
  REG_SHA_STATE_INVALID: 'A blobupload.sha_state value is not Quay\'s pickle of a resumable SHA-256',
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
  REG_INTERNAL: 'An unexpected error (a bug); QUAY_DEBUG=1 or REGISTRYD_DEBUG=1 prints its stack trace',
} as const;

export type RegErrorCode = keyof typeof REG_ERROR_CODES;

/** An error of the registryd component that carries its stable code. */
export class RegError extends CodedError<RegErrorCode> {}

/** The REG_ code an error carries (RegError, StorageError, SchemaVersionError, ...), or null. */
export function regCode(e: unknown): RegErrorCode | null {
  return codeIn(e, REG_ERROR_CODES);
}
