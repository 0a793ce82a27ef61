/**
 * The source text of every `"size"` number in a JSON document, by path.
 *
 * JSON.parse turns `1.0`, `1e0` and `1.00000000000000001` into the integer 1
 * and rounds anything past 2^53 to the nearest double, so the parsed value
 * cannot tell whether a descriptor's size was written as an exact integer.
 * This scanner reads the text the parser accepted and records each number
 * whose key is `size`, under a path key (pathKey) such as
 * `["layers",0,"size"]`, so validation can judge what the client wrote.
 *
 * Pure; call it only on text JSON.parse accepted (it does not validate).
 */

type Frame = { kind: 'object'; key: string | null } | { kind: 'array'; index: number };

/** The map key of a path: unambiguous whatever characters the object keys hold. */
export function pathKey(path: readonly (string | number)[]): string {
  return JSON.stringify(path);
}

/** Index just past the string token starting at `start` (a `"`). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 92 /* \ */) i += 2;
    else if (c === 34 /* " */) return i + 1;
    else i++;
  }
  return i;
}

function isNumberChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46 || c === 69 || c === 101; // 0-9 + - . E e
}

export function sizeLiterals(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const stack: Frame[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (c === 123 /* { */) {
      stack.push({ kind: 'object', key: null });
      i++;
      continue;
    }
    if (c === 91 /* [ */) {
      stack.push({ kind: 'array', index: 0 });
      i++;
      continue;
    }
    if (c === 125 /* } */ || c === 93 /* ] */) {
      stack.pop();
      i++;
      continue;
    }
    if (c === 44 /* , */) {
      if (top?.kind === 'array') top.index++;
      else if (top) top.key = null;
      i++;
      continue;
    }
    if (c === 34 /* " */) {
      const end = stringEnd(text, i);
      // In an object, the string after `{` or `,` is the member's key; a value string leaves it alone.
      if (top?.kind === 'object' && top.key === null) top.key = JSON.parse(text.slice(i, end)) as string;
      i = end;
      continue;
    }
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      let j = i + 1;
      while (j < text.length && isNumberChar(text.charCodeAt(j))) j++;
      if (top?.kind === 'object' && top.key === 'size') {
        out.set(pathKey(stack.map((f) => (f.kind === 'object' ? (f.key ?? '') : f.index))), text.slice(i, j));
      }
      i = j;
      continue;
    }
    i++; // whitespace, `:`, and the letters of true/false/null
  }
  return out;
}
