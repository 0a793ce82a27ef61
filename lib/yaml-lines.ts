/**
 * config.yaml as Quay reads it, with line numbers: one loader for the
 * switchboard's sections (switchboard/config/parse.ts) and the go runtime's
 * Quay keys (quay/config.ts), so both read the same file the same way. Quay
 * loads it with PyYAML, a YAML 1.1 loader (`yes`/`on` are booleans), and so do
 * we; duplicate keys are errors; aliases resolve (bounded).
 */
import { LineCounter, parseDocument, isMap, isScalar, type Document } from 'yaml';

/** The options every reader of config.yaml parses it with. */
export const QUAY_YAML = { version: '1.1', uniqueKeys: true, prettyErrors: false } as const;

export interface YamlWithLines {
  readonly doc: Document;
  /** YAML syntax errors with their line, first line of the message only. */
  readonly errors: readonly { readonly line: number; readonly message: string }[];
  /** The document is empty (no content, or a lone null). */
  readonly empty: boolean;
  /** The top level is a mapping. */
  readonly mapping: boolean;
  /** The top level as plain values when it is a mapping without errors, else `{}`. */
  readonly values: Record<string, unknown>;
  /** The 1-based line of a character offset. */
  lineAt(offset: number | undefined): number | undefined;
  /** The line of the deepest node that exists on the path (a top-level key's own line for a one-element path). */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

export function readYamlWithLines(text: string): YamlWithLines {
  const lines = new LineCounter();
  const doc = parseDocument(text, { ...QUAY_YAML, lineCounter: lines });
  const lineAt = (offset: number | undefined): number | undefined => (offset === undefined ? undefined : lines.linePos(offset).line);
  const mapping = isMap(doc.contents);
  const empty = doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null);
  const values = doc.errors.length === 0 && mapping ? (doc.toJS({ maxAliasCount: 1000 }) as Record<string, unknown>) : {};
  return {
    doc,
    empty,
    mapping,
    values,
    lineAt,
    errors: doc.errors.map((e) => ({ line: lineAt(e.pos[0]) ?? 1, message: e.message.split('\n')[0]! })),
    lineOf(path) {
      for (let n = path.length; n >= 2; n--) {
        const node = doc.getIn(path.slice(0, n), true) as { range?: [number] } | undefined;
        if (node?.range) return lineAt(node.range[0]);
      }
      const key = path[0];
      const pair = isMap(doc.contents) ? doc.contents.items.find((p) => (p.key as { value?: unknown })?.value === key) : undefined;
      return lineAt((pair?.key as { range?: [number] } | undefined)?.range?.[0]);
    },
  };
}

/** config.yaml's top-level values, or `{}` when it does not parse to a mapping (callers that only peek at a key). */
export function peekYaml(text: string): Record<string, unknown> {
  try {
    const doc = parseDocument(text, QUAY_YAML);
    return doc.errors.length === 0 && isMap(doc.contents) ? (doc.toJS({ maxAliasCount: 1000 }) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
