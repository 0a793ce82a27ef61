/**
 * Descriptor sizes as the manifest parser reads them (pure, no registry):
 * judged on the source text, so `1.0`, `1e3`, negative numbers and numbers
 * JavaScript cannot hold exactly are refused as MANIFEST_INVALID, and the
 * layers' total (`manifest.layers_compressed_size`) is checked, never a
 * rounded or overflowing sum.
 */
import t from 'tap';
import { parseManifest } from '../../content/manifest.js';
import { pathKey, sizeLiterals } from '../../content/size-literals.js';
import { DomainError } from '../../../domain/errors.js';
import { fromDomain } from '../../oci/errors.js';
import { sha256 } from '../lib/server.js';

const OCI = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const CONFIG = sha256('config');
const LAYER = sha256('layer');

/** An OCI image manifest as text, with the layers' and config's size written verbatim. */
function manifestText(configSize: string, layerSizes: readonly string[], foreign = false): string {
  const layers = layerSizes.map(
    (s, i) => `{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"${sha256(`layer ${i}`)}","size":${s}${foreign ? ',"urls":["https://example.com/l"]' : ''}}`,
  );
  return `{"schemaVersion":2,"mediaType":"${OCI}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${CONFIG}","size":${configSize}},"layers":[${layers.join(',')}]}`;
}

function refusal(text: string, contentType = OCI): DomainError {
  try {
    parseManifest(Buffer.from(text), contentType);
  } catch (e) {
    if (e instanceof DomainError) return e;
    throw e;
  }
  throw new Error('the manifest was accepted');
}

t.test('sizeLiterals records every size number by path, whatever the keys and strings hold', async (t) => {
  const text =
    '{"config":{"size":7,"annotations":{"size":"9","a}b":"{\\"size\\":1}"}},"layers":[{"size":1.0},{"si\\u007ae":-3},{"x":[1,2],"size":1e3}],' +
    '"layers[0].size":5,"manifests":[],"subject":{ "size" : 18446744073709551615 }}';
  const got = sizeLiterals(text);
  t.same(
    Object.fromEntries(got),
    {
      [pathKey(['config', 'size'])]: '7',
      [pathKey(['layers', 0, 'size'])]: '1.0',
      [pathKey(['layers', 1, 'size'])]: '-3',
      [pathKey(['layers', 2, 'size'])]: '1e3',
      [pathKey(['subject', 'size'])]: '18446744073709551615',
    },
    'string values and a top-level key that looks like a path are not sizes; an escaped key is decoded',
  );
});

t.test('exact integer sizes are accepted and summed', async (t) => {
  const m = parseManifest(Buffer.from(manifestText('2', ['10', '0', '9007199254740000'])), OCI);
  t.same(
    m.layers.map((l) => l.size),
    [10, 0, 9007199254740000],
  );
  t.equal(m.layersCompressedSize, 9007199254740010);
  t.same(
    m.declaredSizes.map((d) => [d.kind, d.size]),
    [
      ['config', 2],
      ['layer', 10],
      ['layer', 0],
      ['layer', 9007199254740000],
    ],
  );
});

t.test('sizes that are not a non-negative integer written as one are MANIFEST_INVALID', async (t) => {
  const cases: [string, RegExp][] = [
    ['-1', /layers\[0\]\.size -1 is negative/],
    ['-0', /layers\[0\]\.size -0 is not written as a whole number of bytes \(no sign, fraction or exponent\)/],
    ['1.5', /layers\[0\]\.size 1\.5 is not written as a whole number/],
    ['1.0', /layers\[0\]\.size 1\.0 is not written as a whole number/],
    ['1e3', /layers\[0\]\.size 1e3 is not written as a whole number/],
    ['1.00000000000000001', /is not written as a whole number/],
    ['"5"', /layers\[0\]\.size must be a number of bytes/],
    ['null', /layers\[0\]\.size must be a number of bytes/],
  ];
  for (const [size, why] of cases) {
    const e = refusal(manifestText('2', [size]));
    t.equal(e.code, 'MANIFEST_INVALID', size);
    const oci = fromDomain(e);
    t.equal(oci.status, 400, size);
    t.match(e.message, why, size);
    t.same(JSON.parse(oci.body()).errors[0], { code: 'MANIFEST_INVALID', message: 'manifest invalid', detail: { message: e.message } }, `${size}: Quay's envelope`);
  }
  t.match(refusal(manifestText('2.0', ['1'])).message, /config\.size 2\.0 is not written as a whole number/, 'the config too');
  const missing = `{"schemaVersion":2,"mediaType":"${OCI}","config":{"mediaType":"x/y","digest":"${CONFIG}"},"layers":[]}`;
  t.match(refusal(missing).message, /config\.size must be a number of bytes/);
});

t.test('sizes near 2^63, and totals past 2^53 - 1, are refused, never rounded or overflowed', async (t) => {
  for (const size of ['9223372036854775807', '9223372036854775808', '18446744073709551616', '9007199254740992', '9007199254740993']) {
    const e = refusal(manifestText('2', [size], true));
    t.equal(e.code, 'MANIFEST_INVALID', size);
    t.match(e.message, new RegExp(`layers\\[0\\]\\.size ${size} is larger than 9007199254740991 bytes`), size);
  }
  t.equal(parseManifest(Buffer.from(manifestText('2', ['9007199254740991'], true)), OCI).layersCompressedSize, Number.MAX_SAFE_INTEGER, 'the largest exact size is fine');
  // Two sizes each fine, whose sum a double would round (and an int64 would overflow for 2^63-size values).
  const e = refusal(manifestText('2', ['9007199254740991', '1'], true));
  t.equal(e.code, 'MANIFEST_INVALID');
  t.match(e.message, /the layers add up to more than 9007199254740991 bytes/);
  t.match(refusal(manifestText('2', ['4503599627370496', '4503599627370496'], true)).message, /add up to more than/);
});

t.test('child manifest and subject sizes follow the same rules', async (t) => {
  const index = (size: string): string => `{"schemaVersion":2,"mediaType":"${INDEX}","manifests":[{"mediaType":"${OCI}","digest":"${LAYER}","size":${size}}]}`;
  t.same(parseManifest(Buffer.from(index('321')), INDEX).declaredSizes, [{ kind: 'manifest', digest: LAYER, size: 321 }]);
  t.match(refusal(index('3.21e2'), INDEX).message, /manifests\[0\]\.size 3\.21e2 is not written as a whole number/);
  t.match(refusal(index('-321'), INDEX).message, /manifests\[0\]\.size -321 is negative/);
  const withSubject = (size: string): string => manifestText('2', ['1']).replace(/}$/, `,"subject":{"mediaType":"${OCI}","digest":"${LAYER}","size":${size}}}`);
  t.equal(parseManifest(Buffer.from(withSubject('44')), OCI).subject?.size, 44);
  t.match(refusal(withSubject('99999999999999999999')).message, /subject\.size 99999999999999999999 is larger than/);
});

t.test('foreign layers are not declared against the repository, but count in the total', async (t) => {
  const m = parseManifest(Buffer.from(manifestText('2', ['5', '6'], true)), OCI);
  t.same(m.declaredSizes, [{ kind: 'config', digest: CONFIG, size: 2 }]);
  t.equal(m.layersCompressedSize, 11);
});
