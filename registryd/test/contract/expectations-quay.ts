/**
 * Every known difference between the TS runtime (`quay serve`) and real
 * Python Quay in the contract sequences, both serving one database and one
 * storage (quay-tier.ts). Quay's behaviour is the specification, so a
 * difference is one of two things:
 *
 *   deliberate   the TS side answers otherwise on purpose; the reason says
 *                why a Quay client cannot tell or is better off;
 *   bug          a TS defect, described after `bug: ` — listed so the
 *                contract documents it; when it is fixed the entry goes
 *                stale and the test asks for it to be removed.
 *
 * Fields are [ts, quay]; null = absent. RULES recur wherever a kind of
 * response occurs; EXPECTED lists, per run id and step, exactly the fields
 * that differ. quay-oracle.test.ts prints unlisted differences in this format.
 */
import { exactly, type RuleExpectation, type StepExpectation } from './lib.js';

const JSON_CT = 'application/json';
const FLASK_CT = 'text/html; charset=utf-8';

export const QUAY_RULES: readonly RuleExpectation[] = [
  {
    rule: 'no Content-Type without content',
    field: 'content-type',
    test: exactly(null, FLASK_CT),
    category: 'deliberate',
    reason:
      'Flask gives every response its default `text/html; charset=utf-8`, a body-less 201/202/204 too (docs/quay-v2-behaviour.md §0.2); ' +
      'the TS side sends no Content-Type where there is no content (RFC 9110 §8.3: it describes the content). No client reads it on an empty answer.',
  },
  {
    rule: 'Accept-Ranges on blob reads',
    field: 'accept-ranges',
    test: exactly('bytes', null),
    category: 'deliberate',
    reason:
      'registryd/README.md "Deliberate differences": the TS side serves one `bytes=` range of a blob (206) and says so; ' +
      'Quay ignores Range with LocalStorage and sends no Accept-Ranges.',
  },
  {
    rule: 'Location on an upload status',
    field: 'location',
    status: '204',
    test: (ts, quay) => quay === null && ts !== null && /^\/v2\/.+\/blobs\/uploads\/<uuid>$/.test(ts),
    category: 'deliberate',
    reason:
      'OCI distribution-spec 1.1 "Pushing a blob in chunks": the 204 of an upload status names the upload\'s Location; Quay\'s ' +
      'fetch_existing_upload sends Range and Docker-Upload-UUID only. An extra header no Quay client is hurt by.',
  },
  {
    rule: 'DIGEST_INVALID for a digest that does not match the content',
    field: 'codes',
    status: '400',
    test: (ts, quay) => ts === 'DIGEST_INVALID' && (quay === 'BLOB_UPLOAD_INVALID' || quay === 'MANIFEST_INVALID'),
    category: 'deliberate',
    reason:
      'registryd/README.md "Deliberate differences": a blob or manifest whose content does not have the digest given (or names one ' +
      'that is malformed or of another algorithm) is 400 DIGEST_INVALID, the OCI code clients test for; Quay says BLOB_UPLOAD_INVALID ' +
      '(uploads) or MANIFEST_INVALID (manifests). Same status.',
  },
  {
    rule: 'MANIFEST_BLOB_UNKNOWN for a missing blob or child',
    field: 'codes',
    status: '400',
    test: exactly('MANIFEST_BLOB_UNKNOWN', 'MANIFEST_INVALID'),
    category: 'deliberate',
    reason:
      'registryd/README.md "Deliberate differences": a manifest naming a blob or child manifest the repository does not hold is ' +
      '400 MANIFEST_BLOB_UNKNOWN with the digest in detail (the OCI code); Quay says MANIFEST_INVALID. Same status.',
  },
  {
    rule: 'JSON errors where no /v2 rule matches (404)',
    field: 'codes',
    status: '404',
    test: exactly('NAME_UNKNOWN', null),
    category: 'deliberate',
    reason:
      'A /v2 path no route matches (a malformed digest, a trailing slash, an unknown endpoint): both answer 404; the TS side in the ' +
      "OCI error envelope (NAME_UNKNOWN, http/server.ts) so /v2 clients always get one format, Quay with Werkzeug's HTML page.",
  },
  {
    rule: 'JSON Content-Type where no /v2 rule matches (404)',
    field: 'content-type',
    status: '404',
    test: exactly(JSON_CT, FLASK_CT),
    category: 'deliberate',
    reason: "As for the code: the TS side's 404 for a path no route matches is a JSON error envelope, Quay's a Werkzeug HTML page.",
  },
  {
    rule: 'JSON errors for a method a /v2 path does not have (405)',
    field: 'codes',
    status: '405',
    test: exactly('UNSUPPORTED', null),
    category: 'deliberate',
    reason:
      "A method the path has no rule for (GET of blobs/sha256:xyz, whose only rule is Quay's blob DELETE; PATCH /v2/): both answer " +
      "405 with Allow; the TS side in the OCI envelope (UNSUPPORTED), Quay with Werkzeug's HTML page.",
  },
  {
    rule: 'JSON Content-Type for a method a /v2 path does not have (405)',
    field: 'content-type',
    status: '405',
    test: exactly(JSON_CT, FLASK_CT),
    category: 'deliberate',
    reason: "As for the code: the TS side's 405 is a JSON error envelope, Quay's a Werkzeug HTML page.",
  },
  {
    rule: 'redirects without a page',
    field: 'content-length',
    status: '308',
    test: exactly('0', '(body length)'),
    category: 'deliberate',
    reason:
      'Both redirect a missing trailing slash or a doubled slash with 308 and the same Location; Werkzeug adds a small HTML ' +
      '"Redirecting..." page, the TS side sends none. Clients follow the Location.',
  },
  {
    rule: 'redirects without a page (body)',
    field: 'body',
    status: '308',
    test: exactly('(empty)', null),
    category: 'deliberate',
    reason: 'Both redirect with 308 and the same Location; Werkzeug adds an HTML page, the TS side sends no body.',
  },
];

export const QUAY_EXPECTED: readonly StepExpectation[] = [
  {
    seq: 'upload-other-repo',
    step: 'PATCH it under b',
    category: 'deliberate',
    fields: {
      status: ['404', '202'],
      codes: ['BLOB_UPLOAD_UNKNOWN', null],
      'content-length': ['(body length)', '0'],
      'content-type': ['application/json', 'text/html; charset=utf-8'],
      location: [null, '/v2/<ns>/upload-other-repo-b/blobs/uploads/<uuid>'],
      range: [null, '0-2'],
      'docker-upload-uuid': [null, 'present'],
      body: [null, '(empty)'],
    },
    reason:
      'registryd/README.md "Deliberate differences": an upload uuid is looked up together with the repository in the path, so another repository\'s session cannot be written into (404 BLOB_UPLOAD_UNKNOWN); Quay looks uploads up by uuid alone and takes the chunk.',
  },
  {
    seq: 'upload-other-repo',
    step: 'status under a',
    category: 'deliberate',
    fields: { range: ['bytes=0-0', 'bytes=0-3'] },
    reason:
      "Follows from refusing the PATCH under the other repository (registryd/README.md): the upload under `a` still holds nothing (`bytes=0-0`); Quay wrote the 3 bytes into it through `b`'s path.",
  },
  {
    seq: 'blob-range',
    step: 'Range: bytes=0-9',
    category: 'deliberate',
    fields: {
      status: ['206', '200'],
      'content-length': ['10', '1000'],
      'content-range': ['bytes 0-9/1000', null],
      body: [
        '10 bytes sha256:490afe6d32f70de825c6eccaaa733735c12f09a7eb0bf05a01257e550cd4f8c9',
        '1000 bytes sha256:574270b48a72bf64988fdc8becdf1a5dda1d2bb3e911acbf3a26d4c7a5438a8a',
      ],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS side serves one `bytes=` range of a blob (206 with Content-Range, a body-less 416 outside the blob); Quay ignores Range on LocalStorage and sends the whole blob (200). OCI allows both.',
  },
  {
    seq: 'blob-range',
    step: 'Range: bytes=990-2000 (end past the size)',
    category: 'deliberate',
    fields: {
      status: ['206', '200'],
      'content-length': ['10', '1000'],
      'content-range': ['bytes 990-999/1000', null],
      body: [
        '10 bytes sha256:9d7642fcac18d4521bb7d28ac8442816501a1e1836067a66c7b31232690ee58a',
        '1000 bytes sha256:574270b48a72bf64988fdc8becdf1a5dda1d2bb3e911acbf3a26d4c7a5438a8a',
      ],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS side serves one `bytes=` range of a blob (206 with Content-Range, a body-less 416 outside the blob); Quay ignores Range on LocalStorage and sends the whole blob (200). OCI allows both.',
  },
  {
    seq: 'blob-range',
    step: 'Range: bytes=-10 (suffix)',
    category: 'deliberate',
    fields: {
      status: ['206', '200'],
      'content-length': ['10', '1000'],
      'content-range': ['bytes 990-999/1000', null],
      body: [
        '10 bytes sha256:9d7642fcac18d4521bb7d28ac8442816501a1e1836067a66c7b31232690ee58a',
        '1000 bytes sha256:574270b48a72bf64988fdc8becdf1a5dda1d2bb3e911acbf3a26d4c7a5438a8a',
      ],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS side serves one `bytes=` range of a blob (206 with Content-Range, a body-less 416 outside the blob); Quay ignores Range on LocalStorage and sends the whole blob (200). OCI allows both.',
  },
  {
    seq: 'blob-range',
    step: 'Range: bytes=995- (open-ended)',
    category: 'deliberate',
    fields: {
      status: ['206', '200'],
      'content-length': ['5', '1000'],
      'content-range': ['bytes 995-999/1000', null],
      body: [
        '5 bytes sha256:03bcfdf60ce7fe18b5c716b496b6e084d45de3f5920d128ce76c9eee613439de',
        '1000 bytes sha256:574270b48a72bf64988fdc8becdf1a5dda1d2bb3e911acbf3a26d4c7a5438a8a',
      ],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS side serves one `bytes=` range of a blob (206 with Content-Range, a body-less 416 outside the blob); Quay ignores Range on LocalStorage and sends the whole blob (200). OCI allows both.',
  },
  {
    seq: 'blob-range',
    step: 'Range: bytes=1000-1010 (unsatisfiable)',
    category: 'deliberate',
    fields: {
      status: ['416', '200'],
      'content-length': ['0', '1000'],
      'content-range': ['bytes */1000', null],
      body: ['(empty)', '1000 bytes sha256:574270b48a72bf64988fdc8becdf1a5dda1d2bb3e911acbf3a26d4c7a5438a8a'],
      'docker-content-digest': [null, 'sha256:574270b48a72bf64988fdc8becdf1a5dda1d2bb3e911acbf3a26d4c7a5438a8a'],
      'content-type': [null, 'application/octet-stream'],
      'cache-control': [null, 'max-age=31536000'],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS side serves one `bytes=` range of a blob (206 with Content-Range, a body-less 416 outside the blob); Quay ignores Range on LocalStorage and sends the whole blob (200). OCI allows both.',
  },
  {
    seq: 'blob-range',
    step: 'HEAD with Range: bytes=0-9',
    category: 'deliberate',
    fields: { status: ['206', '200'], 'content-length': ['10', '1000'], 'content-range': ['bytes 0-9/1000', null] },
    reason:
      'registryd/README.md "Deliberate differences": the TS side serves one `bytes=` range of a blob (206 with Content-Range, a body-less 416 outside the blob); Quay ignores Range on LocalStorage and sends the whole blob (200). OCI allows both.',
  },
  {
    seq: 'manifest-oci',
    step: 'GET by tag without Accept',
    category: 'deliberate',
    fields: {
      'docker-content-digest': [
        'sha256:9a24477168139f020c12fd497d034e5cca8efe55f49632096c47518736b7d3ee',
        'sha256:926bc1390860723989ff5e50b7a089b620640cb446f968428eb60f5d2f92d06e',
      ],
      'content-length': ['401', '507'],
      'content-type': ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+json'],
      body: [
        '401 bytes sha256:9a24477168139f020c12fd497d034e5cca8efe55f49632096c47518736b7d3ee',
        '507 bytes sha256:926bc1390860723989ff5e50b7a089b620640cb446f968428eb60f5d2f92d06e',
      ],
    },
    reason:
      'registryd/README.md "Deliberate differences": schema 1 is not offered, so the stored OCI manifest is served whatever the Accept; Quay converts to a (signed) schema 1 manifest for a client whose Accept lacks the stored type. V2_PULL is not claimed for this (registryd/capabilities.ts).',
  },
  {
    seq: 'manifest-refused',
    step: 'PUT without Content-Type',
    category: 'deliberate',
    fields: {
      status: ['201', '400'],
      'docker-content-digest': ['sha256:9d8e3e0497fbc0edaef9821983f41c50f4de0a12cacf9f90c619ebc9192616cf', null],
      location: ['/v2/<ns>/manifest-refused/manifests/sha256:9d8e3e0497fbc0edaef9821983f41c50f4de0a12cacf9f90c619ebc9192616cf', null],
      'content-type': ['text/html; charset=utf-8', 'application/json'],
      codes: [null, 'MANIFEST_INVALID'],
    },
    reason:
      "registryd/test/contract/expectations.ts (same step against Distribution): without a Content-Type (or with `application/json`) the TS side takes the media type from the manifest's own `mediaType` and stores a well-formed OCI manifest; Quay parses such a body as schema 1 and refuses it (400 MANIFEST_INVALID).",
  },
  {
    seq: 'manifest-refused',
    step: 'tags/list after the PUTs',
    category: 'deliberate',
    fields: { body: ['{"name":"<ns>/manifest-refused","tags":["untyped"]}', '{"name":"<ns>/manifest-refused","tags":[]}'] },
    reason: 'Follows from accepting the manifest pushed without a specific Content-Type (the tag exists on the TS side only).',
  },
  {
    seq: 'catalog',
    step: '_catalog',
    category: 'deliberate',
    fields: { body: ['{"repositories":["<ns>/alpha","<ns>/bravo","<ns>/charlie","<ns>/delta"]}', '{"repositories":["<ns>/delta","<ns>/alpha","<ns>/charlie","<ns>/bravo"]}'] },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog',
    step: '_catalog?n=2',
    category: 'deliberate',
    fields: {
      link: ['</v2/_catalog?last=<ns>/bravo&n=2>; rel="next"', '</v2/_catalog?n=2&next_page=<page token>>; rel="next"'],
      body: ['{"repositories":["<ns>/alpha","<ns>/bravo"]}', '{"repositories":["<ns>/delta","<ns>/alpha"]}'],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog',
    step: '_catalog?n=2&last=<ns>/bravo',
    category: 'deliberate',
    fields: {
      body: ['{"repositories":["<ns>/charlie","<ns>/delta"]}', '{"repositories":["<ns>/delta","<ns>/alpha"]}'],
      link: [null, '</v2/_catalog?n=2&next_page=<page token>>; rel="next"'],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog',
    step: '_catalog?last=<ns>/charlie',
    category: 'deliberate',
    fields: { body: ['{"repositories":["<ns>/delta"]}', '{"repositories":["<ns>/delta","<ns>/alpha","<ns>/charlie","<ns>/bravo"]}'] },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog',
    step: '_catalog?n=0',
    category: 'deliberate',
    fields: { body: ['{"repositories":[]}', '{"repositories":["<ns>/delta"]}'], link: [null, '</v2/_catalog?n=1&next_page=<page token>>; rel="next"'] },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog',
    step: '_catalog?n=4 (exactly all)',
    category: 'deliberate',
    fields: { body: ['{"repositories":["<ns>/alpha","<ns>/bravo","<ns>/charlie","<ns>/delta"]}', '{"repositories":["<ns>/delta","<ns>/alpha","<ns>/charlie","<ns>/bravo"]}'] },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog',
    step: '_catalog?n=abc',
    category: 'deliberate',
    fields: {
      body: ['{"repositories":["<ns>/alpha","<ns>/bravo","<ns>/charlie","<ns>/delta"]}', '{"repositories":["<ns>/delta"]}'],
      link: [null, '</v2/_catalog?n=1&next_page=<page token>>; rel="next"'],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'referrers',
    step: 'PUT sbom referrer by digest',
    category: 'deliberate',
    fields: { 'oci-subject': ['sha256:a8e9c7aad445d551683a23178211404e9162019a6c15550338c7f6165b932dcd', null] },
    reason:
      'registryd/README.md "Deliberate differences": OCI 1.1 "Pushing Manifests with Subject" \u2014 the TS side answers `OCI-Subject` so clients skip the tag-schema fallback; Quay sends none.',
  },
  {
    seq: 'referrers',
    step: 'PUT signature referrer by digest',
    category: 'deliberate',
    fields: { 'oci-subject': ['sha256:a8e9c7aad445d551683a23178211404e9162019a6c15550338c7f6165b932dcd', null] },
    reason:
      'registryd/README.md "Deliberate differences": OCI 1.1 "Pushing Manifests with Subject" \u2014 the TS side answers `OCI-Subject` so clients skip the tag-schema fallback; Quay sends none.',
  },
  {
    seq: 'referrers',
    step: 'GET referrers of an unknown subject',
    category: 'deliberate',
    fields: {
      status: ['200', '400'],
      'content-type': ['application/vnd.oci.image.index.v1+json', 'application/json'],
      body: ['{"manifests":[],"mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2}', null],
      codes: [null, 'MANIFEST_INVALID'],
    },
    reason: 'registryd/README.md "Deliberate differences": OCI 1.1 "Listing Referrers" \u2014 an unknown subject has an empty index (200); Quay answers 400 MANIFEST_INVALID.',
  },
  {
    seq: 'error-bodies',
    step: 'PUT manifest with unknown blobs',
    category: 'deliberate',
    fields: {
      body: [
        '{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","detail":{"digest":"sha256:8ad2e3a7209f33e0e28195f6b13722055e0650555ba2c1074e7d9f6a6a0b6d05"},"message":"manifest blob unknown to registry"}]}',
        '{"errors":[{"code":"MANIFEST_INVALID","detail":{"message":"Unknown blob `sha256:8ad2e3a7209f33e0e28195f6b13722055e0650555ba2c1074e7d9f6a6a0b6d05`"},"message":"manifest invalid"}]}',
      ],
    },
    reason:
      'registryd/README.md "Deliberate differences": a manifest naming a blob the repository does not hold is 400 MANIFEST_BLOB_UNKNOWN with the digest in detail; Quay says MANIFEST_INVALID with the message `Unknown blob <digest>`.',
  },
  {
    seq: 'error-bodies',
    step: 'PUT manifest that is not JSON',
    category: 'deliberate',
    fields: {
      body: [
        '{"errors":[{"code":"MANIFEST_INVALID","detail":{"message":"manifest is not JSON: Unexpected token \'o\', \\"not json\\" is not valid JSON"},"message":"manifest invalid"}]}',
        '{"errors":[{"code":"MANIFEST_INVALID","detail":{"message":"failed to parse manifest: malformed manifest data: Expecting value: line 1 column 1 (char 0)"},"message":"manifest invalid"}]}',
      ],
    },
    reason:
      "Both 400 MANIFEST_INVALID with the parse error in detail.message; the text is each JSON parser's own (JavaScript's against Python's `Expecting value: line 1 column 1 (char 0)`) behind a different prefix. Prose, not contract.",
  },
  {
    seq: 'error-bodies',
    step: 'POST ?digest= with the wrong digest',
    category: 'deliberate',
    fields: {
      body: [
        '{"errors":[{"code":"DIGEST_INVALID","detail":{"digest":"sha256:d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa"},"message":"provided digest did not match uploaded content"}]}',
        '{"errors":[{"code":"BLOB_UPLOAD_INVALID","detail":{},"message":"blob upload invalid"}]}',
      ],
    },
    reason:
      'registryd/README.md "Deliberate differences": a digest mismatch on upload is DIGEST_INVALID with the digest in detail; Quay says BLOB_UPLOAD_INVALID with an empty detail.',
  },
  {
    seq: 'manifest-invalid',
    step: 'OCI manifest with the wrong size of a blob',
    category: 'deliberate',
    fields: {
      status: ['400', '201'],
      codes: ['MANIFEST_INVALID', null],
      'content-type': ['application/json', 'text/html; charset=utf-8'],
      'docker-content-digest': [null, 'sha256:309ab69f80ddddacb4b437d60d0d2431d29cd145ab4eb7fdb7bd789cfbbecdcc'],
      location: [null, '/v2/<ns>/manifest-invalid/manifests/sha256:309ab69f80ddddacb4b437d60d0d2431d29cd145ab4eb7fdb7bd789cfbbecdcc'],
    },
    reason:
      'registryd/README.md "Deliberate differences": every declared layer size must equal the blob\'s (400 MANIFEST_INVALID `Size of layer \u2026`) so what is recorded and served matches the blobs; Quay does not compare layer sizes and stores the manifest.',
  },
  {
    seq: 'manifest-invalid',
    step: 'application/json content type',
    category: 'deliberate',
    fields: {
      status: ['201', '400'],
      'docker-content-digest': ['sha256:7120fe998548e41021580c2c4b0819522b68f5df292c4ac7700b3f59434123a2', null],
      location: ['/v2/<ns>/manifest-invalid/manifests/sha256:7120fe998548e41021580c2c4b0819522b68f5df292c4ac7700b3f59434123a2', null],
      'content-type': ['text/html; charset=utf-8', 'application/json'],
      codes: [null, 'MANIFEST_INVALID'],
    },
    reason:
      "registryd/test/contract/expectations.ts (same step against Distribution): without a Content-Type (or with `application/json`) the TS side takes the media type from the manifest's own `mediaType` and stores a well-formed OCI manifest; Quay parses such a body as schema 1 and refuses it (400 MANIFEST_INVALID).",
  },
  {
    seq: 'manifest-invalid',
    step: 'tags/list afterwards',
    category: 'deliberate',
    fields: {
      body: [
        '{"name":"<ns>/manifest-invalid","tags":["OCI-index-without-platform-allowed-","application-json-content-type"]}',
        '{"name":"<ns>/manifest-invalid","tags":["OCI-index-without-platform-allowed-","OCI-manifest-with-the-wrong-size-of-a-blob"]}',
      ],
    },
    reason:
      'Follows from refusing the manifest with a wrong layer size (registryd/README.md) and accepting the `application/json` one (see that step): the tags differ accordingly.',
  },
  {
    seq: 'catalog-pages',
    step: '_catalog?n=2, page 1',
    category: 'deliberate',
    fields: {
      link: ['</v2/_catalog?last=<ns>/four&n=2>; rel="next"', '</v2/_catalog?n=2&next_page=<page token>>; rel="next"'],
      body: ['{"repositories":["<ns>/five","<ns>/four"]}', '{"repositories":["<ns>/one","<ns>/two"]}'],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog-pages',
    step: '_catalog?n=2, page 2',
    category: 'deliberate',
    fields: {
      link: ['</v2/_catalog?last=<ns>/three&n=2>; rel="next"', '</v2/_catalog?n=2&next_page=<page token>>; rel="next"'],
      body: ['{"repositories":["<ns>/one","<ns>/three"]}', '{"repositories":["<ns>/three","<ns>/four"]}'],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog-pages',
    step: '_catalog?n=2, page 3',
    category: 'deliberate',
    fields: { body: ['{"repositories":["<ns>/two"]}', '{"repositories":["<ns>/five"]}'] },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog-pages',
    step: '_catalog?n=101',
    category: 'deliberate',
    fields: {
      body: ['{"repositories":["<ns>/five","<ns>/four","<ns>/one","<ns>/three","<ns>/two"]}', '{"repositories":["<ns>/one","<ns>/two","<ns>/three","<ns>/four","<ns>/five"]}'],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog-pages',
    step: '_catalog?n=-1',
    category: 'deliberate',
    fields: { body: ['{"repositories":[]}', '{"repositories":["<ns>/one"]}'], link: [null, '</v2/_catalog?n=1&next_page=<page token>>; rel="next"'] },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog-views',
    step: 'public: _catalog',
    category: 'deliberate',
    fields: {
      body: [
        '{"repositories":["buynlarge/orgrepo","devtable/building","devtable/complex","devtable/shared","devtable/sharedtags","devtable/text-full-repo","public/publicrepo"]}',
        '{"repositories":["devtable/sharedtags","devtable/complex","public/publicrepo","devtable/shared","devtable/text-full-repo","devtable/building","buynlarge/orgrepo"]}',
      ],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog-views',
    step: 'reader: _catalog',
    category: 'deliberate',
    fields: {
      body: [
        '{"repositories":["buynlarge/orgrepo","devtable/building","devtable/shared","devtable/text-full-repo"]}',
        '{"repositories":["devtable/shared","devtable/text-full-repo","devtable/building","buynlarge/orgrepo"]}',
      ],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog-views',
    step: 'devtable+dtrobot: _catalog',
    category: 'deliberate',
    fields: {
      body: ['{"repositories":["devtable/complex","devtable/mirrored","devtable/sharedtags"]}', '{"repositories":["devtable/sharedtags","devtable/complex","devtable/mirrored"]}'],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog-views',
    step: 'app-token: _catalog?n=3',
    category: 'deliberate',
    fields: {
      link: ['</v2/_catalog?last=devtable/building&n=3>; rel="next"', '</v2/_catalog?n=3&next_page=<page token>>; rel="next"'],
      body: [
        '{"repositories":["buynlarge/anotherorgrepo","buynlarge/orgrepo","devtable/building"]}',
        '{"repositories":["devtable/simple","devtable/sharedtags","devtable/history"]}',
      ],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog-views',
    step: 'devtable: _catalog?n=5',
    category: 'deliberate',
    fields: {
      link: ['</v2/_catalog?last=devtable/gargantuan&n=5>; rel="next"', '</v2/_catalog?n=5&next_page=<page token>>; rel="next"'],
      body: [
        '{"repositories":["buynlarge/anotherorgrepo","buynlarge/orgrepo","devtable/building","devtable/complex","devtable/gargantuan"]}',
        '{"repositories":["devtable/simple","devtable/sharedtags","devtable/history","devtable/complex","devtable/gargantuan"]}',
      ],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog-views',
    step: 'devtable: _catalog?n=5, page 2',
    category: 'deliberate',
    fields: {
      link: ['</v2/_catalog?last=devtable/sharedtags&n=5>; rel="next"', '</v2/_catalog?n=5&next_page=<page token>>; rel="next"'],
      body: [
        '{"repositories":["devtable/history","devtable/mirrored","devtable/readonly","devtable/shared","devtable/sharedtags"]}',
        '{"repositories":["devtable/trusted","devtable/shared","devtable/text-full-repo","devtable/building","testorgforautoprune/autoprunerepo"]}',
      ],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'catalog-views',
    step: 'devtable: _catalog?n=100',
    category: 'deliberate',
    fields: {
      body: [
        '{"repositories":["buynlarge/anotherorgrepo","buynlarge/orgrepo","devtable/building","devtable/complex","devtable/gargantuan","devtable/history","devtable/mirrored","devtable/readonly","devtable/shared","devtable/sharedtags","devtable/simple","devtable/superwide","devtable/text-full-repo","devtable/trusted","testorgforautoprune/autoprunerepo"]}',
        '{"repositories":["devtable/simple","devtable/sharedtags","devtable/history","devtable/complex","devtable/gargantuan","devtable/trusted","devtable/shared","devtable/text-full-repo","devtable/building","testorgforautoprune/autoprunerepo","buynlarge/orgrepo","buynlarge/anotherorgrepo","devtable/superwide","devtable/mirrored","devtable/readonly"]}',
      ],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS catalog lists by name and pages with `n`/`last` (a non-numeric `n` is a full page, `n` \u2264 0 an empty one); Quay lists by repository id and pages with an encrypted `next_page` token (`last` is read as such a token: a name restarts from the first page; `n` is clamped to 1\u2013100, non-numeric is 1). The repositories each user sees are the same sets. V2_CATALOG is not claimed (registryd/capabilities.ts).',
  },
  {
    seq: 'auth-robots-and-tokens',
    step: 'OAuth token: token pull on devtable/simple',
    category: 'bug',
    fields: {
      status: ['401', '200'],
      codes: ['UNAUTHORIZED', null],
      'docker-distribution-api-version': ['registry/2.0', null],
      'www-authenticate': ['Bearer realm="http://<server-hostname>/v2/auth",service="<server-hostname>"', null],
      'cache-control': [null, 'no-cache, no-store, must-revalidate'],
      body: [
        null,
        '{"token":{"claims":{"access":[{"actions":["pull"],"name":"devtable/simple","type":"repository"}],"aud":"<server-hostname>","context":{"com.apostille.root":"$disabled","com.apostille.roots":{"devtable/simple":"$disabled"},"entity_kind":"oauthtoken","entity_reference":"<uuid of oauth token 1>","kind":"oauth","oauth":"<uuid of oauth token 1>","user":"devtable","version":2},"iss":"quay","sub":"devtable"},"header":{"alg":"RS256","typ":"JWT"},"lifetime":3600,"nbfIsIat":true}}',
      ],
    },
    reason:
      "bug: `$oauthtoken` logins (an OAuth access token as the password, here initdb's devtable token) are refused by the TS token endpoint (401 Invalid Username or Password); Quay issues the token. registryd/README.md lists it as not yet offered; V2_AUTH is not claimed for it (registryd/capabilities.ts).",
  },
  {
    seq: 'auth-robots-and-tokens',
    step: 'OAuth token: tags/list of devtable/simple (token)',
    category: 'bug',
    fields: {
      status: ['401', '200'],
      codes: ['UNAUTHORIZED', null],
      'docker-distribution-api-version': ['registry/2.0', null],
      'www-authenticate': ['Bearer realm="http://<server-hostname>/v2/auth",service="<server-hostname>"', null],
      'cache-control': [null, 'no-cache, no-store, must-revalidate'],
      body: [
        null,
        '{"token":{"claims":{"access":[{"actions":["pull"],"name":"devtable/simple","type":"repository"}],"aud":"<server-hostname>","context":{"com.apostille.root":"$disabled","com.apostille.roots":{"devtable/simple":"$disabled"},"entity_kind":"oauthtoken","entity_reference":"<uuid of oauth token 1>","kind":"oauth","oauth":"<uuid of oauth token 1>","user":"devtable","version":2},"iss":"quay","sub":"devtable"},"header":{"alg":"RS256","typ":"JWT"},"lifetime":3600,"nbfIsIat":true}}',
      ],
    },
    reason:
      "bug: `$oauthtoken` logins (an OAuth access token as the password, here initdb's devtable token) are refused by the TS token endpoint (401 Invalid Username or Password); Quay issues the token. registryd/README.md lists it as not yet offered; V2_AUTH is not claimed for it (registryd/capabilities.ts).",
  },
  {
    seq: 'auth-robots-and-tokens',
    step: 'OAuth token: tags/list of devtable/simple',
    category: 'bug',
    fields: {
      status: ['401', '200'],
      codes: ['UNAUTHORIZED', null],
      'docker-distribution-api-version': ['registry/2.0', null],
      'www-authenticate': ['Bearer realm="http://<server-hostname>/v2/auth",service="<server-hostname>",scope="repository:devtable/simple:pull"', null],
      body: [null, '{"name":"devtable/simple","tags":["latest","prod"]}'],
    },
    reason: 'bug: follows from the refused `$oauthtoken` login (previous entries): without a token the tag list stays a 401 challenge on the TS side.',
  },
  {
    seq: 'auth-bearer',
    step: 'bearer-other-audience: GET /v2/',
    category: 'deliberate',
    fields: { body: ['{"error":"token rejected: unexpected \\"aud\\" claim value"}', '{"error":"Invalid audience"}'] },
    reason:
      "A token for another audience is refused by both (401, Quay's abort body); the reason text is the JWT library's: PyJWT 2.6 on this machine says `Invalid audience` (2.13, which Quay pins, `Audience doesn't match`), jose its own. Prose.",
  },
  {
    seq: 'cross-pull@quay-writes',
    step: 'GET layer blob, Range: bytes=0-9',
    category: 'deliberate',
    fields: {
      status: ['206', '200'],
      'content-length': ['10', '1024'],
      'content-range': ['bytes 0-9/1024', null],
      body: [
        '10 bytes sha256:8456df8546ad358419b285d90f8e6d0abd317e12246a6feae1871fb53bc400fb',
        '1024 bytes sha256:89e6993dcb4afc0b38fa87a74f47300847a33f417f9090f59be016b4fa440477',
      ],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS side serves one `bytes=` range of a blob (206 with Content-Range, a body-less 416 outside the blob); Quay ignores Range on LocalStorage and sends the whole blob (200). OCI allows both.',
  },
  {
    seq: 'cross-pull@ts-writes',
    step: 'GET layer blob, Range: bytes=0-9',
    category: 'deliberate',
    fields: {
      status: ['206', '200'],
      'content-length': ['10', '1024'],
      'content-range': ['bytes 0-9/1024', null],
      body: [
        '10 bytes sha256:8456df8546ad358419b285d90f8e6d0abd317e12246a6feae1871fb53bc400fb',
        '1024 bytes sha256:89e6993dcb4afc0b38fa87a74f47300847a33f417f9090f59be016b4fa440477',
      ],
    },
    reason:
      'registryd/README.md "Deliberate differences": the TS side serves one `bytes=` range of a blob (206 with Content-Range, a body-less 416 outside the blob); Quay ignores Range on LocalStorage and sends the whole blob (200). OCI allows both.',
  },
  {
    seq: 'cross-delete@quay-writes',
    step: 'tags/list after both (writer)',
    category: 'tier',
    fields: { body: ['{"name":"<ns>/cross-delete","tags":["b","c"]}', '{"name":"<ns>/cross-delete","tags":["b"]}'] },
    reason:
      "Quay caches a repository's tag list in its process (lookup_cached_active_repository_tags, DATA_MODEL_CACHE_CONFIG `inmemory`) and clears it on its own writes only: after the TS side deleted a tag through the shared database, Quay lists it until the cache entry expires. The TS side reads the database. Not a TS defect; a shared tier needs a shared model cache (redis) that both sides invalidate, or short TTLs.",
  },
];
