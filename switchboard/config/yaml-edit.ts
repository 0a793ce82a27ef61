/**
 * Minimal in-place edits of one MIGRATION key in config.yaml's text: only the
 * edited value (or the added/removed line) changes; every other byte —
 * comments, indentation, quoting, line endings — stays as the operator wrote
 * it. Falls back to the yaml Document API for layouts it does not handle
 * (a flow-style MIGRATION mapping).
 */
import { QUAY_YAML } from '../../lib/yaml-lines.js';
import { parseDocument, isMap, isScalar, isPair, type Document, type YAMLMap, type Pair, type Node } from 'yaml';

const PLAIN = /^[A-Za-z0-9_./:+-]+$/;
const YAML11_SPECIAL = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~)$/;

/** A value as YAML flow text: `go`, `25`, `true`, `[a, b]`, or a quoted string when needed. */
export function renderValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(renderValue).join(', ')}]`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = String(v);
  return PLAIN.test(s) && !YAML11_SPECIAL.test(s) && !/^[0-9.+-]/.test(s) ? s : JSON.stringify(s);
}

function range(n: unknown): [number, number, number] | undefined {
  return (n as { range?: [number, number, number] } | null)?.range;
}

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf('\n', pos - 1) + 1;
}

function lineEnd(text: string, pos: number): number {
  const i = text.indexOf('\n', pos);
  return i < 0 ? text.length : i + 1;
}

/**
 * Returns the new text with MIGRATION[key] set to `value` (or removed when
 * `value` is undefined), or null when the layout needs the Document API.
 */
function surgical(text: string, doc: Document, key: string, value: unknown): string | null {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  if (!isMap(doc.contents)) return null;
  const migPair = (doc.contents as YAMLMap).items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === 'MIGRATION') as Pair<Node, Node | null> | undefined;
  if (!migPair) {
    if (value === undefined) return text;
    const base = text.length === 0 || text.endsWith('\n') ? text : text + eol;
    return `${base}MIGRATION:${eol}  ${key}: ${renderValue(value)}${eol}`;
  }
  const mig = migPair.value;
  if (mig === null || (isScalar(mig) && mig.value === null)) {
    if (value === undefined) return text;
    const keyRange = range(migPair.key)!;
    const at = lineEnd(text, keyRange[1]);
    const prefix = at === text.length && !text.endsWith('\n') ? eol : '';
    return `${text.slice(0, at)}${prefix}  ${key}: ${renderValue(value)}${eol}${text.slice(at)}`;
  }
  if (!isMap(mig) || mig.flow) return null;
  const pair = mig.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair<Node, Node | null> | undefined;
  if (pair) {
    const kr = range(pair.key)!;
    if (value === undefined) {
      const vr = range(pair.value) ?? kr;
      return text.slice(0, lineStart(text, kr[0])) + text.slice(lineEnd(text, Math.max(vr[1] - 1, kr[1])));
    }
    const colon = text.indexOf(':', kr[1]);
    const vr = range(pair.value);
    let end = vr ? vr[1] : colon + 1;
    // A block collection's range runs through its last line break: keep that break.
    while (end > colon + 1 && (text[end - 1] === '\n' || text[end - 1] === '\r')) end--;
    // Keep the comment that may follow a scalar on its line.
    return `${text.slice(0, colon + 1)} ${renderValue(value)}${text.slice(end)}`;
  }
  if (value === undefined) return text;
  const first = mig.items[0];
  const last = mig.items[mig.items.length - 1];
  if (!first || !last) return null;
  const fr = range(first.key)!;
  const indent = text.slice(lineStart(text, fr[0]), fr[0]);
  if (!/^[ \t]*$/.test(indent)) return null;
  const lastEnd = range(last.value)?.[1] ?? range(last.key)![1];
  const at = lineEnd(text, Math.max(lastEnd - 1, 0));
  const prefix = at === text.length && !text.endsWith('\n') ? eol : '';
  return `${text.slice(0, at)}${prefix}${indent}${key}: ${renderValue(value)}${eol}${text.slice(at)}`;
}

/** Sets (or with `value` undefined, removes) MIGRATION[key] in `text`. */
export function editMigrationKey(text: string, key: string, value: unknown): string {
  const doc = parseDocument(text, QUAY_YAML);
  const out = surgical(text, doc, key, value);
  if (out !== null) {
    // Trust the minimal edit only if it means exactly what was asked.
    const check = parseDocument(out, QUAY_YAML);
    const got = (check.toJS() as { MIGRATION?: Record<string, unknown> } | null)?.MIGRATION?.[key];
    if (check.errors.length === 0 && JSON.stringify(got) === JSON.stringify(value)) return out;
  }
  let mig = doc.get('MIGRATION', true) as YAMLMap | null | undefined;
  if (!isMap(mig)) {
    doc.set('MIGRATION', doc.createNode({}));
    mig = doc.get('MIGRATION', true) as YAMLMap;
  }
  if (value === undefined) mig.delete(key);
  else mig.set(key, doc.createNode(value, { flow: true }));
  return doc.toString({ flowCollectionPadding: false });
}
