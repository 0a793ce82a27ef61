/**
 * pythonJsonDumps writes what Python's json.dumps(value) writes (the text
 * Quay stores in logentry3.metadata_json and queue item bodies): expected
 * strings below are json.dumps' output for the same values.
 */
import t from 'tap';
import { pythonJsonDumps, pythonJsonLoads } from '../python-json.js';

t.test('separators, escapes and ensure_ascii as json.dumps', async (t) => {
  t.equal(
    pythonJsonDumps({ repo: 'r', 'user-agent': 'tést/1.0 "q" \u007f\u001f\t', n: [1, null, true, false], e: {}, l: [], astral: '\u{1F600}', slash: 'a/b\\c' }),
    '{"repo": "r", "user-agent": "t\\u00e9st/1.0 \\"q\\" \\u007f\\u001f\\t", "n": [1, null, true, false], "e": {}, "l": [], "astral": "\\ud83d\\ude00", "slash": "a/b\\\\c"}',
  );
  t.equal(pythonJsonDumps({ b: 1, a: { z: 'x', y: 'y' } }), '{"b": 1, "a": {"z": "x", "y": "y"}}', 'insertion order, not sorted');
  t.equal(pythonJsonDumps({ gone: undefined, kept: 'k' }), '{"kept": "k"}', 'an undefined member is left out');
  t.equal(pythonJsonDumps('\ud800'), '"\\ud800"', 'a lone surrogate is escaped');
  t.equal(pythonJsonDumps('\u2028'), '"\\u2028"');
});

t.test('values Quay never logs are refused, not approximated', async (t) => {
  t.throws(() => pythonJsonDumps(1.5), RangeError);
  t.throws(() => pythonJsonDumps(Number.NaN), RangeError);
});

t.test("json.loads as Python reads Quay's JSON columns: floats stay floats, written back the same", async (t) => {
  for (const text of ['{"a": 1, "b": 1.0, "c": [1e-07, -0.5, 2.5e+20], "d": "\\u00e9", "e": null, "f": true}', '[]', '{}', '"x"', '12', '3.0']) {
    t.equal(pythonJsonDumps(pythonJsonLoads(text)), text, text);
  }
  t.equal(pythonJsonDumps(pythonJsonLoads('{"n": NaN, "i": Infinity, "m": -Infinity}')), '{"n": NaN, "i": Infinity, "m": -Infinity}', 'NaN and Infinity, as Python accepts them');
  for (const bad of ['', '{', '{"a" 1}', '[1,]', 'nul', '{"a": 1} x']) t.throws(() => pythonJsonLoads(bad), JSON.stringify(bad));
});
