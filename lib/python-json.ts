/**
 * JSON text as Python's `json.dumps(value)` writes it with its defaults, the
 * way Quay serialises `logentry3.metadata_json` and queue item bodies: `", "`
 * between items, `": "` after keys, every character above U+007F escaped as
 * `\uXXXX` (lower-case hex, UTF-16 code units: `ensure_ascii=True`), keys in
 * insertion order. A reader that parses JSON cannot tell the two apart; one
 * that compares text (an export, a diff against rows Python Quay wrote) can.
 */

/** A number Python holds as a float: written with repr() (`3.0`, `0.1`, `1e-05`), where an integer is written bare. */
export class PyFloat {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

export type PyJson = null | boolean | number | PyFloat | string | readonly PyJson[] | { readonly [k: string]: PyJson | undefined };

/** Python's repr() of a float: shortest round-trip digits, exponent form below 1e-4 and from 1e16, `.0` on whole numbers. */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(n);
  if (abs < 1e-4 || abs >= 1e16) {
    const [mant, exp] = n.toExponential().split('e') as [string, string];
    const e = Number(exp);
    return `${mant}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  const s = String(n);
  return s.includes('.') || s.includes('e') ? s : `${s}.0`;
}

/** A string literal with Python's escapes (JSON.stringify's, plus ensure_ascii). */
function pyString(s: string): string {
  // JSON.stringify escapes `"`, `\`, \b \f \n \r \t, other controls and lone surrogates as Python
  // does; it leaves U+007F and above as they are, which ensure_ascii escapes (all but ' '..'~').
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `json.dumps(value)`; an `undefined` member of an object is left out (as if never set). */
export function pythonJsonDumps(value: PyJson): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`${value} has no JSON form`);
    // Python writes integers without a fraction and floats with repr(); only integers occur here.
    if (!Number.isInteger(value)) throw new RangeError(`${value}: only integers are written`);
    return String(value);
  }
  if (value instanceof PyFloat) return pyFloatRepr(value.value);
  if (typeof value === 'string') return pyString(value);
  if (Array.isArray(value)) return `[${(value as readonly PyJson[]).map(pythonJsonDumps).join(', ')}]`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value as { readonly [k: string]: PyJson | undefined })) {
    if (v !== undefined) parts.push(`${pyString(k)}: ${pythonJsonDumps(v)}`);
  }
  return `{${parts.join(', ')}}`;
}

/**
 * `json.loads` of Quay's JSON text columns: floats stay floats (PyFloat, so
 * `1.0` is written back as `1.0`), NaN/Infinity are accepted as Python does.
 * Limits: integer-like object keys are reordered by JS objects, and integers
 * beyond 2^53 lose precision.
 */
export function pythonJsonLoads(text: string): PyJson {
  let i = 0;
  const fail = (): never => {
    throw new SyntaxError(`Expecting value: char ${i}`);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const value = (): PyJson => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      const out: Record<string, PyJson> = {};
      ws();
      if (text[i] === '}') {
        i++;
        return out;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        const k = str();
        ws();
        if (text[i] !== ':') fail();
        i++;
        out[k] = value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return out;
        }
        fail();
      }
    }
    if (ch === '[') {
      i++;
      const out: PyJson[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return out;
      }
      for (;;) {
        out.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return out;
        }
        fail();
      }
    }
    if (ch === '"') return str();
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
      ['NaN', new PyFloat(NaN)],
      ['Infinity', new PyFloat(Infinity)],
      ['-Infinity', new PyFloat(-Infinity)],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i));
    if (!m) return fail();
    i += m[0].length;
    return m[1] !== undefined || m[2] !== undefined ? new PyFloat(Number(m[0])) : Number(m[0]);
  };
  const str = (): string => {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(text.slice(i));
    if (!m) return fail();
    i += m[0].length;
    return JSON.parse(m[0]) as string;
  };
  const v = value();
  ws();
  if (i !== text.length) throw new SyntaxError(`Extra data: char ${i}`);
  return v;
}
