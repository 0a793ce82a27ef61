/**
 * zod schemas for switch values and for the SWITCHBOARD runtime section.
 * Values come either from YAML (typed) or from the environment (strings), so
 * the environment forms are coerced before the same schemas check them.
 */
import { z } from 'zod';

export const OWNERS = ['python', 'go'] as const;
export type Owner = (typeof OWNERS)[number];
export const SWITCH_VALUES = ['python', 'go', 'canary'] as const;
export type SwitchValue = (typeof SWITCH_VALUES)[number];

export const switchValueSchema = z.enum(SWITCH_VALUES, { error: (iss) => `${JSON.stringify(iss.input)} is not an owner; use python, go or canary` });
export const workerOwnerSchema = z.enum(OWNERS, { error: (iss) => `${JSON.stringify(iss.input)} is not a worker owner; use python or go` });

export const percentSchema = z
  .number({ error: (iss) => `${JSON.stringify(iss.input)} is not a number from 0 to 100` })
  .min(0, { error: 'percent must be at least 0' })
  .max(100, { error: 'percent must be at most 100' })
  .refine((p) => Math.abs(p * 100 - Math.round(p * 100)) < 1e-7, { error: 'percent takes at most two decimals (nginx split_clients precision)' });

export const nameListSchema = z.array(
  z.string({ error: 'list entries must be strings' }).trim().min(1, { error: 'list entries must not be empty' }),
  { error: 'must be a list of names, e.g. [org-a, org-b]' },
);

export const boolSchema = z.boolean({ error: (iss) => `${JSON.stringify(iss.input)} is not true or false` });

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'must be HOST:PORT, e.g. 0.0.0.0:8080' });
const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, { error: 'must be an http:// or https:// URL' });

/** The SWITCHBOARD section: the proxy's runtime settings (DESIGN §4–§5). */
export const switchboardSectionSchema = z.strictObject({
  UPSTREAMS: z.strictObject({ python: httpUrl.optional(), go: httpUrl.optional() }).optional(),
  LISTEN: hostPort.default('0.0.0.0:8080'),
  ADMIN_LISTEN: hostPort.default('127.0.0.1:9180'),
  POLL_INTERVAL_SECONDS: z.number().min(1, { error: 'poll interval is 1 to 15 seconds' }).max(15, { error: 'poll interval is 1 to 15 seconds' }).default(5),
  PIN_TTL_SECONDS: z.number().int().positive().default(86400),
  /** Diagnosis only: off, uploads follow the switches mid-session and break when an owner flips. */
  PIN_UPLOADS: z.boolean().default(true),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, { error: 'must be a redis:// or rediss:// URL' }).optional(),
  DEBUG_HEADERS: z.boolean().default(false),
  AUDIT_LOG: z.string().min(1).optional(),
  /**
   * The dashboard and control API on the admin listener. Nobody changes
   * anything anonymously: an admin token (operator) and/or a users file
   * (operator or read-only). Paths are relative to the config file.
   */
  DASHBOARD: z.strictObject({
    ADMIN_TOKEN_FILE: z.string().min(1).optional(),
    USERS_FILE: z.string().min(1).optional(),
    SESSION_HOURS: z.number().positive().max(168, { error: 'sessions last at most 168 hours' }).default(12),
  }).refine((d) => d.ADMIN_TOKEN_FILE !== undefined || d.USERS_FILE !== undefined, { error: 'set ADMIN_TOKEN_FILE, USERS_FILE or both' }).optional(),
  UPSTREAM_TIMEOUT_SECONDS: z.number().positive().default(300),
  /** stdout, stderr, off, or a file path. YAML 1.1 (Quay's loader) reads a bare `off` as false: accept booleans. */
  ACCESS_LOG: z.union([z.string().min(1), z.boolean()]).default('stdout').transform((v) => (v === false ? 'off' : v === true ? 'stdout' : v)),
  DRAIN_TIMEOUT_SECONDS: z.number().positive().default(30),
  /**
   * The proxy listener's TLS: off, self-signed (made once into STATE_DIR/tls and
   * reused), or the operator's PEM files.
   */
  TLS: z.union([
    z.enum(['off', 'self-signed'], { error: 'must be off, self-signed or {CERT_FILE, KEY_FILE}' }),
    z.literal(false).transform(() => 'off' as const),
    z.strictObject({ CERT_FILE: z.string().min(1), KEY_FILE: z.string().min(1) }),
  ], { error: 'must be off, self-signed or {CERT_FILE: cert.pem, KEY_FILE: key.pem}' }).default('off'),
  /** Where the switchboard keeps what it makes itself (the self-signed certificate); relative to the working directory. */
  STATE_DIR: z.string().min(1).default('data'),
  /**
   * Run the new registry (the quay runtime, /v2) inside this process as the
   * go owner, reading the Quay keys of this same file: the quick start.
   * SWITCHBOARD.UPSTREAMS.go, when set, wins. Read at start only.
   */
  EMBEDDED_REGISTRY: z.strictObject({
    MODE: z.enum(['mirror'], { error: 'the embedded registry runs in mirror mode only (run `quay serve` for the others)' }).default('mirror'),
    DATA_DIR: z.string().min(1).default('data/quay'),
  }).optional(),
});
export type SwitchboardSettings = z.infer<typeof switchboardSectionSchema>;

/** The Quay top-level keys that change how routes match and who a subject is. */
export const quaySettingsSchema = z.object({
  FEATURE_LIBRARY_SUPPORT: z.boolean({ error: 'must be true or false' }).default(true),
  LIBRARY_NAMESPACE: z.string().min(1).default('library'),
});
export type QuaySettings = z.infer<typeof quaySettingsSchema>;

/**
 * The keys an object schema accepts at `path` (through optional, default,
 * pipe and union wrappers), for did-you-mean suggestions; [] when no object is there.
 */
export function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: unknown = schema;
  for (let i = 0; ; i++) {
    while (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodPipe) {
      s = s instanceof z.ZodPipe ? s.in : s.unwrap();
    }
    if (s instanceof z.ZodUnion) s = (s.options as unknown[]).find((o) => o instanceof z.ZodObject);
    if (!(s instanceof z.ZodObject)) return [];
    if (i === path.length) return Object.keys(s.shape);
    s = (s.shape as Record<PropertyKey, unknown>)[path[i]!];
  }
}

/** Coerces an environment string to the YAML-typed value the schemas expect. */
export function coerceEnv(kind: 'bool' | 'percent' | 'list' | 'string', raw: string): unknown {
  const s = raw.trim();
  switch (kind) {
    case 'bool': {
      const l = s.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(l)) return true;
      if (['false', '0', 'no', 'off', ''].includes(l)) return false;
      return s;
    }
    case 'percent': return s === '' || Number.isNaN(Number(s)) ? s : Number(s);
    case 'list': return s === '' ? [] : s.split(',').map((x) => x.trim());
    case 'string': return s;
  }
}
