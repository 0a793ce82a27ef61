/**
 * Stable error codes of the registryd component (internal failures: storage,
 * database, hasher state). Callers compare `code`, never message text.
 * ERRORS.md lists the same table; registryd/test/errors.test.ts keeps them equal.
 * The /v2 wire vocabulary (BLOB_UNKNOWN, …) is separate: oci-errors.ts.
 */
export const REG_ERROR_CODES = {
  REG_SCHEMA_VERSION: 'The database is at another schema revision than this build knows, or is owned by someone else',
  REG_SHA_STATE_INVALID: 'A blobupload.sha_state value is not Quay\'s pickle of a resumable SHA-256',
  REG_STORAGE_NOT_FOUND: 'A storage key (blob or upload object) does not exist',
  REG_STORAGE_TOO_LARGE: 'An upload chunk went past the maximum blob size and was rolled back',
  REG_STORAGE_ABORTED: 'An upload chunk did not complete (client gone or stream error) and was rolled back',
  REG_STORAGE_IO: 'The storage medium failed (permissions, disk full, bad key)',
} as const;

export type RegErrorCode = keyof typeof REG_ERROR_CODES;
