/**
 * DATABASE_SECRET_KEY → the 32-byte AES key of Quay's encrypted columns
 * (quay-schema.md §0; Quay's util/security/secret.py). The configured value is
 * read, in this order, as a decimal integer (its big-endian bytes, when the
 * hex form has an even number of digits), as a UUID (its 16 bytes), or as raw
 * characters (one byte each); the bytes are then repeated or cut to 32.
 */

/** The whitespace Python's int() strips around a number (str.isspace() less the \x1c–\x1f separators). */
const PY_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
/** Python's int() on a string: optional sign, digits with single underscores, surrounding whitespace. */
const PY_INT = new RegExp(`^${PY_SPACE}*([+-]?)([0-9]+(?:_[0-9]+)*)${PY_SPACE}*$`);

/**
 * Any Unicode decimal digit (\p{Nd}, which Python's int() accepts: '１２', '١٢٣')
 * as its ASCII digit. Nd digits come in contiguous runs of ten from zero, so a
 * digit's value is its distance from the start of its run, modulo ten.
 */
function asciiDigits(text: string): string {
  return text.replace(/\p{Nd}/gu, (d) => {
    const cp = d.codePointAt(0)!;
    let start = cp;
    while (start > 0 && /\p{Nd}/u.test(String.fromCodePoint(start - 1))) start--;
    return String((cp - start) % 10);
  });
}

function fromInteger(text: string): Buffer | null {
  const m = PY_INT.exec(asciiDigits(text));
  if (!m) return null;
  const value = BigInt(m[2]!.replace(/_/g, ''));
  if (m[1] === '-' && value !== 0n) return null; // Python formats a negative as "-…", which fromhex refuses
  let hex = value.toString(16);
  if (hex.length === 1) hex = `0${hex}`; // "{:02x}" pads to two digits, no further
  if (hex.length % 2 !== 0) return null; // bytearray.fromhex refuses an odd digit count
  return Buffer.from(hex, 'hex');
}

/** Python's uuid.UUID(str): braces, `urn:uuid:` and hyphens are ignored; 32 hex digits remain. */
function fromUuid(text: string): Buffer | null {
  const hex = text
    .replace('urn:', '')
    .replace('uuid:', '')
    .replace(/^[{}]+|[{}]+$/g, '')
    .replace(/-/g, '');
  return /^[0-9a-fA-F]{32}$/.test(hex) ? Buffer.from(hex, 'hex') : null;
}

function fromChars(text: string): Buffer {
  const codes = Array.from(text, (c) => c.codePointAt(0)!);
  if (codes.some((c) => c > 255)) throw new Error('DATABASE_SECRET_KEY has a character above U+00FF, which Quay cannot use as a key byte');
  return Buffer.from(codes);
}

/** The AES-256 key Quay derives from DATABASE_SECRET_KEY (a YAML integer is accepted too). */
export function convertSecretKey(secret: string | number | bigint): Buffer {
  const text = String(secret);
  const bytes = fromInteger(text) ?? fromUuid(text) ?? fromChars(text);
  if (bytes.length === 0) throw new Error('DATABASE_SECRET_KEY is empty');
  const key = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) key[i] = bytes[i % bytes.length]!;
  return key;
}
