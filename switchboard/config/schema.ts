/**
 * zod schemas for switch values and for the SWITCHBOARD runtime section.
 * Values come either from YAML (typed) or from the environment (strings), so
 * the environment forms are coerced before the same schemas check them.
 */
import { QUAY_DEFAULTS } from '../../owner-maps/quay-defaults.js';
import { z } from 'zod';
import { parseAddressRange as parseCidr } from '../../lib/client-address.js';
import type { GateSetting } from './keys.js';

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

export const nameListSchema = z.array(z.string({ error: 'list entries must be strings' }).trim().min(1, { error: 'list entries must not be empty' }), {
  error: 'must be a list of names, e.g. [org-a, org-b]',
});

export const boolSchema = z.boolean({ error: (iss) => `${JSON.stringify(iss.input)} is not true or false` });

const num = (what: string) => z.number({ error: (iss) => `${JSON.stringify(iss.input)} is not a number (${what})` });
const int = (lo: number, hi: number, unit: string) =>
  num(`${lo} to ${hi}`)
    .int({ error: `must be a whole number of ${unit}` })
    .min(lo, { error: `at least ${lo}` })
    .max(hi, { error: `at most ${hi}` });
const fraction = num('a fraction from 0 to 1, e.g. 0.01 for 1%').min(0, { error: 'a fraction from 0 to 1 (0.01 is 1%)' }).max(1, { error: 'a fraction from 0 to 1 (0.01 is 1%)' });

/** The values of the cutover gates' settings (GATE_<SETTING>; meanings in control/gate-thresholds.ts). */
export const gateSettingSchemas: Readonly<Record<GateSetting, z.ZodType>> = {
  WINDOW_SECONDS: int(1, 3600, 'seconds'),
  MIN_REQUESTS: int(1, 1_000_000, 'requests'),
  MAX_ERROR_RATE_DELTA: fraction,
  MAX_P99_RATIO: num('1 or more, e.g. 1.5').min(1, { error: 'a ratio of 1 or more (go p99 ÷ python p99)' }).max(1000, { error: 'at most 1000' }),
  P99_ALLOWANCE_MS: num('milliseconds').min(0, { error: 'at least 0' }).max(600_000, { error: 'at most 600000 (10 minutes)' }),
  FAILED_WINDOWS: int(1, 100, 'windows'),
  AUTO_ROLLBACK: boolSchema,
  COOLDOWN_SECONDS: int(0, 604_800, 'seconds'),
  MAX_SHADOW_DIFF_RATE: fraction,
  REQUIRE_EVIDENCE: boolSchema,
};

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'must be HOST:PORT, e.g. 0.0.0.0:8080' });
const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, { error: 'must be an http:// or https:// URL' });

/** The SWITCHBOARD section: the proxy's runtime settings (DESIGN §4–§5). */
export const switchboardSectionSchema = z
  .strictObject({
    UPSTREAMS: z.strictObject({ python: httpUrl.optional(), go: httpUrl.optional() }).optional(),
    LISTEN: hostPort.default('0.0.0.0:8080'),
    ADMIN_LISTEN: hostPort.default('127.0.0.1:9180'),
    /**
     * Host names the admin listener answers besides IP literals, localhost and
     * the ADMIN_LISTEN host (a DNS-rebinding guard: any other Host gets 421).
     */
    ADMIN_ALLOWED_HOSTS: z
      .array(
        z
          .string({ error: 'list entries must be strings' })
          .trim()
          .toLowerCase()
          .regex(/^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$/, { error: 'must be a host name without scheme or port, e.g. switchboard-admin.internal' }),
        { error: 'must be a list of host names, e.g. [switchboard-admin.internal]' },
      )
      .default([]),
    /** /status needs the dashboard's admin token (bearer) or session; /healthz and /readyz stay open. Needs DASHBOARD. */
    ADMIN_STATUS_AUTH: z.boolean().default(false),
    /** The same for /metrics (Prometheus: `authorization: {credentials_file: …}`). Needs DASHBOARD. */
    ADMIN_METRICS_AUTH: z.boolean().default(false),
    POLL_INTERVAL_SECONDS: z.number().min(1, { error: 'poll interval is 1 to 15 seconds' }).max(15, { error: 'poll interval is 1 to 15 seconds' }).default(5),
    PIN_TTL_SECONDS: z.number().int().positive().default(86400),
    /** Diagnosis only: off, uploads follow the switches mid-session and break when an owner flips. */
    PIN_UPLOADS: z.boolean().default(true),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, { error: 'must be a redis:// or rediss:// URL' })
      .optional(),
    DEBUG_HEADERS: z.boolean().default(false),
    AUDIT_LOG: z.string().min(1).optional(),
    /**
     * The dashboard and control API on the admin listener. Nobody changes
     * anything anonymously: an admin token (operator) and/or a users file
     * (operator or read-only). Paths are relative to the config file.
     */
    DASHBOARD: z
      .strictObject({
        ADMIN_TOKEN_FILE: z.string().min(1).optional(),
        USERS_FILE: z.string().min(1).optional(),
        SESSION_HOURS: z.number().positive().max(168, { error: 'sessions last at most 168 hours' }).default(12),
      })
      .refine((d) => d.ADMIN_TOKEN_FILE !== undefined || d.USERS_FILE !== undefined, { error: 'set ADMIN_TOKEN_FILE, USERS_FILE or both' })
      .optional(),
    UPSTREAM_TIMEOUT_SECONDS: z.number().positive().max(86_400, { error: 'at most 86400 (a day)' }).default(300),
    /**
     * Client connections the proxy holds at once (each holds at most one
     * upstream connection); over it new connections are closed at once. 0: as
     * many as the process's open-file limit allows (half of it, since each
     * proxied request needs two descriptors).
     */
    MAX_CONNECTIONS: z.number().int().min(0).default(0),
    /**
     * A request body must bring at least REQUEST_BODY_MIN_BYTES_PER_SECOND ×
     * REQUEST_BODY_TIMEOUT_SECONDS bytes (and at least one) in every window of
     * REQUEST_BODY_TIMEOUT_SECONDS while the proxy is ready to read it; a slower
     * client gets 408 and its upstream request is aborted (no owner is charged).
     */
    REQUEST_BODY_TIMEOUT_SECONDS: z.number().positive().max(3600, { error: 'at most 3600 (an hour)' }).default(60),
    REQUEST_BODY_MIN_BYTES_PER_SECOND: z.number().int().min(0).default(1024),
    /**
     * Addresses or CIDR ranges of front proxies (load balancers, nginx) whose
     * X-Forwarded-For/-Proto/-Host and Forwarded headers are believed. From any
     * other client they are replaced by what the switchboard itself saw.
     */
    TRUSTED_PROXIES: z
      .array(
        z.string().refine((v) => parseCidr(v) !== null, { error: 'must be an IP address or CIDR range, e.g. 10.0.0.0/8 or ::1' }),
        { error: 'must be a list of addresses or CIDR ranges' },
      )
      .default([]),
    /**
     * Upload sessions in progress one client address may hold pins for (memory
     * pin store); a client over it gets 429 TOOMANYREQUESTS on a new upload.
     */
    PIN_MAX_PER_CLIENT: z.number().int().positive().default(1000),
    /** stdout, stderr, off, or a file path. YAML 1.1 (Quay's loader) reads a bare `off` as false: accept booleans. */
    ACCESS_LOG: z
      .union([z.string().min(1), z.boolean()])
      .default('stdout')
      .transform((v) => (v === false ? 'off' : v === true ? 'stdout' : v)),
    DRAIN_TIMEOUT_SECONDS: z.number().positive().max(86_400, { error: 'at most 86400 (a day)' }).default(30),
    /**
     * The proxy listener's TLS: off, self-signed (made once into STATE_DIR/tls and
     * reused), or the operator's PEM files.
     */
    TLS: z
      .union(
        [
          z.enum(['off', 'self-signed'], { error: 'must be off, self-signed or {CERT_FILE, KEY_FILE}' }),
          z.literal(false).transform(() => 'off' as const),
          z.strictObject({ CERT_FILE: z.string().min(1), KEY_FILE: z.string().min(1) }),
        ],
        { error: 'must be off, self-signed or {CERT_FILE: cert.pem, KEY_FILE: key.pem}' },
      )
      .default('off'),
    /** Where the switchboard keeps what it makes itself (the self-signed certificate); relative to the working directory. */
    STATE_DIR: z.string().min(1).default('data'),
    /**
     * Shadow traffic (ROUTE_SHADOW_* percents): its budget. Shadow requests over
     * MAX_PER_SECOND, or while MAX_IN_FLIGHT are outstanding, are dropped (counted);
     * KEEP_DIFFS differing pairs are kept per capability; JSON answers up to
     * MAX_JSON_BYTES are compared as JSON, everything else by digest.
     */
    SHADOW: z
      .strictObject({
        MAX_PER_SECOND: z.number().positive().max(100_000).default(20),
        MAX_IN_FLIGHT: z.number().int().positive().max(10_000).default(8),
        KEEP_DIFFS: z.number().int().min(0).max(1000).default(20),
        MAX_JSON_BYTES: z
          .number()
          .int()
          .positive()
          .max(8 * 1024 * 1024, { error: "at most 8388608 (8 MiB): parsed on the proxy's thread" })
          .default(1024 * 1024),
      })
      .default({ MAX_PER_SECOND: 20, MAX_IN_FLIGHT: 8, KEEP_DIFFS: 20, MAX_JSON_BYTES: 1024 * 1024 }),
    /**
     * `switchboard contract run`: who the requests are sent as (a YAML file of identities,
     * relative to this file; anonymous only when unset) and the variables its sequences use
     * (REPO, TAG, NAMESPACE, ORG, …: data that exists on the shared database).
     */
    CONTRACT: z
      .strictObject({
        IDENTITIES_FILE: z.string().min(1).optional(),
        VARS: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, { error: 'variable names are UPPER_SNAKE' }), z.union([z.string(), z.number()]).transform(String)).default({}),
        TIMEOUT_SECONDS: z.number().positive().max(600, { error: 'at most 600' }).default(30),
        /** The Host header sent to both owners (the public hostname, Quay's SERVER_HOSTNAME); their own address when unset. */
        HOST: z.string().min(1).optional(),
      })
      .optional(),
    /**
     * Run the new registry (the quay runtime, /v2) inside this process as the
     * go owner, reading the Quay keys of this same file: the quick start.
     * SWITCHBOARD.UPSTREAMS.go, when set, wins. Read at start only.
     */
    EMBEDDED_REGISTRY: z
      .strictObject({
        MODE: z.enum(['mirror'], { error: 'the embedded registry runs in mirror mode only (run `quay serve` for the others)' }).default('mirror'),
        DATA_DIR: z.string().min(1).default('data/quay'),
      })
      .optional(),
  })
  .superRefine((s, ctx) => {
    // Credentials nobody can have: the dashboard's token and users are what /status and /metrics check.
    for (const key of ['ADMIN_STATUS_AUTH', 'ADMIN_METRICS_AUTH'] as const) {
      if (s[key] && !s.DASHBOARD)
        ctx.addIssue({ code: 'custom', path: [key], message: 'needs SWITCHBOARD.DASHBOARD (ADMIN_TOKEN_FILE or USERS_FILE): its admin token and sessions are what it checks' });
    }
  });
export type SwitchboardSettings = z.infer<typeof switchboardSectionSchema>;

/** The Quay top-level keys that change how routes match and who a subject is. */
export const quaySettingsSchema = z.object({
  FEATURE_LIBRARY_SUPPORT: z.boolean({ error: 'must be true or false' }).default(QUAY_DEFAULTS.FEATURE_LIBRARY_SUPPORT),
  LIBRARY_NAMESPACE: z.string().min(1).default(QUAY_DEFAULTS.LIBRARY_NAMESPACE),
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
export function coerceEnv(kind: 'bool' | 'percent' | 'list' | 'string' | 'number', raw: string): unknown {
  const s = raw.trim();
  switch (kind) {
    case 'bool': {
      const l = s.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(l)) return true;
      if (['false', '0', 'no', 'off', ''].includes(l)) return false;
      return s;
    }
    case 'percent':
    case 'number':
      return s === '' || Number.isNaN(Number(s)) ? s : Number(s);
    case 'list':
      return s === '' ? [] : s.split(',').map((x) => x.trim());
    case 'string':
      return s;
  }
}
