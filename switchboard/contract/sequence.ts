/**
 * Contract sequences: requests replayed against both owners by
 * `switchboard contract run CAP`. One YAML file per capability,
 * shipped in switchboard/contract/sequences/<CAP>.yaml, and recorded ones in
 * STATE_DIR/contracts/recorded/<CAP>.yaml (`switchboard contract record`):
 *
 *   capability: V2_PULL
 *   sequences:
 *     - name: manifest by tag, then by digest
 *       steps:
 *         - {method: GET, path: "/v2/{{REPO}}/manifests/{{TAG}}", headers: {accept: "..."},
 *            capture: {DIGEST: {header: docker-content-digest}}}
 *         - {method: GET, path: "/v2/{{REPO}}/manifests/{{DIGEST}}"}
 *
 * `{{NAME}}` is a variable: SWITCHBOARD.CONTRACT.VARS, or captured by an
 * earlier step from python's answer (a header, or a JSON path like
 * `config.digest`), so both owners get the same request. Only safe methods
 * (GET, HEAD) and requests without a body are replayed: a contract never
 * writes to the registry it checks. A sequence whose variables are not all
 * set is skipped, and says which it lacked.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { z } from 'zod';
import { SwitchboardError } from '../errors.js';

const capture = z.union([z.strictObject({ header: z.string().min(1) }), z.strictObject({ json: z.string().min(1) })]);

export const stepSchema = z.strictObject({
  method: z.enum(['GET', 'HEAD'], { error: 'contract steps are GET or HEAD: a contract never writes' }),
  path: z.string().startsWith('/', { error: 'a path starts with /' }),
  headers: z.record(z.string(), z.string()).optional(),
  capture: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, { error: 'variables are UPPER_SNAKE' }), capture).optional(),
});

export const sequenceFileSchema = z.strictObject({
  capability: z.string().regex(/^[A-Z0-9_]+$/),
  sequences: z.array(z.strictObject({ name: z.string().min(1), steps: z.array(stepSchema).min(1) })).min(1),
});

export type Step = z.infer<typeof stepSchema>;
export type SequenceFile = z.infer<typeof sequenceFileSchema>;
export type Sequence = SequenceFile['sequences'][number];

/** The sequences shipped with the switchboard: beside this file in the source tree, found from the build tree (dist/) too. */
export const SHIPPED_DIR = ((): string => {
  for (const rel of ['./sequences/', '../../../switchboard/contract/sequences/']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return fileURLToPath(new URL('./sequences/', import.meta.url));
})();

/** Where `contract record` writes, and `contract run` also reads. */
export const recordedDir = (stateDir: string): string => join(stateDir, 'contracts', 'recorded');

export function parseSequenceFile(text: string, file: string): SequenceFile {
  let raw: unknown;
  try {
    raw = YAML.parse(text);
  } catch (e) {
    throw new SwitchboardError('SWB_CONFIG_YAML', `${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  const r = sequenceFileSchema.safeParse(raw);
  if (!r.success) {
    throw new SwitchboardError('SWB_CONFIG_BAD_VALUE', `${file}: ${r.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

/** Capabilities with shipped sequences. */
export function shippedCapabilities(dir = SHIPPED_DIR): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => f.slice(0, -5))
        .sort()
    : [];
}

/** The shipped and recorded sequences of a capability (recorded after shipped). */
export function loadSequences(capability: string, stateDir: string | null, shipped = SHIPPED_DIR): Sequence[] {
  const out: Sequence[] = [];
  for (const dir of [shipped, ...(stateDir ? [recordedDir(stateDir)] : [])]) {
    const file = join(dir, `${capability}.yaml`);
    if (!existsSync(file)) continue;
    const f = parseSequenceFile(readFileSync(file, 'utf8'), file);
    if (f.capability !== capability) throw new SwitchboardError('SWB_CONFIG_BAD_VALUE', `${file} says capability ${f.capability}, not ${capability}`);
    out.push(...f.sequences);
  }
  return out;
}

/** `text` with its `{{NAME}}` replaced; the names it lacks when some are unset. */
export function substitute(text: string, vars: Readonly<Record<string, string>>): { text: string; missing: string[] } {
  const missing: string[] = [];
  const out = text.replace(/\{\{([A-Z][A-Z0-9_]*)\}\}/g, (_, name: string) => {
    const v = vars[name];
    if (v === undefined) {
      missing.push(name);
      return '';
    }
    return v;
  });
  return { text: out, missing };
}
