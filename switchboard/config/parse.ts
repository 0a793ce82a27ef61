/**
 * Reads Quay's config.yaml into a validated switch configuration.
 *
 * YAML + environment overlay → classify every key → zod-check every value →
 * report EVERY problem with its key and file line → freeze. Nothing here
 * throws for bad input: callers get `{ok: false, issues}` and decide.
 */
import { createHash } from 'node:crypto';
import { isMap, isScalar, type Document, type YAMLMap } from 'yaml';
import { readYamlWithLines } from '../../lib/yaml-lines.js';
import type { z } from 'zod';
import type { Inventory } from '../../owner-maps/index.js';
import type { ErrorCode } from '../errors.js';
import { classifyKey, isSwitchEnvName, sectionNearMiss, suggest, type KeySpec } from './keys.js';
import {
  boolSchema,
  gateSettingSchemas,
  coerceEnv,
  knownKeys,
  nameListSchema,
  percentSchema,
  quaySettingsSchema,
  switchboardSectionSchema,
  switchValueSchema,
  workerOwnerSchema,
  type QuaySettings,
  type SwitchboardSettings,
} from './schema.js';

export type Origin =
  | { readonly source: 'file'; readonly file: string; readonly line: number }
  | { readonly source: 'env'; readonly name: string }
  /** The kill switch's state file (STATE_DIR/force-python.json), written by `set`, the dashboard and the API. */
  | { readonly source: 'state'; readonly file: string; readonly actor: string; readonly since: string; readonly reason: string | null }
  | { readonly source: 'default' };

export interface Setting {
  readonly key: string;
  readonly spec: KeySpec;
  readonly value: unknown;
  readonly origin: Origin;
}

export interface ConfigIssue {
  readonly code: ErrorCode;
  /** The key the issue is about: `MIGRATION.ROUTE_OWNER_CAP_X`, an env name, or '' for the whole file. */
  readonly key: string;
  readonly file?: string;
  readonly line?: number;
  readonly message: string;
}

export interface SwitchConfig {
  /** Every MIGRATION switch that is set, by key; environment values replace file values. */
  readonly switches: ReadonlyMap<string, Setting>;
  readonly settings: SwitchboardSettings;
  readonly quay: QuaySettings;
  /** sha256 of the file's bytes: what `config validate --json` prints and `set --if-digest` takes. */
  readonly digest: string;
  /** `NAME=value` of every environment variable that overrides the file. */
  readonly envOverrides: readonly string[];
  readonly file: string;
}

export type ConfigResult = { readonly ok: true; readonly config: SwitchConfig } | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

export type Env = Readonly<Record<string, string | undefined>>;

function valueSchema(spec: KeySpec): z.ZodType {
  switch (spec.kind) {
    case 'force_python':
      return boolSchema;
    case 'owner':
      return switchValueSchema;
    case 'worker':
      return workerOwnerSchema;
    case 'canary':
      return spec.selector === 'percent' ? percentSchema : nameListSchema;
    case 'gate':
      return gateSettingSchemas[spec.setting];
    case 'shadow':
      return percentSchema;
  }
}

export function envKind(spec: KeySpec): 'bool' | 'percent' | 'list' | 'string' | 'number' {
  if (spec.kind === 'force_python') return 'bool';
  if (spec.kind === 'gate') return spec.setting === 'AUTO_ROLLBACK' || spec.setting === 'REQUIRE_EVIDENCE' ? 'bool' : 'number';
  if (spec.kind === 'canary') return spec.selector === 'percent' ? 'percent' : 'list';
  if (spec.kind === 'shadow') return 'percent';
  return 'string';
}

function codeFor(spec: KeySpec): ErrorCode {
  if (spec.kind === 'owner' || spec.kind === 'worker') return 'SWB_CONFIG_BAD_OWNER';
  if ((spec.kind === 'canary' && spec.selector === 'percent') || spec.kind === 'shadow') return 'SWB_CONFIG_BAD_PERCENT';
  return 'SWB_CONFIG_BAD_VALUE';
}

function zodMessage(err: z.ZodError): string {
  return err.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ` : '') + i.message).join('; ');
}

class Collector {
  readonly issues: ConfigIssue[] = [];
  constructor(
    readonly file: string,
    readonly at: (offset: number | undefined) => number | undefined,
  ) {}
  add(code: ErrorCode, key: string, message: string, offset?: number): void {
    const line = this.at(offset);
    this.issues.push(line === undefined ? { code, key, file: this.file, message } : { code, key, file: this.file, line, message });
  }
  addEnv(code: ErrorCode, name: string, message: string): void {
    this.issues.push({ code, key: name, message: `environment ${message}` });
  }
}

function sectionMap(doc: Document, name: string, c: Collector): YAMLMap | null {
  const node = doc.get(name, true);
  if (node === undefined || node === null || (isScalar(node) && node.value === null)) return null;
  if (!isMap(node)) {
    c.add('SWB_CONFIG_NOT_MAPPING', name, `${name} must be a mapping of KEY: value`, (node as { range?: [number] }).range?.[0]);
    return null;
  }
  return node;
}

function readMigration(map: YAMLMap | null, values: Record<string, unknown>, inv: Inventory, c: Collector, out: Map<string, Setting>): void {
  for (const pair of map?.items ?? []) {
    const keyNode = pair.key;
    const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
    const offset = (keyNode as { range?: [number] } | null)?.range?.[0];
    const spec = classifyKey(key, inv);
    if ('code' in spec) {
      c.add(spec.code, `MIGRATION.${key}`, spec.message, offset);
      continue;
    }
    const raw = values[key] ?? null; // resolved through the document, so aliases work
    if (raw === null) continue; // `KEY:` with no value is "unset", as Quay reads it
    const parsed = valueSchema(spec).safeParse(raw);
    if (!parsed.success) {
      c.add(codeFor(spec), `MIGRATION.${key}`, `${key}: ${zodMessage(parsed.error)}`, offset);
      continue;
    }
    out.set(key, { key, spec, value: parsed.data, origin: { source: 'file', file: c.file, line: c.at(offset) ?? 0 } });
  }
}

function readEnv(env: Env, inv: Inventory, c: Collector, out: Map<string, Setting>): string[] {
  const used: string[] = [];
  for (const name of Object.keys(env).sort()) {
    const raw = env[name];
    // An empty variable is unset, as `KEY:` with no value is in the file.
    if (raw === undefined || raw.trim() === '' || !isSwitchEnvName(name)) continue;
    const spec = classifyKey(name, inv);
    if ('code' in spec) {
      c.addEnv(spec.code, name, spec.message);
      continue;
    }
    const parsed = valueSchema(spec).safeParse(coerceEnv(envKind(spec), raw));
    if (!parsed.success) {
      c.addEnv(codeFor(spec), name, `${name}: ${zodMessage(parsed.error)}`);
      continue;
    }
    out.set(name, { key: name, spec, value: parsed.data, origin: { source: 'env', name } });
    used.push(`${name}=${raw}`);
  }
  return used;
}

function readSection<T>(doc: Document, map: YAMLMap | null, js: Record<string, unknown>, name: string, schema: z.ZodType<T>, c: Collector): T | undefined {
  const parsed = schema.safeParse(map ? (js[name] ?? {}) : {});
  if (parsed.success) return parsed.data;
  for (const iss of parsed.error.issues) {
    const path = iss.path.map(String);
    // Point at the offending key: the unknown key itself, else the deepest node that exists.
    const keys = iss.code === 'unrecognized_keys' ? iss.keys : [undefined];
    for (const k of keys) {
      const full = k === undefined ? path : [...path, k];
      let offset: number | undefined;
      for (let n = full.length; n > 0 && offset === undefined; n--) {
        const node = map && (doc.getIn([name, ...full.slice(0, n)], true) as { range?: [number] } | undefined);
        offset = node?.range?.[0];
      }
      const keyName = [name, ...full].join('.');
      const msg = iss.code === 'unrecognized_keys' ? `unknown key ${keyName}${suggest(String(k), knownKeys(schema, path))}` : `${keyName}: ${iss.message}`;
      c.add(iss.code === 'unrecognized_keys' ? 'SWB_CONFIG_UNKNOWN_KEY' : 'SWB_CONFIG_BAD_VALUE', keyName, msg, offset);
    }
  }
  return undefined;
}

/** Top-level keys that look like MIGRATION or SWITCHBOARD but are not: everything under them would be silently ignored. */
function nearMisses(doc: Document, c: Collector): void {
  for (const pair of isMap(doc.contents) ? doc.contents.items : []) {
    const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const meant = sectionNearMiss(name);
    if (meant) {
      c.add(
        'SWB_CONFIG_UNKNOWN_KEY',
        name,
        `${name}: unknown top-level key (did you mean ${meant}?); the switchboard would read nothing under it`,
        (pair.key as { range?: [number] } | null)?.range?.[0],
      );
    }
  }
}

/** Parses config text (the contents of `file`) with the environment overlay. */
export function parseConfig(text: string, file: string, inv: Inventory, env: Env = {}): ConfigResult {
  // Read as Quay reads it (PyYAML, YAML 1.1: `yes`/`on` are booleans), with lines: lib/yaml-lines.ts.
  const y = readYamlWithLines(text);
  const doc = y.doc;
  const c = new Collector(file, y.lineAt);
  const switches = new Map<string, Setting>();
  // One conversion to plain values (aliases resolved) for every section.
  const js = y.values;
  if (doc.errors.length > 0) {
    for (const e of doc.errors) c.add('SWB_CONFIG_YAML', '', `YAML: ${e.message.split('\n')[0]}`, e.pos[0]);
  } else if (!y.empty && !y.mapping) {
    c.add('SWB_CONFIG_NOT_MAPPING', '', 'config.yaml must be a mapping of top-level keys', 0);
  } else {
    nearMisses(doc, c);
    const mig = js.MIGRATION;
    readMigration(sectionMap(doc, 'MIGRATION', c), mig !== null && typeof mig === 'object' ? (mig as Record<string, unknown>) : {}, inv, c, switches);
  }
  const sbMap = doc.errors.length === 0 && isMap(doc.contents) ? sectionMap(doc, 'SWITCHBOARD', c) : null;
  const settings = readSection(doc, sbMap, js, 'SWITCHBOARD', switchboardSectionSchema, c);
  const quayRaw = { FEATURE_LIBRARY_SUPPORT: js.FEATURE_LIBRARY_SUPPORT, LIBRARY_NAMESPACE: js.LIBRARY_NAMESPACE };
  const quay = quaySettingsSchema.safeParse(Object.fromEntries(Object.entries(quayRaw).filter(([, v]) => v !== undefined)));
  if (!quay.success) {
    for (const iss of quay.error.issues) {
      const key = String(iss.path[0] ?? '');
      const node = doc.getIn([key], true) as { range?: [number] } | undefined;
      c.add('SWB_CONFIG_BAD_VALUE', key, `${key}: ${iss.message}`, node?.range?.[0]);
    }
  }
  const envUsed = readEnv(env, inv, c, switches);
  if (c.issues.length > 0 || !settings || !quay.success) return { ok: false, issues: c.issues };
  const digest = createHash('sha256').update(text).digest('hex');
  return { ok: true, config: Object.freeze({ switches, settings, quay: quay.data, digest, envOverrides: envUsed, file }) };
}

/** A config with no file: environment switches only (the kill switch must work from the environment alone). */
export function envOnlyConfig(inv: Inventory, env: Env): ConfigResult {
  return parseConfig('', '(environment)', inv, env);
}

/** `file:line: message` — how every issue is printed. */
export function formatIssue(i: ConfigIssue): string {
  const where = i.file ? `${i.file}${i.line !== undefined ? `:${i.line}` : ''}: ` : '';
  return `${where}${i.message} [${i.code}]`;
}
