/**
 * Every known difference between registryd and Distribution 2.8 in the
 * contract sequences (sequences.ts), with why it is there:
 *
 *   oracle-deviation  Distribution 2.8 departs from the OCI distribution spec
 *                     (1.1; DESIGN §7 lists the known cases) and registryd
 *                     does not;
 *   quay-quirk        registryd reproduces Quay's observable behaviour
 *                     (docs/quay-v2-behaviour.md, section cited);
 *   deliberate        registryd's own choice, reason given;
 *   bug               a registryd defect, described after `bug: ` — listed
 *                     so the contract documents it; when it is fixed the entry
 *                     goes stale and the test asks for it to be removed.
 *
 * RULES are differences that recur wherever a kind of response occurs
 * (matched by field, values and status); EXPECTED lists, per sequence and
 * step, exactly the fields that differ and both sides' normalised values
 * ([registryd, distribution]; null = absent). The category names what
 * explains registryd's side; reasons also say what the other side does.
 * oracle.test.ts prints unlisted differences in this format.
 */
import { exactly, type RuleExpectation, type StepExpectation } from './lib.js';

export const RULES: readonly RuleExpectation[] = [
  {
    rule: 'Docker-Distribution-API-Version only on /v2/ and challenges',
    field: 'docker-distribution-api-version',
    test: exactly(null, 'registry/2.0'),
    category: 'quay-quirk',
    reason:
      'docs/quay-v2-behaviour.md §0.2 and §0.4: Quay sends `Docker-Distribution-API-Version: registry/2.0` on GET /v2/ and with 401 challenges only (registryd too, checked against Quay in quay-oracle.test.ts); Distribution on every response.',
  },
  {
    rule: 'manifest PUT answers `OK` (Content-Length)',
    field: 'content-length',
    status: '201',
    test: exactly('(body length)', '0'),
    category: 'quay-quirk',
    reason: 'docs/quay-v2-behaviour.md §3.12: Quay answers a manifest PUT with the text `OK` (Content-Length 2); Distribution with an empty 201.',
  },
  {
    rule: 'manifest PUT answers `OK` (body)',
    field: 'body',
    status: '201',
    test: exactly(null, '(empty)'),
    category: 'quay-quirk',
    reason: 'docs/quay-v2-behaviour.md §3.12: the `OK` body of a manifest PUT (not compared as bytes: its presence is what differs); Distribution sends none.',
  },
  {
    rule: 'manifest PUT answers `OK` (Content-Type)',
    field: 'content-type',
    status: '201',
    test: exactly('text/html; charset=utf-8', null),
    category: 'quay-quirk',
    reason: 'docs/quay-v2-behaviour.md §0.2, §3.12: the `OK` of a manifest PUT is a Flask string response, text/html; Distribution sends no body and no Content-Type.',
  },
  {
    rule: 'JSON Content-Type without charset',
    field: 'content-type',
    test: exactly('application/json', 'application/json; charset=utf-8'),
    category: 'quay-quirk',
    reason: 'docs/quay-v2-behaviour.md §0.2: Flask jsonify answers `application/json` (no charset); Distribution adds `; charset=utf-8`. Both are valid JSON media types.',
  },
  {
    rule: 'Range of a fresh upload session',
    field: 'range',
    status: '202',
    test: exactly('bytes=0--1', '0-0'),
    category: 'quay-quirk',
    reason: 'docs/quay-v2-behaviour.md §3.5 and §5 quirk 3: Quay answers POST /blobs/uploads/ with the literal `Range: bytes=0--1`; Distribution with `0-0`.',
  },
  {
    rule: 'Range of an upload status',
    field: 'range',
    status: '204',
    test: (r, d) => {
      const m = /^bytes=0-(\d+)$/.exec(r ?? '');
      return m !== null && d === `0-${Math.max(Number(m[1]) - 1, 0)}`;
    },
    category: 'quay-quirk',
    reason:
      "docs/quay-v2-behaviour.md §3.6 and §5 quirk 3: Quay's GET upload status says `bytes=0-<byte count>` (one past the last byte, with the `bytes=` prefix); Distribution says `0-<last byte>`.",
  },
  {
    rule: 'Cache-Control of blob HEAD',
    field: 'cache-control',
    test: exactly('max-age=31436000', 'max-age=31536000'),
    category: 'quay-quirk',
    reason: "docs/quay-v2-behaviour.md §3.2 and §5 quirk 4: Quay's blob HEAD says `max-age=31436000` (a typo for the GET's 31536000), and registryd reproduces it.",
  },
];

export const EXPECTED: readonly StepExpectation[] = [
  {
    seq: 'base',
    step: 'GET /v2/',
    category: 'quay-quirk',
    fields: { 'content-type': ['text/html; charset=utf-8', 'application/json; charset=utf-8'], body: ['true', '{}'] },
    reason:
      "docs/quay-v2-behaviour.md \u00a73.1 and \u00a70.2: Quay's GET /v2/ body is `true`, a Flask string response (text/html), as registryd's (checked against Quay in quay-oracle.test.ts); Distribution answers `{}` as JSON.",
  },
  {
    seq: 'base',
    step: 'HEAD /v2/',
    category: 'quay-quirk',
    fields: { 'content-length': ['4', '2'], 'content-type': ['text/html; charset=utf-8', 'application/json; charset=utf-8'] },
    reason:
      "docs/quay-v2-behaviour.md \u00a73.1 (HEAD runs the GET view, \u00a70.2): Content-Length and Content-Type of Quay's `true` (4, text/html) against Distribution's `{}` (2, JSON).",
  },
  {
    seq: 'monolithic-post',
    step: 'POST ?digest with body',
    category: 'quay-quirk',
    fields: {
      status: ['201', '202'],
      'docker-content-digest': ['sha256:31642d65831fe0f88b4e39cff250679336a40c226de80be58fac3cb0a6336f33', null],
      location: ['/v2/ct/monolithic-post/blobs/sha256:31642d65831fe0f88b4e39cff250679336a40c226de80be58fac3cb0a6336f33', '/v2/ct/monolithic-post/blobs/uploads/<uuid>'],
      range: [null, '0-0'],
      'docker-upload-uuid': [null, 'present'],
    },
    reason:
      'docs/quay-v2-behaviour.md §3.5: Quay completes a single POST ?digest= upload (201, Docker-Content-Digest, blob Location); Distribution 2.8 ignores `digest` on POST and opens a session (202), which OCI distribution-spec 1.1 "Single POST" allows ("Registries MAY support ... SHOULD return a 202").',
  },
  {
    seq: 'monolithic-post',
    step: 'HEAD blob',
    category: 'quay-quirk',
    fields: {
      status: ['200', '404'],
      'docker-content-digest': ['sha256:31642d65831fe0f88b4e39cff250679336a40c226de80be58fac3cb0a6336f33', null],
      'content-length': ['3000', '(error body)'],
      'content-type': ['application/octet-stream', 'application/json; charset=utf-8'],
      'accept-ranges': ['bytes', null],
      'cache-control': ['max-age=31436000', null],
    },
    reason:
      'Follows from the single POST: registryd stored the blob (as Quay does, docs/quay-v2-behaviour.md §3.5); Distribution only opened a session, so the blob is unknown there.',
  },
  {
    seq: 'monolithic-post',
    step: 'GET blob',
    category: 'quay-quirk',
    fields: {
      status: ['200', '404'],
      'docker-content-digest': ['sha256:31642d65831fe0f88b4e39cff250679336a40c226de80be58fac3cb0a6336f33', null],
      'content-length': ['3000', '(body length)'],
      'content-type': ['application/octet-stream', 'application/json; charset=utf-8'],
      'accept-ranges': ['bytes', null],
      'cache-control': ['max-age=31536000', null],
      body: ['3000 bytes sha256:31642d65831fe0f88b4e39cff250679336a40c226de80be58fac3cb0a6336f33', null],
      codes: [null, 'BLOB_UNKNOWN'],
    },
    reason:
      'Follows from the single POST: registryd stored the blob (as Quay does, docs/quay-v2-behaviour.md §3.5); Distribution only opened a session, so the blob is unknown there.',
  },
  {
    seq: 'monolithic-post-empty',
    step: 'POST ?digest=<empty> without body',
    category: 'quay-quirk',
    fields: {
      status: ['201', '202'],
      'docker-content-digest': ['sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', null],
      location: ['/v2/ct/monolithic-post-empty/blobs/sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', '/v2/ct/monolithic-post-empty/blobs/uploads/<uuid>'],
      range: [null, '0-0'],
      'docker-upload-uuid': [null, 'present'],
    },
    reason:
      'docs/quay-v2-behaviour.md §3.5: "Empty body with digest=sha256:e3b0c442…b855 creates the empty blob" in one POST; Distribution 2.8 ignores `digest` on POST and opens a session (allowed by OCI 1.1 "Single POST").',
  },
  {
    seq: 'monolithic-post-empty',
    step: 'HEAD empty blob',
    category: 'quay-quirk',
    fields: {
      status: ['200', '404'],
      'docker-content-digest': ['sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', null],
      'content-length': ['0', '(error body)'],
      'content-type': ['application/octet-stream', 'application/json; charset=utf-8'],
      'accept-ranges': ['bytes', null],
      'cache-control': ['max-age=31436000', null],
    },
    reason: 'Follows from the single POST: registryd created the empty blob (docs/quay-v2-behaviour.md §3.5); Distribution did not.',
  },
  {
    seq: 'chunk-gap',
    step: 'PATCH 20-29 (gap)',
    category: 'oracle-deviation',
    fields: { status: ['416', '202'], range: ['0-10', '0-19'] },
    reason:
      'OCI distribution-spec 1.1 "Pushing a blob in chunks": "If a chunk is uploaded out of order, the registry MUST respond with a 416"; registryd does (body-less, with Quay\'s `Range: 0-<byte count>`, docs/quay-v2-behaviour.md §3.7). Distribution 2.8 ignores Content-Range on PATCH (registry/handlers/blobupload.go PatchBlobData: "TODO(dmcgowan): support Content-Range header") and appends every chunk, so it accepts the gapped chunk at offset 10.',
  },
  {
    seq: 'chunk-gap',
    step: 'status after the gapped chunk',
    category: 'oracle-deviation',
    fields: { range: ['bytes=0-10', '0-19'] },
    reason:
      'Distribution 2.8 ignores Content-Range on PATCH (registry/handlers/blobupload.go PatchBlobData: "TODO(dmcgowan): support Content-Range header") and appends every chunk: it now holds 20 bytes; registryd still holds 10 (its Range is Quay\'s `bytes=0-<byte count>`, docs/quay-v2-behaviour.md §3.6).',
  },
  {
    seq: 'chunk-gap',
    step: 'PATCH 10-29',
    category: 'oracle-deviation',
    fields: { range: ['0-29', '0-39'] },
    reason:
      'Distribution 2.8 ignores Content-Range on PATCH (registry/handlers/blobupload.go PatchBlobData: "TODO(dmcgowan): support Content-Range header") and appends every chunk: 20 more bytes make 40 there; registryd holds the 30 bytes in order.',
  },
  {
    seq: 'chunk-gap',
    step: 'PUT ?digest of the 30 bytes in order',
    category: 'oracle-deviation',
    fields: {
      status: ['201', '400'],
      'docker-content-digest': ['sha256:257c50f1733686129cc82a2a4a935f5ca6c2a775063ea69e2567884bc617ee5c', null],
      location: ['/v2/ct/chunk-gap/blobs/sha256:257c50f1733686129cc82a2a4a935f5ca6c2a775063ea69e2567884bc617ee5c', null],
      'content-length': ['0', '(body length)'],
      body: ['(empty)', null],
      codes: [null, 'DIGEST_INVALID'],
      'content-type': [null, 'application/json; charset=utf-8'],
    },
    reason:
      'Distribution 2.8 ignores Content-Range on PATCH (registry/handlers/blobupload.go PatchBlobData: "TODO(dmcgowan): support Content-Range header") and appends every chunk: its 40 bytes do not hash to the digest of the 30 (DIGEST_INVALID); registryd commits the blob.',
  },
  {
    seq: 'chunk-overlap',
    step: 'PATCH 10-29 (overlap)',
    category: 'quay-quirk',
    fields: { range: ['0-29', '0-39'] },
    reason:
      'docs/quay-v2-behaviour.md §3.7 step 3: Quay skips the part of a chunk the upload already has, so registryd ends at 30 bytes (Distribution 2.8 ignores Content-Range on PATCH (registry/handlers/blobupload.go PatchBlobData: "TODO(dmcgowan): support Content-Range header") and appends every chunk, giving 40). Strictly, OCI 1.1 asks for 416 on an out-of-order chunk; neither registry gives one.',
  },
  {
    seq: 'chunk-overlap',
    step: 'status after the overlapping chunk',
    category: 'quay-quirk',
    fields: { range: ['bytes=0-30', '0-39'] },
    reason: "Follows from the overlap skip (docs/quay-v2-behaviour.md §3.7 step 3): 30 bytes on registryd (Quay's `bytes=0-30` form, §3.6) against 40 on Distribution.",
  },
  {
    seq: 'chunk-overlap',
    step: 'PUT ?digest of the 30 bytes in order',
    category: 'quay-quirk',
    fields: {
      status: ['201', '400'],
      'docker-content-digest': ['sha256:4deb0d230ac6b61209e22b63ddef183cda7899ad07b65e532d2c214beeb38c6c', null],
      location: ['/v2/ct/chunk-overlap/blobs/sha256:4deb0d230ac6b61209e22b63ddef183cda7899ad07b65e532d2c214beeb38c6c', null],
      'content-length': ['0', '(body length)'],
      body: ['(empty)', null],
      codes: [null, 'DIGEST_INVALID'],
      'content-type': [null, 'application/json; charset=utf-8'],
    },
    reason: "Follows from the overlap skip (docs/quay-v2-behaviour.md §3.7 step 3): registryd holds the right 30 bytes and commits; Distribution's 40 bytes fail the digest check.",
  },
  {
    seq: 'chunk-bad-range',
    step: 'PATCH Content-Range: bytes 0-9/10',
    category: 'quay-quirk',
    fields: {
      status: ['400', '202'],
      codes: ['INVALID_REQUEST', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      location: [null, '/v2/ct/chunk-bad-range/blobs/uploads/<uuid>'],
      range: [null, '0-9'],
      'docker-upload-uuid': [null, 'present'],
      body: [null, '(empty)'],
    },
    reason:
      'docs/quay-v2-behaviour.md §3.7: a Content-Range not matching `^[0-9]+-[0-9]+$` (the OCI 1.1 form) is 400 INVALID_REQUEST in Quay; Distribution 2.8 ignores Content-Range on PATCH (registry/handlers/blobupload.go PatchBlobData: "TODO(dmcgowan): support Content-Range header") and appends every chunk.',
  },
  {
    seq: 'chunk-bad-range',
    step: 'PATCH Content-Range: abc',
    category: 'quay-quirk',
    fields: {
      status: ['400', '202'],
      codes: ['INVALID_REQUEST', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      location: [null, '/v2/ct/chunk-bad-range/blobs/uploads/<uuid>'],
      range: [null, '0-19'],
      'docker-upload-uuid': [null, 'present'],
      body: [null, '(empty)'],
    },
    reason:
      'docs/quay-v2-behaviour.md §3.7: malformed Content-Range → 400 INVALID_REQUEST; Distribution 2.8 ignores Content-Range on PATCH (registry/handlers/blobupload.go PatchBlobData: "TODO(dmcgowan): support Content-Range header") and appends every chunk.',
  },
  {
    seq: 'chunk-bad-range',
    step: 'PATCH Content-Range: 9-0 (end before start)',
    category: 'quay-quirk',
    fields: {
      status: ['400', '202'],
      codes: ['INVALID_REQUEST', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      location: [null, '/v2/ct/chunk-bad-range/blobs/uploads/<uuid>'],
      range: [null, '0-29'],
      'docker-upload-uuid': [null, 'present'],
      body: [null, '(empty)'],
    },
    reason:
      'docs/quay-v2-behaviour.md §3.7: "length < 0 → 400 INVALID_REQUEST"; Distribution 2.8 ignores Content-Range on PATCH (registry/handlers/blobupload.go PatchBlobData: "TODO(dmcgowan): support Content-Range header") and appends every chunk.',
  },
  {
    seq: 'chunk-bad-range',
    step: 'status after the malformed chunks',
    category: 'quay-quirk',
    fields: { range: ['bytes=0-0', '0-29'] },
    reason: 'Follows from the refused chunks (docs/quay-v2-behaviour.md §3.7): registryd holds nothing (`bytes=0-0`, §3.6), Distribution appended all three (30 bytes).',
  },
  {
    seq: 'patch-content-type',
    step: 'PATCH Content-Type: text/plain',
    category: 'oracle-deviation',
    fields: {
      status: ['202', '500'],
      location: ['/v2/ct/patch-content-type/blobs/uploads/<uuid>', null],
      'content-length': ['0', '(body length)'],
      range: ['0-2', null],
      'docker-upload-uuid': ['present', null],
      body: ['(empty)', null],
      codes: [null, 'UNKNOWN'],
      'content-type': [null, 'application/json; charset=utf-8'],
    },
    reason:
      'Distribution 2.8 answers a PATCH whose Content-Type is not application/octet-stream with 500 UNKNOWN ("bad Content-Type", blobupload.go PatchBlobData); OCI 1.1 names application/octet-stream for chunks but no 5xx. registryd, like Quay (no Content-Type check, docs/quay-v2-behaviour.md §3.7), stores the chunk.',
  },
  {
    seq: 'patch-content-type',
    step: 'status after it',
    category: 'oracle-deviation',
    fields: { range: ['bytes=0-3', '0-0'] },
    reason: 'Follows from the refused PATCH on Distribution: registryd holds 3 bytes (`bytes=0-3`, docs/quay-v2-behaviour.md §3.6), Distribution none.',
  },
  {
    seq: 'upload-cancel',
    step: 'DELETE upload',
    category: 'quay-quirk',
    fields: { 'docker-upload-uuid': [null, 'present'] },
    reason:
      "docs/quay-v2-behaviour.md §3.9: Quay's upload DELETE answers 204 with no headers of note (no Docker-Upload-UUID); Distribution echoes Docker-Upload-UUID. Neither is required by OCI 1.1.",
  },
  {
    seq: 'put-wrong-digest',
    step: 'status after the refused PUT',
    category: 'quay-quirk',
    fields: {
      status: ['404', '204'],
      codes: ['BLOB_UPLOAD_UNKNOWN', null],
      'content-length': ['(body length)', null],
      'content-type': ['application/json', null],
      location: [null, '/v2/ct/put-wrong-digest/blobs/uploads/<uuid>'],
      range: [null, '0-2'],
      'docker-upload-uuid': [null, 'present'],
      body: [null, '(empty)'],
    },
    reason:
      "docs/quay-v2-behaviour.md §3.8 and §5 quirk 2: a final PUT whose digest does not match cancels Quay's upload (file and row deleted), so the session is gone (BLOB_UPLOAD_UNKNOWN); Distribution keeps it open for a retry.",
  },
  {
    seq: 'put-wrong-digest',
    step: 'PUT ?digest=<right digest> after the refused PUT',
    category: 'quay-quirk',
    fields: {
      status: ['404', '201'],
      codes: ['BLOB_UPLOAD_UNKNOWN', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      location: [null, '/v2/ct/put-wrong-digest/blobs/sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      body: [null, '(empty)'],
    },
    reason: "Follows from Quay's cancel-on-mismatch (docs/quay-v2-behaviour.md §3.8): the retry finds no session on registryd; Distribution commits.",
  },
  {
    seq: 'put-bad-digest-param',
    step: 'PUT without digest',
    category: 'quay-quirk',
    fields: { codes: ['BLOB_UPLOAD_INVALID', 'DIGEST_INVALID'] },
    reason:
      'docs/quay-v2-behaviour.md §3.8: a final PUT without `digest` is 400 BLOB_UPLOAD_INVALID (detail "Missing digest arg on monolithic upload") in Quay; Distribution says DIGEST_INVALID.',
  },
  {
    seq: 'put-sha512',
    step: 'PUT ?digest=sha512:<of nothing> without body',
    category: 'deliberate',
    fields: {
      status: ['400', '201'],
      codes: ['DIGEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      location: [null, '/v2/ct/put-sha512/blobs/sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      body: [null, '(empty)'],
    },
    reason:
      'registryd knows sha256 only, like Quay\'s storage layout and imagestorage.content_checksum (registryd/digest.ts; docs/quay-v2-behaviour.md §1.3), and refuses other algorithms with 400 DIGEST_INVALID. Distribution 2.8 verifies a sha512 digest on commit and stores the blob under its sha256 (so DESIGN §7\'s "no sha512" does not hold for uploads).',
  },
  {
    seq: 'put-sha512',
    step: 'POST ?digest=sha512:<of nothing> without body',
    category: 'deliberate',
    fields: {
      status: ['400', '202'],
      codes: ['DIGEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      location: [null, '/v2/ct/put-sha512/blobs/uploads/<uuid>'],
      range: [null, '0-0'],
      'docker-upload-uuid': [null, 'present'],
      body: [null, '(empty)'],
    },
    reason:
      'registryd checks the `digest` of a single POST (sha256 only, registryd/digest.ts) before anything else: 400 DIGEST_INVALID; Distribution 2.8 ignores `digest` on POST and opens a session (OCI 1.1 "Single POST" allows that).',
  },
  {
    seq: 'put-sha512',
    step: 'HEAD the sha256 of nothing',
    category: 'deliberate',
    fields: {
      status: ['404', '200'],
      'content-length': ['(error body)', '0'],
      'content-type': ['application/json', 'application/octet-stream'],
      'docker-content-digest': [null, 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      'accept-ranges': [null, 'bytes'],
      'cache-control': [null, 'max-age=31536000'],
    },
    reason: 'Follows from the sha512 commit: Distribution stored the empty blob, registryd (sha256 only, registryd/digest.ts) did not.',
  },
  {
    seq: 'unknown-upload',
    step: 'GET status',
    category: 'oracle-deviation',
    fields: { codes: ['BLOB_UPLOAD_UNKNOWN', 'BLOB_UPLOAD_INVALID'] },
    reason:
      'Both answer 404; Distribution checks the signed `_state` query before looking the upload up and reports BLOB_UPLOAD_INVALID (registry/handlers/blobupload.go blobUploadDispatcher) for an upload URL it did not hand out; OCI distribution-spec 1.1 code-3 BLOB_UPLOAD_UNKNOWN is the code for an unknown upload, and registryd (like Quay, docs/quay-v2-behaviour.md §3.6–3.9) uses it.',
  },
  {
    seq: 'unknown-upload',
    step: 'PATCH',
    category: 'oracle-deviation',
    fields: { codes: ['BLOB_UPLOAD_UNKNOWN', 'BLOB_UPLOAD_INVALID'] },
    reason:
      'Both answer 404; Distribution checks the signed `_state` query before looking the upload up and reports BLOB_UPLOAD_INVALID (registry/handlers/blobupload.go blobUploadDispatcher) for an upload URL it did not hand out; OCI distribution-spec 1.1 code-3 BLOB_UPLOAD_UNKNOWN is the code for an unknown upload, and registryd (like Quay, docs/quay-v2-behaviour.md §3.6–3.9) uses it.',
  },
  {
    seq: 'unknown-upload',
    step: 'PUT ?digest',
    category: 'oracle-deviation',
    fields: { codes: ['BLOB_UPLOAD_UNKNOWN', 'BLOB_UPLOAD_INVALID'] },
    reason:
      'Both answer 404; Distribution checks the signed `_state` query before looking the upload up and reports BLOB_UPLOAD_INVALID (registry/handlers/blobupload.go blobUploadDispatcher) for an upload URL it did not hand out; OCI distribution-spec 1.1 code-3 BLOB_UPLOAD_UNKNOWN is the code for an unknown upload, and registryd (like Quay, docs/quay-v2-behaviour.md §3.6–3.9) uses it.',
  },
  {
    seq: 'unknown-upload',
    step: 'DELETE',
    category: 'oracle-deviation',
    fields: { codes: ['BLOB_UPLOAD_UNKNOWN', 'BLOB_UPLOAD_INVALID'] },
    reason:
      'Both answer 404; Distribution checks the signed `_state` query before looking the upload up and reports BLOB_UPLOAD_INVALID (registry/handlers/blobupload.go blobUploadDispatcher) for an upload URL it did not hand out; OCI distribution-spec 1.1 code-3 BLOB_UPLOAD_UNKNOWN is the code for an unknown upload, and registryd (like Quay, docs/quay-v2-behaviour.md §3.6–3.9) uses it.',
  },
  {
    seq: 'unknown-upload',
    step: 'GET status, not a uuid',
    category: 'oracle-deviation',
    fields: { codes: ['BLOB_UPLOAD_UNKNOWN', 'BLOB_UPLOAD_INVALID'] },
    reason:
      'Both answer 404; Distribution checks the signed `_state` query before looking the upload up and reports BLOB_UPLOAD_INVALID (registry/handlers/blobupload.go blobUploadDispatcher) for an upload URL it did not hand out; OCI distribution-spec 1.1 code-3 BLOB_UPLOAD_UNKNOWN is the code for an unknown upload, and registryd (like Quay, docs/quay-v2-behaviour.md §3.6–3.9) uses it.',
  },
  {
    seq: 'upload-other-repo',
    step: 'PATCH it under b',
    category: 'oracle-deviation',
    fields: { codes: ['BLOB_UPLOAD_UNKNOWN', 'BLOB_UPLOAD_INVALID'] },
    reason:
      'Both refuse with 404; Distribution reports BLOB_UPLOAD_INVALID (the `_state` names another repository: blobupload.go "mismatched repository name in upload state"); registryd answers OCI 1.1 code-3 BLOB_UPLOAD_UNKNOWN. (registryd deliberately checks the repository, where Quay looks uploads up by uuid only: docs/quay-v2-behaviour.md §3.7, §5 quirk 6.)',
  },
  {
    seq: 'blob-range',
    step: 'Range: bytes=1000-1010 (unsatisfiable)',
    category: 'oracle-deviation',
    fields: {
      'content-length': ['0', '1000'],
      body: ['(empty)', '(connection closed before the 1000 declared bytes)'],
      'docker-content-digest': [null, 'sha256:574270b48a72bf64988fdc8becdf1a5dda1d2bb3e911acbf3a26d4c7a5438a8a'],
      'content-type': [null, 'text/plain; charset=utf-8'],
      'cache-control': [null, 'max-age=31536000'],
    },
    reason:
      'DESIGN §7 (bad Range): Distribution 2.8 (Go http.ServeContent) answers 416 with `Content-Length: <blob size>`, a short text body and then closes the connection — broken framing (RFC 9110 §8.6) — plus blob headers; registryd sends a body-less 416 with `Content-Range: bytes */<size>` (RFC 9110 §15.5.17). Quay ignores Range entirely (docs/quay-v2-behaviour.md §3.3).',
  },
  {
    seq: 'blob-malformed-digest',
    step: 'GET blobs/sha256:xyz',
    category: 'quay-quirk',
    fields: { status: ['405', '400'], codes: ['UNSUPPORTED', 'DIGEST_INVALID'] },
    reason:
      "docs/quay-v2-behaviour.md §1.3 and §5 quirk 11: a malformed digest in a blob GET/HEAD path matches only Quay's `DELETE /<repo>/blobs/<digest>` rule, so Werkzeug answers 405 (registryd: 405 UNSUPPORTED); Distribution says 400 DIGEST_INVALID.",
  },
  {
    seq: 'blob-malformed-digest',
    step: 'HEAD blobs/sha256:xyz',
    category: 'quay-quirk',
    fields: { status: ['405', '400'] },
    reason: 'docs/quay-v2-behaviour.md §1.3 and §5 quirk 11: 405 for a malformed blob digest (only the DELETE rule matches); Distribution 400.',
  },
  {
    seq: 'blob-malformed-digest',
    step: 'GET blobs/notadigest',
    category: 'quay-quirk',
    fields: { status: ['405', '404'], codes: ['UNSUPPORTED', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "docs/quay-v2-behaviour.md §1.3 and §5 quirk 11: a non-digest blob path matches only the DELETE rule → 405 UNSUPPORTED; Distribution's router requires a digest → plain-text 404.",
  },
  {
    seq: 'blob-malformed-digest',
    step: 'GET blobs/sha256:<63 hex>',
    category: 'quay-quirk',
    fields: { status: ['404', '400'], codes: ['BLOB_UNKNOWN', 'DIGEST_INVALID'] },
    reason:
      "Quay's blob GET rule takes any `<algorithm>:<hex>` (digest_tools.DIGEST_PATTERN) and looks it up as a string: a short or otherwise impossible digest names no blob, 404 BLOB_UNKNOWN (registryd the same); Distribution validates it: 400 DIGEST_INVALID.",
  },
  {
    seq: 'blob-malformed-digest',
    step: 'GET blobs/sha256:<64 uppercase hex>',
    category: 'quay-quirk',
    fields: { status: ['404', '400'], codes: ['BLOB_UNKNOWN', 'DIGEST_INVALID'] },
    reason: 'Quay compares digests as strings: upper-case hex names no blob, 404 BLOB_UNKNOWN (registryd the same); Distribution: 400 DIGEST_INVALID.',
  },
  {
    seq: 'blob-malformed-digest',
    step: 'DELETE blobs/sha256:xyz',
    category: 'quay-quirk',
    fields: { status: ['405', '400'], codes: ['UNSUPPORTED', 'DIGEST_INVALID'] },
    reason:
      "Quay's blob DELETE rule takes any digest and always answers 405 UNSUPPORTED (endpoints/v2/blob.py delete_digest; registryd the same); Distribution checks the digest first: 400.",
  },
  {
    seq: 'blob-malformed-digest',
    step: 'POST ?digest=sha256:xyz',
    category: 'quay-quirk',
    fields: {
      status: ['400', '202'],
      codes: ['DIGEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      location: [null, '/v2/ct/blob-malformed-digest/blobs/uploads/<uuid>'],
      range: [null, '0-0'],
      'docker-upload-uuid': [null, 'present'],
      body: [null, '(empty)'],
    },
    reason:
      'registryd, like Quay, completes single-POST uploads (docs/quay-v2-behaviour.md §3.5) and so checks their `digest` (400 DIGEST_INVALID); Distribution 2.8 ignores `digest` on POST and opens a session (OCI 1.1 "Single POST" allows it).',
  },
  {
    seq: 'blob-delete',
    step: 'DELETE blob',
    category: 'quay-quirk',
    fields: { status: ['405', '202'], codes: ['UNSUPPORTED', null], 'content-length': ['(body length)', '0'], 'content-type': ['application/json', null], body: [null, '(empty)'] },
    reason:
      'docs/quay-v2-behaviour.md §3.4: Quay never deletes blobs through /v2 (405 UNSUPPORTED; garbage collection does it). OCI 1.1 end-10 allows 405. Distribution (delete enabled) deletes: 202.',
  },
  {
    seq: 'blob-delete',
    step: 'HEAD after DELETE',
    category: 'quay-quirk',
    fields: {
      status: ['200', '404'],
      'docker-content-digest': ['sha256:9741656873df57e87211ce70dc9a0eafe6aeeef3fc0c96b788ee1664d1d61aa7', null],
      'content-length': ['64', '(error body)'],
      'content-type': ['application/octet-stream', 'application/json; charset=utf-8'],
      'accept-ranges': ['bytes', null],
      'cache-control': ['max-age=31436000', null],
    },
    reason: 'Follows from docs/quay-v2-behaviour.md §3.4: the blob is still there on registryd; Distribution deleted it.',
  },
  {
    seq: 'blob-delete',
    step: 'DELETE unknown blob',
    category: 'quay-quirk',
    fields: { status: ['405', '404'], codes: ['UNSUPPORTED', 'BLOB_UNKNOWN'] },
    reason: 'docs/quay-v2-behaviour.md §3.4: Quay answers every blob DELETE with 405 UNSUPPORTED, known blob or not; Distribution 404 BLOB_UNKNOWN.',
  },
  {
    seq: 'manifest-oci',
    step: 'GET by tag without Accept',
    category: 'deliberate',
    fields: {
      status: ['200', '404'],
      'docker-content-digest': ['sha256:9a24477168139f020c12fd497d034e5cca8efe55f49632096c47518736b7d3ee', null],
      'content-length': ['401', '(body length)'],
      'content-type': ['application/vnd.oci.image.manifest.v1+json', 'application/json; charset=utf-8'],
      body: ['401 bytes sha256:9a24477168139f020c12fd497d034e5cca8efe55f49632096c47518736b7d3ee', null],
      codes: [null, 'MANIFEST_UNKNOWN'],
    },
    reason:
      'registryd serves the stored manifest whatever the Accept header (it converts nothing: no schema 1); Distribution 2.8 refuses an OCI manifest to a client whose Accept lacks the OCI type (404 MANIFEST_UNKNOWN, registry/handlers/manifests.go), and Quay would try a schema 1 conversion (docs/quay-v2-behaviour.md §3.10).',
  },
  {
    seq: 'manifest-oci',
    step: 'GET by digest without Accept',
    category: 'oracle-deviation',
    fields: {
      status: ['200', '404'],
      'docker-content-digest': ['sha256:9a24477168139f020c12fd497d034e5cca8efe55f49632096c47518736b7d3ee', null],
      'content-length': ['401', '(body length)'],
      'content-type': ['application/vnd.oci.image.manifest.v1+json', 'application/json; charset=utf-8'],
      body: ['401 bytes sha256:9a24477168139f020c12fd497d034e5cca8efe55f49632096c47518736b7d3ee', null],
      codes: [null, 'MANIFEST_UNKNOWN'],
    },
    reason:
      'Distribution 2.8 refuses an OCI manifest even by digest when Accept lacks the OCI type (404 MANIFEST_UNKNOWN); OCI 1.1 only says the client SHOULD send Accept, and Quay returns the stored bytes by digest without negotiation (docs/quay-v2-behaviour.md §3.11), as registryd does.',
  },
  {
    seq: 'manifest-by-digest',
    step: 'tags/list',
    category: 'oracle-deviation',
    fields: { status: ['200', '404'], body: ['{"name":"ct/manifest-by-digest","tags":[]}', null], codes: [null, 'NAME_UNKNOWN'] },
    reason:
      'Distribution 2.8 answers tags/list of a repository that has no tags with 404 NAME_UNKNOWN; OCI distribution-spec 1.1 "Listing Tags": "Assuming a repository is found, this request MUST return a 200 OK ... The list of tags MAY be empty"; registryd lists the repository with `tags: []`.',
  },
  {
    seq: 'manifest-refused',
    step: 'PUT unsupported Content-Type',
    category: 'quay-quirk',
    fields: { status: ['415', '400'] },
    reason: 'docs/quay-v2-behaviour.md §3.12: an unknown manifest Content-Type is 415 MANIFEST_INVALID in Quay; Distribution 400 MANIFEST_INVALID.',
  },
  {
    seq: 'manifest-refused',
    step: 'PUT without Content-Type',
    category: 'deliberate',
    fields: {
      status: ['201', '400'],
      'docker-content-digest': ['sha256:9d8e3e0497fbc0edaef9821983f41c50f4de0a12cacf9f90c619ebc9192616cf', null],
      location: ['/v2/ct/manifest-refused/manifests/sha256:9d8e3e0497fbc0edaef9821983f41c50f4de0a12cacf9f90c619ebc9192616cf', null],
      'content-type': ['text/html; charset=utf-8', 'application/json; charset=utf-8'],
      codes: [null, 'MANIFEST_INVALID'],
    },
    reason:
      "registryd takes the media type from the manifest's own `mediaType` when no Content-Type is sent (content/manifest.ts mediaTypeOf), so a well-formed OCI manifest is accepted; Distribution (and Quay, which parses it as schema 1, docs/quay-v2-behaviour.md §3.12) refuse it with MANIFEST_INVALID.",
  },
  {
    seq: 'manifest-refused',
    step: 'PUT schemaVersion 3',
    category: 'oracle-deviation',
    fields: { status: ['400', '500'], codes: ['MANIFEST_INVALID', 'UNKNOWN'] },
    reason:
      'Distribution 2.8 answers a manifest with an unknown schemaVersion with 500 UNKNOWN; the OCI 1.1 error for an invalid manifest is 400 MANIFEST_INVALID (code-7), which registryd (and Quay, docs/quay-v2-behaviour.md §3.12) send.',
  },
  {
    seq: 'manifest-refused',
    step: 'PUT to an invalid tag',
    category: 'deliberate',
    fields: { codes: ['NAME_UNKNOWN', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "`-bad` matches no manifest route (tag grammar), so both answer 404; registryd's 404 for a /v2 path no route matches is a registry error (NAME_UNKNOWN JSON, http/server.ts) so clients always get the /v2 error format; Distribution sends its router's plain-text 404 (Quay a Werkzeug HTML 404, docs/quay-v2-behaviour.md §1.2).",
  },
  {
    seq: 'manifest-refused',
    step: 'tags/list after the PUTs',
    category: 'deliberate',
    fields: { status: ['200', '404'], body: ['{"name":"ct/manifest-refused","tags":["untyped"]}', null], codes: [null, 'NAME_UNKNOWN'] },
    reason:
      'Follows from accepting the manifest PUT without Content-Type (content/manifest.ts mediaTypeOf): registryd has the tag `untyped`; Distribution has no tag (and answers NAME_UNKNOWN for a tagless repository).',
  },
  {
    seq: 'manifest-unknown',
    step: 'GET malformed digest',
    category: 'oracle-deviation',
    fields: { status: ['404', '500'], codes: ['NAME_UNKNOWN', 'UNKNOWN'] },
    reason:
      'DESIGN §7: Distribution 2.8 answers a malformed manifest digest with 500 UNKNOWN. registryd, like Quay, matches no route for `sha256:xyz` (not a digest, not a tag) and answers 404 (docs/quay-v2-behaviour.md §1.3, §5 quirk 11).',
  },
  {
    seq: 'manifest-unknown',
    step: 'GET tag in unknown repository',
    category: 'quay-quirk',
    fields: { codes: ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN'] },
    reason: 'docs/quay-v2-behaviour.md §3.10: a manifest GET in a repository that does not exist is 404 NAME_UNKNOWN in Quay (OCI 1.1 code-9); Distribution says MANIFEST_UNKNOWN.',
  },
  {
    seq: 'manifest-delete',
    step: 'GET by tag after DELETE',
    category: 'quay-quirk',
    fields: { codes: ['TAG_EXPIRED', 'MANIFEST_UNKNOWN'] },
    reason:
      'docs/quay-v2-behaviour.md §3.10: a tag that existed and was deleted (lifetime ended) answers 404 TAG_EXPIRED in Quay ("revive via time machine"); Distribution MANIFEST_UNKNOWN.',
  },
  {
    seq: 'manifest-delete',
    step: 'tags/list after DELETE',
    category: 'oracle-deviation',
    fields: { body: ['{"name":"ct/manifest-delete","tags":[]}', '{"name":"ct/manifest-delete","tags":null}'] },
    reason:
      'Distribution 2.8 lists a repository whose tags are all gone as `"tags": null`; OCI distribution-spec 1.1 "Listing Tags" shows `tags` as a list ("MAY be empty"); registryd sends `[]`.',
  },
  {
    seq: 'manifest-delete',
    step: 'DELETE malformed digest',
    category: 'quay-quirk',
    fields: { status: ['404', '400'], codes: ['NAME_UNKNOWN', 'DIGEST_INVALID'] },
    reason: "docs/quay-v2-behaviour.md §1.3: `sha256:xyz` matches neither the digest nor the tag form of Quay's manifest routes → 404; Distribution 400 DIGEST_INVALID.",
  },
  {
    seq: 'manifest-delete-tag',
    step: 'DELETE by tag a',
    category: 'quay-quirk',
    fields: {
      status: ['202', '400'],
      'content-length': ['0', '(body length)'],
      body: ['(empty)', null],
      codes: [null, 'DIGEST_INVALID'],
      'content-type': [null, 'application/json; charset=utf-8'],
    },
    reason:
      'docs/quay-v2-behaviour.md §3.15: Quay deletes a tag by name (202). DESIGN §7: Distribution 2.8 does not (400 DIGEST_INVALID; OCI 1.1 "Deleting tags" lets a registry that disables tag deletion answer 400 or 405).',
  },
  {
    seq: 'manifest-delete-tag',
    step: 'GET by tag a after DELETE',
    category: 'quay-quirk',
    fields: {
      status: ['404', '200'],
      codes: ['TAG_EXPIRED', null],
      'content-length': ['(body length)', '401'],
      'content-type': ['application/json', 'application/vnd.oci.image.manifest.v1+json'],
      'docker-content-digest': [null, 'sha256:eab0a7d65eaf72b3a527d11270678b5f01b8a5b61e1c66a7c5778d25ece04785'],
      body: [null, '401 bytes sha256:eab0a7d65eaf72b3a527d11270678b5f01b8a5b61e1c66a7c5778d25ece04785'],
    },
    reason: 'Follows from the tag DELETE: registryd deleted the tag and answers TAG_EXPIRED (docs/quay-v2-behaviour.md §3.10); Distribution still has it (200).',
  },
  {
    seq: 'manifest-delete-tag',
    step: 'tags/list after DELETE of a',
    category: 'quay-quirk',
    fields: { body: ['{"name":"ct/manifest-delete-tag","tags":["b"]}', '{"name":"ct/manifest-delete-tag","tags":["a","b"]}'] },
    reason: 'Follows from the tag DELETE (docs/quay-v2-behaviour.md §3.15): tag a is gone on registryd only.',
  },
  {
    seq: 'manifest-delete-tag',
    step: 'DELETE unknown tag',
    category: 'quay-quirk',
    fields: { status: ['404', '400'], codes: ['MANIFEST_UNKNOWN', 'DIGEST_INVALID'] },
    reason:
      'docs/quay-v2-behaviour.md §3.15: deleting a tag that is not alive is 404 MANIFEST_UNKNOWN in Quay; Distribution refuses every DELETE by tag with 400 DIGEST_INVALID (DESIGN §7).',
  },
  {
    seq: 'tags-list',
    step: 'tags/list?n=2',
    category: 'oracle-deviation',
    fields: {
      link: ['</v2/ct/tags-list/tags/list?last=bravo&n=2>; rel="next"', null],
      body: ['{"name":"ct/tags-list","tags":["alpha","bravo"]}', '{"name":"ct/tags-list","tags":["alpha","bravo","charlie","delta","echo"]}'],
    },
    reason:
      'DESIGN §7: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both (and "When n is zero, this endpoint MUST return an empty list").',
  },
  {
    seq: 'tags-list',
    step: 'tags/list?n=2&last=bravo',
    category: 'oracle-deviation',
    fields: {
      link: ['</v2/ct/tags-list/tags/list?last=delta&n=2>; rel="next"', null],
      body: ['{"name":"ct/tags-list","tags":["charlie","delta"]}', '{"name":"ct/tags-list","tags":["alpha","bravo","charlie","delta","echo"]}'],
    },
    reason:
      'DESIGN §7: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both (and "When n is zero, this endpoint MUST return an empty list").',
  },
  {
    seq: 'tags-list',
    step: 'tags/list?last=charlie',
    category: 'oracle-deviation',
    fields: { body: ['{"name":"ct/tags-list","tags":["delta","echo"]}', '{"name":"ct/tags-list","tags":["alpha","bravo","charlie","delta","echo"]}'] },
    reason:
      'DESIGN §7: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both (and "When n is zero, this endpoint MUST return an empty list").',
  },
  {
    seq: 'tags-list',
    step: 'tags/list?n=0',
    category: 'oracle-deviation',
    fields: { body: ['{"name":"ct/tags-list","tags":[]}', '{"name":"ct/tags-list","tags":["alpha","bravo","charlie","delta","echo"]}'] },
    reason:
      'DESIGN §7: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both (and "When n is zero, this endpoint MUST return an empty list").',
  },
  {
    seq: 'tags-list',
    step: 'tags/list?last=zulu',
    category: 'oracle-deviation',
    fields: { body: ['{"name":"ct/tags-list","tags":[]}', '{"name":"ct/tags-list","tags":["alpha","bravo","charlie","delta","echo"]}'] },
    reason:
      'DESIGN §7: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both (and "When n is zero, this endpoint MUST return an empty list").',
  },
  {
    seq: 'referrers',
    step: 'PUT sbom referrer by digest',
    category: 'oracle-deviation',
    fields: { 'oci-subject': ['sha256:a8e9c7aad445d551683a23178211404e9162019a6c15550338c7f6165b932dcd', null] },
    reason:
      'OCI distribution-spec 1.1 "Pushing Manifests with Subject": a registry that supports the referrers API MUST answer `OCI-Subject: <subject digest>`; Distribution 2.8 predates OCI 1.1. (Quay sends no OCI-Subject, docs/quay-v2-behaviour.md §0.2: registryd follows the spec here.)',
  },
  {
    seq: 'referrers',
    step: 'PUT signature referrer by digest',
    category: 'oracle-deviation',
    fields: { 'oci-subject': ['sha256:a8e9c7aad445d551683a23178211404e9162019a6c15550338c7f6165b932dcd', null] },
    reason: 'OCI 1.1 "Pushing Manifests with Subject": MUST answer `OCI-Subject`; Distribution 2.8 predates OCI 1.1 (Quay omits it too, docs/quay-v2-behaviour.md §0.2).',
  },
  {
    seq: 'referrers',
    step: 'GET referrers',
    category: 'oracle-deviation',
    fields: {
      status: ['200', '404'],
      'content-type': ['application/vnd.oci.image.index.v1+json', 'text/plain; charset=utf-8'],
      body: [
        '{"annotations":{"org.example.name":"sig"},"manifests":[{"annotations":{"org.example.name":"sbom"},"artifactType":"application/vnd.example.sbom","digest":"sha256:a3579a9abb0b7b5f50db7f4628f2d9984166f1f9b74f2c44c884274a60e6216c","mediaType":"application/vnd.oci.image.manifest.v1+json","size":615},{"annotations":{"org.example.name":"sig"},"artifactType":"application/vnd.example.signature","digest":"sha256:1752e8aeb2a5c93667e694ebf6c5be8f579d44a8b0bc5793b3177a98af636cb0","mediaType":"application/vnd.oci.image.manifest.v1+json","size":619}],"mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2}',
        null,
      ],
    },
    reason:
      'DESIGN §7: Distribution 2.8 has no referrers API (plain-text 404 "page not found"); OCI distribution-spec 1.1 "Listing Referrers" requires 200 with an image index (registryd\'s carries Quay\'s top-level merge of the referrers\' annotations, checked against Quay in quay-oracle.test.ts).',
  },
  {
    seq: 'referrers',
    step: 'GET referrers?artifactType=sbom',
    category: 'oracle-deviation',
    fields: {
      status: ['200', '404'],
      'content-type': ['application/vnd.oci.image.index.v1+json', 'text/plain; charset=utf-8'],
      'oci-filters-applied': ['artifactType', null],
      body: [
        '{"annotations":{"org.example.name":"sbom"},"manifests":[{"annotations":{"org.example.name":"sbom"},"artifactType":"application/vnd.example.sbom","digest":"sha256:a3579a9abb0b7b5f50db7f4628f2d9984166f1f9b74f2c44c884274a60e6216c","mediaType":"application/vnd.oci.image.manifest.v1+json","size":615}],"mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2}',
        null,
      ],
    },
    reason:
      'DESIGN §7: Distribution 2.8 has no referrers API (plain-text 404 "page not found"); OCI distribution-spec 1.1 "Listing Referrers" requires 200 with an image index, with `OCI-Filters-Applied: artifactType` when filtered.',
  },
  {
    seq: 'referrers',
    step: 'GET referrers of an unknown subject',
    category: 'oracle-deviation',
    fields: {
      status: ['200', '404'],
      'content-type': ['application/vnd.oci.image.index.v1+json', 'text/plain; charset=utf-8'],
      body: ['{"manifests":[],"mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2}', null],
    },
    reason:
      'DESIGN §7: Distribution 2.8 has no referrers API (plain-text 404 "page not found"); OCI distribution-spec 1.1 "Listing Referrers" requires 200 with an image index ("If a query results in no matching referrers, an empty manifest list MUST be returned"; registryd does, where Quay answers 400 MANIFEST_INVALID, docs/quay-v2-behaviour.md §3.18).',
  },
  {
    seq: 'referrers',
    step: 'GET referrers in an unknown repository',
    category: 'oracle-deviation',
    fields: { codes: ['NAME_UNKNOWN', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      'DESIGN §7: Distribution 2.8 has no referrers API (plain-text 404 "page not found"); OCI distribution-spec 1.1 "Listing Referrers" requires 200 with an image index; for a repository that does not exist registryd answers 404 NAME_UNKNOWN (JSON).',
  },
  {
    seq: 'referrers',
    step: 'GET referrers/sha256:xyz',
    category: 'quay-quirk',
    fields: { codes: ['NAME_UNKNOWN', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      'docs/quay-v2-behaviour.md §1.3 and §5 quirk 11: a malformed digest matches no referrers route → 404 (registryd: NAME_UNKNOWN JSON); Distribution has no referrers route at all (plain-text 404). OCI 1.1 would want 400 for an invalid digest.',
  },
  {
    seq: 'invalid-names',
    step: 'POST upload to <ns>/Upper',
    category: 'oracle-deviation',
    fields: { status: ['400', '404'], codes: ['NAME_INVALID', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "Distribution 2.8 routes only names matching its reference grammar, so an invalid name gets its router's plain-text 404, not NAME_INVALID; registryd validates the name and answers 400 NAME_INVALID, the OCI distribution-spec 1.1 error (code-8) for an invalid repository name.",
  },
  {
    seq: 'invalid-names',
    step: 'tags/list of <NS>/lower',
    category: 'oracle-deviation',
    fields: { status: ['400', '404'], codes: ['NAME_INVALID', 'NAME_UNKNOWN'] },
    reason:
      'Distribution 2.8 reads `CT` as a registry host name component (its reference grammar allows upper case there) and answers NAME_UNKNOWN; the OCI 1.1 name grammar is lower case only, and registryd answers 400 NAME_INVALID.',
  },
  {
    seq: 'invalid-names',
    step: 'GET manifest of <ns>/Upper',
    category: 'oracle-deviation',
    fields: { status: ['400', '404'], codes: ['NAME_INVALID', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "Distribution 2.8 routes only names matching its reference grammar, so an invalid name gets its router's plain-text 404, not NAME_INVALID; registryd validates the name and answers 400 NAME_INVALID, the OCI distribution-spec 1.1 error (code-8) for an invalid repository name.",
  },
  {
    seq: 'invalid-names',
    step: 'tags/list of <ns>/-dash',
    category: 'oracle-deviation',
    fields: { status: ['400', '404'], codes: ['NAME_INVALID', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "Distribution 2.8 routes only names matching its reference grammar, so an invalid name gets its router's plain-text 404, not NAME_INVALID; registryd validates the name and answers 400 NAME_INVALID, the OCI distribution-spec 1.1 error (code-8) for an invalid repository name.",
  },
  {
    seq: 'invalid-names',
    step: 'tags/list of <ns>/a..b',
    category: 'quay-quirk',
    fields: { codes: ['NAME_UNKNOWN', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "`a..b` fits Quay's REPOSITORY_NAME_EXTENDED_REGEX (docs/quay-v2-behaviour.md §1.1), so registryd looks it up: 404 NAME_UNKNOWN (JSON); Distribution's router (OCI grammar) matches nothing: plain-text 404.",
  },
  {
    seq: 'single-segment-name',
    step: 'POST upload to onesegment',
    category: 'quay-quirk',
    fields: { location: ['/v2/library/onesegment/blobs/uploads/<uuid>', '/v2/onesegment/blobs/uploads/<uuid>'] },
    reason:
      "docs/quay-v2-behaviour.md §0.1 and §1.1: a one-segment name is in the library namespace and Quay's Locations are built from the parsed name (`/v2/library/onesegment/...`); Distribution keeps `/v2/onesegment/...`.",
  },
  {
    seq: 'single-segment-name',
    step: 'PUT ?digest with body',
    category: 'quay-quirk',
    fields: {
      location: [
        '/v2/library/onesegment/blobs/sha256:947f187506f7629c81c81879a2cb2256455038e4ac770091d897fa0a8b945e3b',
        '/v2/onesegment/blobs/sha256:947f187506f7629c81c81879a2cb2256455038e4ac770091d897fa0a8b945e3b',
      ],
    },
    reason: 'docs/quay-v2-behaviour.md §0.1: the blob Location uses the parsed name `library/onesegment`.',
  },
  {
    seq: 'single-segment-name',
    step: 'tags/list',
    category: 'oracle-deviation',
    fields: { status: ['200', '404'], body: ['{"name":"library/onesegment","tags":[]}', null], codes: [null, 'NAME_UNKNOWN'] },
    reason:
      'Distribution 2.8 answers tags/list of a repository that has no tags with 404 NAME_UNKNOWN; OCI distribution-spec 1.1 "Listing Tags": "Assuming a repository is found, this request MUST return a 200 OK ... The list of tags MAY be empty"; registryd lists `library/onesegment` (docs/quay-v2-behaviour.md §1.1) with no tags.',
  },
  {
    seq: 'slashes',
    step: 'GET tags/list/',
    category: 'quay-quirk',
    fields: {
      status: ['404', '301'],
      codes: ['NAME_UNKNOWN', null],
      'content-type': ['application/json', 'text/html; charset=utf-8'],
      location: [null, '/v2/ct/slashes/tags/list'],
    },
    reason:
      "Werkzeug (Quay) does not redirect a trailing slash away: `tags/list/` matches no rule → 404 (docs/quay-v2-behaviour.md §0.1, §0.3); registryd 404 NAME_UNKNOWN. Distribution's router redirects to the slash-less path (301).",
  },
  {
    seq: 'slashes',
    step: 'GET manifests/v1/',
    category: 'quay-quirk',
    fields: {
      status: ['404', '301'],
      codes: ['NAME_UNKNOWN', null],
      'content-type': ['application/json', 'text/html; charset=utf-8'],
      location: [null, '/v2/ct/slashes/manifests/v1'],
    },
    reason: 'As for `tags/list/`: no Quay rule matches a trailing slash after the tag → 404 (docs/quay-v2-behaviour.md §0.1, §0.3); Distribution redirects (301).',
  },
  {
    seq: 'slashes',
    step: 'GET unknown endpoint',
    category: 'deliberate',
    fields: { codes: ['NAME_UNKNOWN', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "Both answer 404; registryd's 404 for a /v2 path no route matches is a registry error (NAME_UNKNOWN JSON, http/server.ts) so clients always get the /v2 error format; Distribution's is its router's plain text (Quay's a Werkzeug HTML page, docs/quay-v2-behaviour.md §0.3).",
  },
  {
    seq: 'slashes',
    step: 'PATCH /v2/',
    category: 'quay-quirk',
    fields: { status: ['405', '200'], codes: ['UNSUPPORTED', null] },
    reason:
      "docs/quay-v2-behaviour.md §0.3: a method the route does not have is a Werkzeug 405 in Quay (registryd: 405 UNSUPPORTED with Allow); Distribution's base route answers any method with 200.",
  },
  {
    seq: 'unknown-upload',
    step: 'GET status in an unknown repository',
    category: 'quay-quirk',
    fields: { codes: ['NAME_UNKNOWN', 'BLOB_UPLOAD_INVALID'] },
    reason:
      'Quay looks the repository up before the upload and answers 404 NAME_UNKNOWN for a repository that does not exist (docs/quay-v2-behaviour.md §3.6); both answer 404. Distribution checks the signed `_state` first and says BLOB_UPLOAD_INVALID.',
  },
  {
    seq: 'blob-range',
    step: 'Range: bytes=5-2 (end before start)',
    category: 'oracle-deviation',
    fields: {
      status: ['200', '416'],
      'content-type': ['application/octet-stream', 'text/plain; charset=utf-8'],
      'accept-ranges': ['bytes', null],
      body: ['1000 bytes sha256:574270b48a72bf64988fdc8becdf1a5dda1d2bb3e911acbf3a26d4c7a5438a8a', '(connection closed before the 1000 declared bytes)'],
    },
    reason:
      'RFC 9110 §14.2: a syntactically invalid range is ignored, so registryd sends the whole blob (200), as Quay does for every Range (docs/quay-v2-behaviour.md §3.3). Distribution 2.8 answers 416 with `Content-Length: <blob size>`, a short text body and a closed connection (DESIGN §7, broken framing).',
  },
  {
    seq: 'blob-range',
    step: 'Range: bytes=0-1,5-6 (multi-range)',
    category: 'deliberate',
    fields: {
      status: ['200', '206'],
      'content-length': ['1000', '348'],
      'content-type': ['application/octet-stream', 'multipart/byteranges; boundary=<boundary>'],
      body: [
        '1000 bytes sha256:574270b48a72bf64988fdc8becdf1a5dda1d2bb3e911acbf3a26d4c7a5438a8a',
        '198 bytes sha256:ac0d0ea41a276b9f39ea95f5b84bfa9c16e635bc14b92bd147c0e623fcb9e066',
      ],
    },
    reason:
      'registryd serves single ranges only; a multi-range request is ignored and the whole blob sent (200), which RFC 9110 §14.2 allows and Quay does for every Range (docs/quay-v2-behaviour.md §3.3). Distribution answers multipart/byteranges (206); no registry client asks for several ranges.',
  },
  {
    seq: 'blob-range',
    step: 'Range: items=0-1 (other unit)',
    category: 'oracle-deviation',
    fields: {
      status: ['200', '416'],
      'content-type': ['application/octet-stream', 'text/plain; charset=utf-8'],
      'accept-ranges': ['bytes', null],
      body: ['1000 bytes sha256:574270b48a72bf64988fdc8becdf1a5dda1d2bb3e911acbf3a26d4c7a5438a8a', '(connection closed before the 1000 declared bytes)'],
    },
    reason:
      'RFC 9110 §14.2: a server MUST ignore a Range with a unit it does not understand, so registryd sends the whole blob (200). Distribution 2.8 answers 416 with `Content-Length: <blob size>`, a short text body and a closed connection (DESIGN §7).',
  },
  {
    seq: 'manifest-delete',
    step: 'DELETE unknown digest in unknown repository',
    category: 'quay-quirk',
    fields: { codes: ['NAME_UNKNOWN', 'MANIFEST_UNKNOWN'] },
    reason:
      'Quay looks the repository up first: a repository that does not exist is 404 NAME_UNKNOWN (docs/quay-v2-behaviour.md §3.14); both answer 404. Distribution reports MANIFEST_UNKNOWN.',
  },
  {
    seq: 'slashes',
    step: 'GET /v2 (no trailing slash)',
    category: 'quay-quirk',
    fields: { status: ['308', '301'], 'content-length': ['0', '(body length)'], body: ['(empty)', null], 'content-type': [null, 'text/html; charset=utf-8'] },
    reason:
      'Quay (Werkzeug strict slashes and merged `//`) redirects to the canonical path with 308, which keeps the method and body (docs/quay-v2-behaviour.md §0.1); Distribution redirects with 301 (and an HTML body on GET).',
  },
  {
    seq: 'slashes',
    step: 'GET /v2//',
    category: 'quay-quirk',
    fields: { status: ['308', '301'] },
    reason:
      'Quay (Werkzeug strict slashes and merged `//`) redirects to the canonical path with 308, which keeps the method and body (docs/quay-v2-behaviour.md §0.1); Distribution redirects with 301 (and an HTML body on GET).',
  },
  {
    seq: 'slashes',
    step: 'POST blobs/uploads (no trailing slash)',
    category: 'quay-quirk',
    fields: { status: ['308', '301'] },
    reason:
      'Quay (Werkzeug strict slashes and merged `//`) redirects to the canonical path with 308, which keeps the method and body (docs/quay-v2-behaviour.md §0.1); Distribution redirects with 301 (and an HTML body on GET).',
  },
  {
    seq: 'slashes',
    step: 'GET <repo>//tags/list',
    category: 'quay-quirk',
    fields: { status: ['308', '301'] },
    reason:
      'Quay (Werkzeug strict slashes and merged `//`) redirects to the canonical path with 308, which keeps the method and body (docs/quay-v2-behaviour.md §0.1); Distribution redirects with 301 (and an HTML body on GET).',
  },
  {
    seq: 'slashes',
    step: 'GET //v2/<repo>/tags/list',
    category: 'quay-quirk',
    fields: {
      status: ['200', '301'],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      location: [null, '/v2/ct/slashes/tags/list'],
      body: [null, '(empty)'],
    },
    reason:
      'Quay (gunicorn) serves a target that starts with several slashes as if it started with one (checked against Quay in quay-oracle.test.ts; a `//` further on is redirected), so registryd answers the tag list; Distribution redirects with 301.',
  },
  {
    seq: 'put-bad-digest-param',
    step: 'status after PUT with malformed digest',
    category: 'quay-quirk',
    fields: {
      status: ['404', '204'],
      codes: ['BLOB_UPLOAD_UNKNOWN', null],
      'content-length': ['(body length)', null],
      'content-type': ['application/json', null],
      location: [null, '/v2/ct/put-bad-digest-param/blobs/uploads/<uuid>'],
      range: [null, '0-2'],
      'docker-upload-uuid': [null, 'present'],
      body: [null, '(empty)'],
    },
    reason:
      'docs/quay-v2-behaviour.md \u00a73.8 and \u00a75 quirk 2: Quay reads a malformed digest on the final PUT as a mismatch and cancels the upload (its complete_when_uploaded), so the session is gone (BLOB_UPLOAD_UNKNOWN); Distribution keeps it open for a retry.',
  },
  {
    seq: 'put-bad-digest-param',
    step: 'PUT ?digest=<right digest>',
    category: 'quay-quirk',
    fields: {
      status: ['404', '201'],
      codes: ['BLOB_UPLOAD_UNKNOWN', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      location: [null, '/v2/ct/put-bad-digest-param/blobs/sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
      body: [null, '(empty)'],
    },
    reason:
      'Follows from the cancelled upload (docs/quay-v2-behaviour.md \u00a73.8): the retry with the right digest finds no session on registryd, as on Quay; Distribution commits the blob.',
  },
  {
    seq: 'digest-algorithms',
    step: 'DELETE blob by sha512',
    category: 'quay-quirk',
    fields: { status: ['405', '404'], codes: ['UNSUPPORTED', 'BLOB_UNKNOWN'] },
    reason:
      'docs/quay-v2-behaviour.md \u00a73.4: Quay answers every blob DELETE with 405 UNSUPPORTED (blobs are garbage-collected), whatever the digest; Distribution looks the digest up (404 BLOB_UNKNOWN, or 400 DIGEST_INVALID for one it cannot parse).',
  },
  {
    seq: 'digest-algorithms',
    step: 'GET referrers of sha512',
    category: 'quay-quirk',
    fields: { status: ['400', '404'], codes: ['MANIFEST_INVALID', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "docs/quay-v2-behaviour.md \u00a71.3, \u00a73.18: Quay's referrers route takes any `<algorithm>:<hex>` and answers a subject it does not hold (never one of another algorithm or case) with 400 MANIFEST_INVALID; Distribution 2.8 has no referrers API (plain-text 404).",
  },
  {
    seq: 'digest-algorithms',
    step: 'DELETE blob by sha384',
    category: 'quay-quirk',
    fields: { status: ['405', '404'], codes: ['UNSUPPORTED', 'BLOB_UNKNOWN'] },
    reason:
      'docs/quay-v2-behaviour.md \u00a73.4: Quay answers every blob DELETE with 405 UNSUPPORTED (blobs are garbage-collected), whatever the digest; Distribution looks the digest up (404 BLOB_UNKNOWN, or 400 DIGEST_INVALID for one it cannot parse).',
  },
  {
    seq: 'digest-algorithms',
    step: 'GET referrers of sha384',
    category: 'quay-quirk',
    fields: { status: ['400', '404'], codes: ['MANIFEST_INVALID', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "docs/quay-v2-behaviour.md \u00a71.3, \u00a73.18: Quay's referrers route takes any `<algorithm>:<hex>` and answers a subject it does not hold (never one of another algorithm or case) with 400 MANIFEST_INVALID; Distribution 2.8 has no referrers API (plain-text 404).",
  },
  {
    seq: 'digest-algorithms',
    step: 'GET blob by md5',
    category: 'quay-quirk',
    fields: { status: ['404', '400'], codes: ['BLOB_UNKNOWN', 'DIGEST_INVALID'] },
    reason:
      'docs/quay-v2-behaviour.md \u00a71.3: Quay looks any `<algorithm>:<hex>` up as a string, so another algorithm or upper-case hex names no blob or manifest (404 BLOB_UNKNOWN / MANIFEST_UNKNOWN); Distribution refuses what it cannot verify (400 DIGEST_INVALID).',
  },
  {
    seq: 'digest-algorithms',
    step: 'HEAD blob by md5',
    category: 'quay-quirk',
    fields: { status: ['404', '400'] },
    reason:
      'docs/quay-v2-behaviour.md \u00a71.3: Quay looks any `<algorithm>:<hex>` up as a string, so another algorithm or upper-case hex names no blob or manifest (404 BLOB_UNKNOWN / MANIFEST_UNKNOWN); Distribution refuses what it cannot verify (400 DIGEST_INVALID).',
  },
  {
    seq: 'digest-algorithms',
    step: 'DELETE blob by md5',
    category: 'quay-quirk',
    fields: { status: ['405', '400'], codes: ['UNSUPPORTED', 'DIGEST_INVALID'] },
    reason:
      'docs/quay-v2-behaviour.md \u00a73.4: Quay answers every blob DELETE with 405 UNSUPPORTED (blobs are garbage-collected), whatever the digest; Distribution looks the digest up (404 BLOB_UNKNOWN, or 400 DIGEST_INVALID for one it cannot parse).',
  },
  {
    seq: 'digest-algorithms',
    step: 'GET manifest by md5',
    category: 'oracle-deviation',
    fields: { status: ['404', '500'], codes: ['MANIFEST_UNKNOWN', 'UNKNOWN'] },
    reason:
      'DESIGN \u00a77: Distribution 2.8 answers a manifest digest it cannot parse (an unknown algorithm, upper-case hex) with 500 UNKNOWN; registryd, as Quay, compares the digest as a string and finds nothing (404 MANIFEST_UNKNOWN, docs/quay-v2-behaviour.md \u00a71.3).',
  },
  {
    seq: 'digest-algorithms',
    step: 'HEAD manifest by md5',
    category: 'oracle-deviation',
    fields: { status: ['404', '500'] },
    reason:
      'DESIGN \u00a77: Distribution 2.8 answers a manifest digest it cannot parse (an unknown algorithm, upper-case hex) with 500 UNKNOWN; registryd, as Quay, compares the digest as a string and finds nothing (404 MANIFEST_UNKNOWN, docs/quay-v2-behaviour.md \u00a71.3).',
  },
  {
    seq: 'digest-algorithms',
    step: 'DELETE manifest by md5',
    category: 'quay-quirk',
    fields: { status: ['404', '400'], codes: ['MANIFEST_UNKNOWN', 'DIGEST_INVALID'] },
    reason:
      'docs/quay-v2-behaviour.md \u00a71.3: Quay looks any `<algorithm>:<hex>` up as a string, so another algorithm or upper-case hex names no blob or manifest (404 BLOB_UNKNOWN / MANIFEST_UNKNOWN); Distribution refuses what it cannot verify (400 DIGEST_INVALID).',
  },
  {
    seq: 'digest-algorithms',
    step: 'GET referrers of md5',
    category: 'quay-quirk',
    fields: { status: ['400', '404'], codes: ['MANIFEST_INVALID', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "docs/quay-v2-behaviour.md \u00a71.3, \u00a73.18: Quay's referrers route takes any `<algorithm>:<hex>` and answers a subject it does not hold (never one of another algorithm or case) with 400 MANIFEST_INVALID; Distribution 2.8 has no referrers API (plain-text 404).",
  },
  {
    seq: 'digest-algorithms',
    step: 'GET blob by upper-case hex of the blob',
    category: 'quay-quirk',
    fields: { status: ['404', '400'], codes: ['BLOB_UNKNOWN', 'DIGEST_INVALID'] },
    reason:
      'docs/quay-v2-behaviour.md \u00a71.3: Quay looks any `<algorithm>:<hex>` up as a string, so another algorithm or upper-case hex names no blob or manifest (404 BLOB_UNKNOWN / MANIFEST_UNKNOWN); Distribution refuses what it cannot verify (400 DIGEST_INVALID).',
  },
  {
    seq: 'digest-algorithms',
    step: 'HEAD blob by upper-case hex of the blob',
    category: 'quay-quirk',
    fields: { status: ['404', '400'] },
    reason:
      'docs/quay-v2-behaviour.md \u00a71.3: Quay looks any `<algorithm>:<hex>` up as a string, so another algorithm or upper-case hex names no blob or manifest (404 BLOB_UNKNOWN / MANIFEST_UNKNOWN); Distribution refuses what it cannot verify (400 DIGEST_INVALID).',
  },
  {
    seq: 'digest-algorithms',
    step: 'DELETE blob by upper-case hex of the blob',
    category: 'quay-quirk',
    fields: { status: ['405', '400'], codes: ['UNSUPPORTED', 'DIGEST_INVALID'] },
    reason:
      'docs/quay-v2-behaviour.md \u00a73.4: Quay answers every blob DELETE with 405 UNSUPPORTED (blobs are garbage-collected), whatever the digest; Distribution looks the digest up (404 BLOB_UNKNOWN, or 400 DIGEST_INVALID for one it cannot parse).',
  },
  {
    seq: 'digest-algorithms',
    step: 'GET manifest by upper-case hex of the blob',
    category: 'oracle-deviation',
    fields: { status: ['404', '500'], codes: ['MANIFEST_UNKNOWN', 'UNKNOWN'] },
    reason:
      'DESIGN \u00a77: Distribution 2.8 answers a manifest digest it cannot parse (an unknown algorithm, upper-case hex) with 500 UNKNOWN; registryd, as Quay, compares the digest as a string and finds nothing (404 MANIFEST_UNKNOWN, docs/quay-v2-behaviour.md \u00a71.3).',
  },
  {
    seq: 'digest-algorithms',
    step: 'HEAD manifest by upper-case hex of the blob',
    category: 'oracle-deviation',
    fields: { status: ['404', '500'] },
    reason:
      'DESIGN \u00a77: Distribution 2.8 answers a manifest digest it cannot parse (an unknown algorithm, upper-case hex) with 500 UNKNOWN; registryd, as Quay, compares the digest as a string and finds nothing (404 MANIFEST_UNKNOWN, docs/quay-v2-behaviour.md \u00a71.3).',
  },
  {
    seq: 'digest-algorithms',
    step: 'DELETE manifest by upper-case hex of the blob',
    category: 'quay-quirk',
    fields: { status: ['404', '400'], codes: ['MANIFEST_UNKNOWN', 'DIGEST_INVALID'] },
    reason:
      'docs/quay-v2-behaviour.md \u00a71.3: Quay looks any `<algorithm>:<hex>` up as a string, so another algorithm or upper-case hex names no blob or manifest (404 BLOB_UNKNOWN / MANIFEST_UNKNOWN); Distribution refuses what it cannot verify (400 DIGEST_INVALID).',
  },
  {
    seq: 'digest-algorithms',
    step: 'GET referrers of upper-case hex of the blob',
    category: 'quay-quirk',
    fields: { status: ['400', '404'], codes: ['MANIFEST_INVALID', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "docs/quay-v2-behaviour.md \u00a71.3, \u00a73.18: Quay's referrers route takes any `<algorithm>:<hex>` and answers a subject it does not hold (never one of another algorithm or case) with 400 MANIFEST_INVALID; Distribution 2.8 has no referrers API (plain-text 404).",
  },
  {
    seq: 'digest-algorithms',
    step: 'GET blob by upper-case algorithm',
    category: 'quay-quirk',
    fields: { codes: ['BLOB_UNKNOWN', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "docs/quay-v2-behaviour.md \u00a71.3: Quay's digest routes take any `[A-Za-z0-9_+.-]+:<hex>`, so `SHA256:<hex>` is a digest that names nothing (404 in the OCI envelope, 405 for a blob DELETE); Distribution's router does not match it (plain-text 404).",
  },
  {
    seq: 'digest-algorithms',
    step: 'HEAD blob by upper-case algorithm',
    category: 'quay-quirk',
    fields: { 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "docs/quay-v2-behaviour.md \u00a71.3: Quay's digest routes take any `[A-Za-z0-9_+.-]+:<hex>`, so `SHA256:<hex>` is a digest that names nothing (404 in the OCI envelope, 405 for a blob DELETE); Distribution's router does not match it (plain-text 404).",
  },
  {
    seq: 'digest-algorithms',
    step: 'DELETE blob by upper-case algorithm',
    category: 'quay-quirk',
    fields: { status: ['405', '404'], codes: ['UNSUPPORTED', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      'docs/quay-v2-behaviour.md \u00a73.4: Quay answers every blob DELETE with 405 UNSUPPORTED (blobs are garbage-collected), whatever the digest; Distribution looks the digest up (404 BLOB_UNKNOWN, or 400 DIGEST_INVALID for one it cannot parse).',
  },
  {
    seq: 'digest-algorithms',
    step: 'GET manifest by upper-case algorithm',
    category: 'quay-quirk',
    fields: { codes: ['MANIFEST_UNKNOWN', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "docs/quay-v2-behaviour.md \u00a71.3: Quay's digest routes take any `[A-Za-z0-9_+.-]+:<hex>`, so `SHA256:<hex>` is a digest that names nothing (404 in the OCI envelope, 405 for a blob DELETE); Distribution's router does not match it (plain-text 404).",
  },
  {
    seq: 'digest-algorithms',
    step: 'HEAD manifest by upper-case algorithm',
    category: 'quay-quirk',
    fields: { 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "docs/quay-v2-behaviour.md \u00a71.3: Quay's digest routes take any `[A-Za-z0-9_+.-]+:<hex>`, so `SHA256:<hex>` is a digest that names nothing (404 in the OCI envelope, 405 for a blob DELETE); Distribution's router does not match it (plain-text 404).",
  },
  {
    seq: 'digest-algorithms',
    step: 'DELETE manifest by upper-case algorithm',
    category: 'quay-quirk',
    fields: { codes: ['MANIFEST_UNKNOWN', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "docs/quay-v2-behaviour.md \u00a71.3: Quay's digest routes take any `[A-Za-z0-9_+.-]+:<hex>`, so `SHA256:<hex>` is a digest that names nothing (404 in the OCI envelope, 405 for a blob DELETE); Distribution's router does not match it (plain-text 404).",
  },
  {
    seq: 'digest-algorithms',
    step: 'GET referrers of upper-case algorithm',
    category: 'quay-quirk',
    fields: { status: ['400', '404'], codes: ['MANIFEST_INVALID', null], 'content-type': ['application/json', 'text/plain; charset=utf-8'] },
    reason:
      "docs/quay-v2-behaviour.md \u00a71.3, \u00a73.18: Quay's referrers route takes any `<algorithm>:<hex>` and answers a subject it does not hold (never one of another algorithm or case) with 400 MANIFEST_INVALID; Distribution 2.8 has no referrers API (plain-text 404).",
  },
  {
    seq: 'digest-algorithms',
    step: 'POST ?digest=sha384 with a body',
    category: 'quay-quirk',
    fields: {
      status: ['400', '202'],
      codes: ['DIGEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      location: [null, '/v2/ct/digest-algorithms/blobs/uploads/<uuid>'],
      range: [null, '0-0'],
      'docker-upload-uuid': [null, 'present'],
      body: [null, '(empty)'],
    },
    reason:
      "docs/quay-v2-behaviour.md \u00a73.5, \u00a71.3: registryd, as Quay, completes a single POST ?digest= and refuses a digest other than the content's sha256 (DIGEST_INVALID, registryd/README.md); Distribution 2.8 ignores `digest` on POST and opens a session (202).",
  },
  {
    seq: 'digest-algorithms',
    step: 'PUT ?digest=sha384 of nothing',
    category: 'quay-quirk',
    fields: {
      status: ['400', '201'],
      codes: ['DIGEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      location: [null, '/v2/ct/digest-algorithms/blobs/sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
      body: [null, '(empty)'],
    },
    reason:
      'docs/quay-v2-behaviour.md \u00a71.3: Quay stores sha256 only, so a commit under a sha384 digest never matches (registryd: DIGEST_INVALID, registryd/README.md); Distribution verifies the sha384 and stores the blob under its sha256.',
  },
  {
    seq: 'manifest-invalid',
    step: 'schema 2 with an OCI config type',
    category: 'quay-quirk',
    fields: {
      status: ['400', '201'],
      codes: ['MANIFEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:38276f584e3cc3adc5f6e9f129f29180a2d5d6bbf8d03cab2c26b791c5a2d8e8'],
      location: [null, '/v2/ct/manifest-invalid/manifests/sha256:38276f584e3cc3adc5f6e9f129f29180a2d5d6bbf8d03cab2c26b791c5a2d8e8'],
      body: [null, '(empty)'],
    },
    reason:
      "docs/quay-v2-behaviour.md \u00a73.12: the manifest does not fit Quay's schema for its type (a schema 2 config must be a Docker image config with a history and rootfs, layers Docker layer types, sizes not negative; an OCI manifest needs config and layers, an index manifests with sizes, a platform architecture and os; a schema 2 list names schema 2 manifests, each with a platform), so registryd refuses it as Quay does (400, or 415 for the media type); Distribution 2.8 stores it.",
  },
  {
    seq: 'manifest-invalid',
    step: 'schema 2 with a negative layer size',
    category: 'quay-quirk',
    fields: {
      status: ['400', '201'],
      codes: ['MANIFEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:48c014cb9d474049123f8e56c04411eef25962716f014a4901182dc4b55ce842'],
      location: [null, '/v2/ct/manifest-invalid/manifests/sha256:48c014cb9d474049123f8e56c04411eef25962716f014a4901182dc4b55ce842'],
      body: [null, '(empty)'],
    },
    reason:
      "docs/quay-v2-behaviour.md \u00a73.12: the manifest does not fit Quay's schema for its type (a schema 2 config must be a Docker image config with a history and rootfs, layers Docker layer types, sizes not negative; an OCI manifest needs config and layers, an index manifests with sizes, a platform architecture and os; a schema 2 list names schema 2 manifests, each with a platform), so registryd refuses it as Quay does (400, or 415 for the media type); Distribution 2.8 stores it.",
  },
  {
    seq: 'manifest-invalid',
    step: 'OCI manifest without config',
    category: 'quay-quirk',
    fields: { codes: ['MANIFEST_INVALID', 'DIGEST_INVALID,MANIFEST_BLOB_UNKNOWN'] },
    reason:
      "docs/quay-v2-behaviour.md \u00a73.12: an OCI manifest without `config` does not fit Quay's schema (400 MANIFEST_INVALID); Distribution reports the missing config blob (DIGEST_INVALID, MANIFEST_BLOB_UNKNOWN).",
  },
  {
    seq: 'manifest-invalid',
    step: 'OCI manifest without layers',
    category: 'quay-quirk',
    fields: {
      status: ['400', '201'],
      codes: ['MANIFEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:ac1c3daaac095f4a2614a899b0b03828e7cf5fa321dc620d58735c648e85c5dc'],
      location: [null, '/v2/ct/manifest-invalid/manifests/sha256:ac1c3daaac095f4a2614a899b0b03828e7cf5fa321dc620d58735c648e85c5dc'],
      body: [null, '(empty)'],
    },
    reason:
      "docs/quay-v2-behaviour.md \u00a73.12: the manifest does not fit Quay's schema for its type (a schema 2 config must be a Docker image config with a history and rootfs, layers Docker layer types, sizes not negative; an OCI manifest needs config and layers, an index manifests with sizes, a platform architecture and os; a schema 2 list names schema 2 manifests, each with a platform), so registryd refuses it as Quay does (400, or 415 for the media type); Distribution 2.8 stores it.",
  },
  {
    seq: 'manifest-invalid',
    step: 'OCI manifest with the wrong size of a blob',
    category: 'deliberate',
    fields: {
      status: ['400', '201'],
      codes: ['MANIFEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:309ab69f80ddddacb4b437d60d0d2431d29cd145ab4eb7fdb7bd789cfbbecdcc'],
      location: [null, '/v2/ct/manifest-invalid/manifests/sha256:309ab69f80ddddacb4b437d60d0d2431d29cd145ab4eb7fdb7bd789cfbbecdcc'],
      body: [null, '(empty)'],
    },
    reason:
      'registryd/README.md "Deliberate differences": every declared layer size must equal the blob\'s (400 MANIFEST_INVALID) so what is recorded and served matches the blobs; Distribution (and Quay) store the manifest.',
  },
  {
    seq: 'manifest-invalid',
    step: 'schema 2 whose config has no history',
    category: 'quay-quirk',
    fields: {
      status: ['400', '201'],
      codes: ['MANIFEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:1c80cd61cc527e1ddedb4e79d6cc25b453990a6c3200dc26aa7b66858701bea8'],
      location: [null, '/v2/ct/manifest-invalid/manifests/sha256:1c80cd61cc527e1ddedb4e79d6cc25b453990a6c3200dc26aa7b66858701bea8'],
      body: [null, '(empty)'],
    },
    reason:
      "docs/quay-v2-behaviour.md \u00a73.12: the manifest does not fit Quay's schema for its type (a schema 2 config must be a Docker image config with a history and rootfs, layers Docker layer types, sizes not negative; an OCI manifest needs config and layers, an index manifests with sizes, a platform architecture and os; a schema 2 list names schema 2 manifests, each with a platform), so registryd refuses it as Quay does (400, or 415 for the media type); Distribution 2.8 stores it.",
  },
  {
    seq: 'manifest-invalid',
    step: 'schema 2 with an OCI layer type',
    category: 'quay-quirk',
    fields: {
      status: ['400', '201'],
      codes: ['MANIFEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:1c80cd61cc527e1ddedb4e79d6cc25b453990a6c3200dc26aa7b66858701bea8'],
      location: [null, '/v2/ct/manifest-invalid/manifests/sha256:1c80cd61cc527e1ddedb4e79d6cc25b453990a6c3200dc26aa7b66858701bea8'],
      body: [null, '(empty)'],
    },
    reason:
      "docs/quay-v2-behaviour.md \u00a73.12: the manifest does not fit Quay's schema for its type (a schema 2 config must be a Docker image config with a history and rootfs, layers Docker layer types, sizes not negative; an OCI manifest needs config and layers, an index manifests with sizes, a platform architecture and os; a schema 2 list names schema 2 manifests, each with a platform), so registryd refuses it as Quay does (400, or 415 for the media type); Distribution 2.8 stores it.",
  },
  {
    seq: 'manifest-invalid',
    step: 'OCI manifest with a malformed layer digest',
    category: 'oracle-deviation',
    fields: { status: ['400', '500'], codes: ['MANIFEST_INVALID', 'UNKNOWN,MANIFEST_BLOB_UNKNOWN'] },
    reason:
      'DESIGN \u00a77: Distribution 2.8 answers a layer digest it cannot parse with 500; registryd refuses the manifest with 400 MANIFEST_INVALID, as Quay does (docs/quay-v2-behaviour.md \u00a73.12: layer digests must parse).',
  },
  {
    seq: 'manifest-invalid',
    step: 'OCI index without manifests',
    category: 'quay-quirk',
    fields: {
      status: ['400', '201'],
      codes: ['MANIFEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:d3e326ca75320da61d7a0abbbb4c24ac2719a2f2fea6029d645ef7a607027c58'],
      location: [null, '/v2/ct/manifest-invalid/manifests/sha256:d3e326ca75320da61d7a0abbbb4c24ac2719a2f2fea6029d645ef7a607027c58'],
      body: [null, '(empty)'],
    },
    reason:
      "docs/quay-v2-behaviour.md \u00a73.12: the manifest does not fit Quay's schema for its type (a schema 2 config must be a Docker image config with a history and rootfs, layers Docker layer types, sizes not negative; an OCI manifest needs config and layers, an index manifests with sizes, a platform architecture and os; a schema 2 list names schema 2 manifests, each with a platform), so registryd refuses it as Quay does (400, or 415 for the media type); Distribution 2.8 stores it.",
  },
  {
    seq: 'manifest-invalid',
    step: 'OCI index entry without size',
    category: 'quay-quirk',
    fields: {
      status: ['400', '201'],
      codes: ['MANIFEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:f7943a956494ea59d3bb6294ebe8dec6faee3ae74d08296e96503f41f5002dd8'],
      location: [null, '/v2/ct/manifest-invalid/manifests/sha256:f7943a956494ea59d3bb6294ebe8dec6faee3ae74d08296e96503f41f5002dd8'],
      body: [null, '(empty)'],
    },
    reason:
      "docs/quay-v2-behaviour.md \u00a73.12: the manifest does not fit Quay's schema for its type (a schema 2 config must be a Docker image config with a history and rootfs, layers Docker layer types, sizes not negative; an OCI manifest needs config and layers, an index manifests with sizes, a platform architecture and os; a schema 2 list names schema 2 manifests, each with a platform), so registryd refuses it as Quay does (400, or 415 for the media type); Distribution 2.8 stores it.",
  },
  {
    seq: 'manifest-invalid',
    step: 'OCI index entry with a platform without os',
    category: 'quay-quirk',
    fields: {
      status: ['400', '201'],
      codes: ['MANIFEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:b569e996a0157b7d151832f938b0dccf3617855b4d9e52dccc5d0c414fcdea44'],
      location: [null, '/v2/ct/manifest-invalid/manifests/sha256:b569e996a0157b7d151832f938b0dccf3617855b4d9e52dccc5d0c414fcdea44'],
      body: [null, '(empty)'],
    },
    reason:
      "docs/quay-v2-behaviour.md \u00a73.12: the manifest does not fit Quay's schema for its type (a schema 2 config must be a Docker image config with a history and rootfs, layers Docker layer types, sizes not negative; an OCI manifest needs config and layers, an index manifests with sizes, a platform architecture and os; a schema 2 list names schema 2 manifests, each with a platform), so registryd refuses it as Quay does (400, or 415 for the media type); Distribution 2.8 stores it.",
  },
  {
    seq: 'manifest-invalid',
    step: 'OCI index entry with the wrong size',
    category: 'quay-quirk',
    fields: {
      status: ['400', '201'],
      codes: ['MANIFEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:067cff77940f27844d4094b3f82d30d1c7bca21bcf5228897988bddf34f8c7c3'],
      location: [null, '/v2/ct/manifest-invalid/manifests/sha256:067cff77940f27844d4094b3f82d30d1c7bca21bcf5228897988bddf34f8c7c3'],
      body: [null, '(empty)'],
    },
    reason:
      "docs/quay-v2-behaviour.md \u00a73.12: the manifest does not fit Quay's schema for its type (a schema 2 config must be a Docker image config with a history and rootfs, layers Docker layer types, sizes not negative; an OCI manifest needs config and layers, an index manifests with sizes, a platform architecture and os; a schema 2 list names schema 2 manifests, each with a platform), so registryd refuses it as Quay does (400, or 415 for the media type); Distribution 2.8 stores it.",
  },
  {
    seq: 'manifest-invalid',
    step: 'schema 2 list entry without platform',
    category: 'quay-quirk',
    fields: {
      status: ['400', '201'],
      codes: ['MANIFEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:7d3456ff581495e15094e3d49ebffd6846fd3e2597752b13e8ecfebaab6591de'],
      location: [null, '/v2/ct/manifest-invalid/manifests/sha256:7d3456ff581495e15094e3d49ebffd6846fd3e2597752b13e8ecfebaab6591de'],
      body: [null, '(empty)'],
    },
    reason:
      "docs/quay-v2-behaviour.md \u00a73.12: the manifest does not fit Quay's schema for its type (a schema 2 config must be a Docker image config with a history and rootfs, layers Docker layer types, sizes not negative; an OCI manifest needs config and layers, an index manifests with sizes, a platform architecture and os; a schema 2 list names schema 2 manifests, each with a platform), so registryd refuses it as Quay does (400, or 415 for the media type); Distribution 2.8 stores it.",
  },
  {
    seq: 'manifest-invalid',
    step: 'schema 2 list of an OCI child',
    category: 'quay-quirk',
    fields: {
      status: ['400', '201'],
      codes: ['MANIFEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:3ae7ce668adf7ddf72600aa15fbbdaa3c7314f6fbaa0ace7940c077d669e6f10'],
      location: [null, '/v2/ct/manifest-invalid/manifests/sha256:3ae7ce668adf7ddf72600aa15fbbdaa3c7314f6fbaa0ace7940c077d669e6f10'],
      body: [null, '(empty)'],
    },
    reason:
      "docs/quay-v2-behaviour.md \u00a73.12: the manifest does not fit Quay's schema for its type (a schema 2 config must be a Docker image config with a history and rootfs, layers Docker layer types, sizes not negative; an OCI manifest needs config and layers, an index manifests with sizes, a platform architecture and os; a schema 2 list names schema 2 manifests, each with a platform), so registryd refuses it as Quay does (400, or 415 for the media type); Distribution 2.8 stores it.",
  },
  {
    seq: 'manifest-invalid',
    step: 'content type with a charset parameter',
    category: 'quay-quirk',
    fields: {
      status: ['415', '201'],
      codes: ['MANIFEST_INVALID', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', null],
      'docker-content-digest': [null, 'sha256:7120fe998548e41021580c2c4b0819522b68f5df292c4ac7700b3f59434123a2'],
      location: [null, '/v2/ct/manifest-invalid/manifests/sha256:7120fe998548e41021580c2c4b0819522b68f5df292c4ac7700b3f59434123a2'],
      body: [null, '(empty)'],
    },
    reason:
      'docs/quay-v2-behaviour.md \u00a73.12 and \u00a75 quirk 10: Quay compares the manifest Content-Type as a whole string, so one with a parameter is an unsupported type (415 MANIFEST_INVALID); Distribution reads the media type without parameters.',
  },
  {
    seq: 'manifest-invalid',
    step: 'application/json content type',
    category: 'deliberate',
    fields: {
      status: ['201', '400'],
      'docker-content-digest': ['sha256:7120fe998548e41021580c2c4b0819522b68f5df292c4ac7700b3f59434123a2', null],
      location: ['/v2/ct/manifest-invalid/manifests/sha256:7120fe998548e41021580c2c4b0819522b68f5df292c4ac7700b3f59434123a2', null],
      'content-type': ['text/html; charset=utf-8', 'application/json; charset=utf-8'],
      codes: [null, 'MANIFEST_INVALID'],
    },
    reason:
      "registryd takes the media type from the manifest's own `mediaType` when the Content-Type is plain `application/json` (content/manifest.ts mediaTypeOf) and stores the OCI manifest; Distribution (and Quay, which parses it as schema 1) refuse it.",
  },
  {
    seq: 'manifest-invalid',
    step: 'tags/list afterwards',
    category: 'quay-quirk',
    fields: {
      body: [
        '{"name":"ct/manifest-invalid","tags":["OCI-index-without-platform-allowed-","application-json-content-type"]}',
        '{"name":"ct/manifest-invalid","tags":["OCI-index-entry-with-a-platform-without-os","OCI-index-entry-with-the-wrong-size","OCI-index-entry-without-size","OCI-index-without-manifests","OCI-index-without-platform-allowed-","OCI-manifest-with-the-wrong-size-of-a-blob","OCI-manifest-without-layers","content-type-with-a-charset-parameter","schema-2-list-entry-without-platform","schema-2-list-of-an-OCI-child","schema-2-whose-config-has-no-history","schema-2-with-a-negative-layer-size","schema-2-with-an-OCI-config-type","schema-2-with-an-OCI-layer-type"]}',
      ],
    },
    reason:
      "Follows from the PUTs above: registryd refuses what Quay's schemas refuse (docs/quay-v2-behaviour.md \u00a73.12) and the wrong layer size (registryd/README.md), and accepts the `application/json` one; Distribution accepts most of them.",
  },
  {
    seq: 'tags-pages',
    step: 'tags/list?n=3, page 1',
    category: 'oracle-deviation',
    fields: {
      link: ['</v2/ct/tags-pages/tags/list?last=c&n=3>; rel="next"', null],
      body: ['{"name":"ct/tags-pages","tags":["a","b","c"]}', '{"name":"ct/tags-pages","tags":["a","b","c","d","e","f","g"]}'],
    },
    reason:
      'DESIGN \u00a77: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both; registryd pages as Quay does (docs/quay-v2-behaviour.md \u00a73.16: `n` read as Python int(), a negative one an empty page, `last` stripped of spaces, Link only when a page follows).',
  },
  {
    seq: 'tags-pages',
    step: 'tags/list?n=3, page 2',
    category: 'oracle-deviation',
    fields: {
      status: ['200', '(step not run)'],
      'content-length': ['(body length)', null],
      'content-type': ['application/json', null],
      link: ['</v2/ct/tags-pages/tags/list?last=f&n=3>; rel="next"', null],
      body: ['{"name":"ct/tags-pages","tags":["d","e","f"]}', null],
    },
    reason:
      'DESIGN \u00a77: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both; registryd pages as Quay does (docs/quay-v2-behaviour.md \u00a73.16: `n` read as Python int(), a negative one an empty page, `last` stripped of spaces, Link only when a page follows).',
  },
  {
    seq: 'tags-pages',
    step: 'tags/list?n=3, page 3',
    category: 'oracle-deviation',
    fields: {
      status: ['200', '(step not run)'],
      'content-length': ['(body length)', null],
      'content-type': ['application/json', null],
      body: ['{"name":"ct/tags-pages","tags":["g"]}', null],
    },
    reason:
      'DESIGN \u00a77: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both; registryd pages as Quay does (docs/quay-v2-behaviour.md \u00a73.16: `n` read as Python int(), a negative one an empty page, `last` stripped of spaces, Link only when a page follows).',
  },
  {
    seq: 'tags-pages',
    step: 'tags/list?n=1, page 1',
    category: 'oracle-deviation',
    fields: {
      link: ['</v2/ct/tags-pages/tags/list?last=a&n=1>; rel="next"', null],
      body: ['{"name":"ct/tags-pages","tags":["a"]}', '{"name":"ct/tags-pages","tags":["a","b","c","d","e","f","g"]}'],
    },
    reason:
      'DESIGN \u00a77: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both; registryd pages as Quay does (docs/quay-v2-behaviour.md \u00a73.16: `n` read as Python int(), a negative one an empty page, `last` stripped of spaces, Link only when a page follows).',
  },
  {
    seq: 'tags-pages',
    step: 'tags/list?n=1, page 2',
    category: 'oracle-deviation',
    fields: {
      status: ['200', '(step not run)'],
      'content-length': ['(body length)', null],
      'content-type': ['application/json', null],
      link: ['</v2/ct/tags-pages/tags/list?last=b&n=1>; rel="next"', null],
      body: ['{"name":"ct/tags-pages","tags":["b"]}', null],
    },
    reason:
      'DESIGN \u00a77: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both; registryd pages as Quay does (docs/quay-v2-behaviour.md \u00a73.16: `n` read as Python int(), a negative one an empty page, `last` stripped of spaces, Link only when a page follows).',
  },
  {
    seq: 'tags-pages',
    step: 'tags/list?n=1, page 3',
    category: 'oracle-deviation',
    fields: {
      status: ['200', '(step not run)'],
      'content-length': ['(body length)', null],
      'content-type': ['application/json', null],
      link: ['</v2/ct/tags-pages/tags/list?last=c&n=1>; rel="next"', null],
      body: ['{"name":"ct/tags-pages","tags":["c"]}', null],
    },
    reason:
      'DESIGN \u00a77: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both; registryd pages as Quay does (docs/quay-v2-behaviour.md \u00a73.16: `n` read as Python int(), a negative one an empty page, `last` stripped of spaces, Link only when a page follows).',
  },
  {
    seq: 'tags-pages',
    step: 'tags/list?n=1, page 4',
    category: 'oracle-deviation',
    fields: {
      status: ['200', '(step not run)'],
      'content-length': ['(body length)', null],
      'content-type': ['application/json', null],
      link: ['</v2/ct/tags-pages/tags/list?last=d&n=1>; rel="next"', null],
      body: ['{"name":"ct/tags-pages","tags":["d"]}', null],
    },
    reason:
      'DESIGN \u00a77: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both; registryd pages as Quay does (docs/quay-v2-behaviour.md \u00a73.16: `n` read as Python int(), a negative one an empty page, `last` stripped of spaces, Link only when a page follows).',
  },
  {
    seq: 'tags-pages',
    step: 'tags/list?n=1, page 5',
    category: 'oracle-deviation',
    fields: {
      status: ['200', '(step not run)'],
      'content-length': ['(body length)', null],
      'content-type': ['application/json', null],
      link: ['</v2/ct/tags-pages/tags/list?last=e&n=1>; rel="next"', null],
      body: ['{"name":"ct/tags-pages","tags":["e"]}', null],
    },
    reason:
      'DESIGN \u00a77: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both; registryd pages as Quay does (docs/quay-v2-behaviour.md \u00a73.16: `n` read as Python int(), a negative one an empty page, `last` stripped of spaces, Link only when a page follows).',
  },
  {
    seq: 'tags-pages',
    step: 'tags/list?n=1, page 6',
    category: 'oracle-deviation',
    fields: {
      status: ['200', '(step not run)'],
      'content-length': ['(body length)', null],
      'content-type': ['application/json', null],
      link: ['</v2/ct/tags-pages/tags/list?last=f&n=1>; rel="next"', null],
      body: ['{"name":"ct/tags-pages","tags":["f"]}', null],
    },
    reason:
      'DESIGN \u00a77: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both; registryd pages as Quay does (docs/quay-v2-behaviour.md \u00a73.16: `n` read as Python int(), a negative one an empty page, `last` stripped of spaces, Link only when a page follows).',
  },
  {
    seq: 'tags-pages',
    step: 'tags/list?n=1, page 7',
    category: 'oracle-deviation',
    fields: {
      status: ['200', '(step not run)'],
      'content-length': ['(body length)', null],
      'content-type': ['application/json', null],
      body: ['{"name":"ct/tags-pages","tags":["g"]}', null],
    },
    reason:
      'DESIGN \u00a77: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both; registryd pages as Quay does (docs/quay-v2-behaviour.md \u00a73.16: `n` read as Python int(), a negative one an empty page, `last` stripped of spaces, Link only when a page follows).',
  },
  {
    seq: 'tags-pages',
    step: 'tags/list?n=-1',
    category: 'oracle-deviation',
    fields: { body: ['{"name":"ct/tags-pages","tags":[]}', '{"name":"ct/tags-pages","tags":["a","b","c","d","e","f","g"]}'] },
    reason:
      'DESIGN \u00a77: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both; registryd pages as Quay does (docs/quay-v2-behaviour.md \u00a73.16: `n` read as Python int(), a negative one an empty page, `last` stripped of spaces, Link only when a page follows).',
  },
  {
    seq: 'tags-pages',
    step: 'tags/list?n=2&last=%20b (space before)',
    category: 'oracle-deviation',
    fields: {
      link: ['</v2/ct/tags-pages/tags/list?last=d&n=2>; rel="next"', null],
      body: ['{"name":"ct/tags-pages","tags":["c","d"]}', '{"name":"ct/tags-pages","tags":["a","b","c","d","e","f","g"]}'],
    },
    reason:
      'DESIGN \u00a77: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both; registryd pages as Quay does (docs/quay-v2-behaviour.md \u00a73.16: `n` read as Python int(), a negative one an empty page, `last` stripped of spaces, Link only when a page follows).',
  },
  {
    seq: 'tags-pages',
    step: 'tags/list?n=2&last= (empty)',
    category: 'oracle-deviation',
    fields: {
      link: ['</v2/ct/tags-pages/tags/list?last=b&n=2>; rel="next"', null],
      body: ['{"name":"ct/tags-pages","tags":["a","b"]}', '{"name":"ct/tags-pages","tags":["a","b","c","d","e","f","g"]}'],
    },
    reason:
      'DESIGN \u00a77: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both; registryd pages as Quay does (docs/quay-v2-behaviour.md \u00a73.16: `n` read as Python int(), a negative one an empty page, `last` stripped of spaces, Link only when a page follows).',
  },
  {
    seq: 'tags-pages',
    step: 'tags/list?n=3&n=1 (twice)',
    category: 'oracle-deviation',
    fields: {
      link: ['</v2/ct/tags-pages/tags/list?last=c&n=3>; rel="next"', null],
      body: ['{"name":"ct/tags-pages","tags":["a","b","c"]}', '{"name":"ct/tags-pages","tags":["a","b","c","d","e","f","g"]}'],
    },
    reason:
      'DESIGN \u00a77: Distribution 2.8 tags/list ignores `n` and `last` (always the whole list, no Link); OCI distribution-spec 1.1 "Listing Tags" defines both; registryd pages as Quay does (docs/quay-v2-behaviour.md \u00a73.16: `n` read as Python int(), a negative one an empty page, `last` stripped of spaces, Link only when a page follows).',
  },
  {
    seq: 'catalog-pages',
    step: '_catalog?n=-1',
    category: 'quay-quirk',
    fields: { body: ['{"repositories":[]}', '{"repositories":["cat/five","cat/four","cat/one","cat/three","cat/two"]}'] },
    reason:
      "registryd reads a negative `n` as an empty page (as its tag lists, docs/quay-v2-behaviour.md \u00a73.16); Distribution 2.8 ignores it and lists the whole catalog. (Quay's catalog clamps `n` to at least 1: see expectations-quay.ts.)",
  },
];
