/**
 * The image config a Docker schema 2 manifest points at, checked as Quay
 * checks it before it stores the manifest (image/docker/schema2/config.py,
 * DockerSchema2Config): a JSON object with a `history` list (each entry an
 * object whose `created`, `created_by`, `comment`, `author` are strings and
 * `empty_layer` a boolean when present) and a `rootfs` object with a string
 * `type`. Pure: the caller reads the blob.
 */

const ENTRY_STRINGS = ['created', 'created_by', 'comment', 'author'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why Quay would refuse this config (its message), or null when it would not. */
export function dockerConfigProblem(bytes: Buffer): string | null {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    return `malformed config data: ${(e as Error).message}`;
  }
  const bad = (why: string): string => `config data does not match schema: ${why}`;
  if (!isObject(doc)) return bad('the config is not an object');
  if (!('history' in doc)) return bad("'history' is a required property");
  if (!('rootfs' in doc)) return bad("'rootfs' is a required property");
  const { history, rootfs } = doc;
  if (!Array.isArray(history)) return bad("'history' is not of type 'array'");
  for (const [i, entry] of history.entries()) {
    if (!isObject(entry)) return bad(`history[${i}] is not of type 'object'`);
    for (const key of ENTRY_STRINGS) if (entry[key] !== undefined && typeof entry[key] !== 'string') return bad(`history[${i}].${key} is not of type 'string'`);
    if (entry.empty_layer !== undefined && typeof entry.empty_layer !== 'boolean') return bad(`history[${i}].empty_layer is not of type 'boolean'`);
  }
  if (!isObject(rootfs)) return bad("'rootfs' is not of type 'object'");
  if (!('type' in rootfs)) return bad("'type' is a required property of 'rootfs'");
  if (typeof rootfs.type !== 'string') return bad("rootfs.type is not of type 'string'");
  return null;
}
