/**
 * The grammar of MIGRATION switch keys (DESIGN §3–§4):
 *
 *   MIGRATION_FORCE_PYTHON                              kill switch (bool)
 *   ROUTE_OWNER_DEFAULT                                 python | go | canary
 *   ROUTE_OWNER_FAMILY_<FAMILY>                         python | go | canary
 *   ROUTE_OWNER_CAP_<CAPABILITY>                        python | go | canary
 *   ROUTE_OWNER_ROUTE_<NNNN>                            python | go | canary
 *   ROUTE_CANARY_<SELECTOR>                             global canary selector
 *   ROUTE_CANARY_{FAMILY_<F>|CAP_<C>|ROUTE_<NNNN>}_<SELECTOR>   scoped selector
 *   WORKER_OWNER_<PROGRAM>                              python | go
 *   GATE_<SETTING>, GATE_CAP_<CAPABILITY>_<SETTING>     cutover gate thresholds (control/gate-thresholds.ts)
 *   ROUTE_SHADOW_{CAP_<C>|FAMILY_<F>|ROUTE_<NNNN>}      shadow percent (proxy/shadow.ts)
 *
 * SELECTOR is ORGS, REPOS, USERS (lists) or PERCENT (0–100, two decimals).
 * SETTING is one of GATE_SETTINGS; WINDOW_SECONDS is global only (one
 * sampling clock for every capability).
 */
import type { Inventory } from '../../owner-maps/index.js';
import type { ErrorCode } from '../errors.js';

export type SwitchLevel = 'route' | 'capability' | 'family' | 'default';
export type Selector = 'orgs' | 'repos' | 'users' | 'percent';
export const SELECTORS: readonly Selector[] = ['orgs', 'repos', 'users', 'percent'];

/** A canary scope as written in keys: 'global', 'CAP_V2_PULL', 'FAMILY_API_V1', 'ROUTE_0016'. */
export type Scope = string;

/** The cutover gates' thresholds (control/gate-thresholds.ts has their defaults and meaning). */
export const GATE_SETTINGS = [
  'WINDOW_SECONDS',
  'MIN_REQUESTS',
  'MAX_ERROR_RATE_DELTA',
  'MAX_P99_RATIO',
  'P99_ALLOWANCE_MS',
  'FAILED_WINDOWS',
  'AUTO_ROLLBACK',
  'COOLDOWN_SECONDS',
  'MAX_SHADOW_DIFF_RATE',
  'REQUIRE_EVIDENCE',
] as const;
export type GateSetting = (typeof GATE_SETTINGS)[number];
/** Gate settings that only exist globally. */
export const GLOBAL_ONLY_GATE_SETTINGS: readonly GateSetting[] = ['WINDOW_SECONDS'];

export type KeySpec =
  | { readonly kind: 'force_python' }
  | { readonly kind: 'gate'; readonly setting: GateSetting; readonly capability: string | null }
  | { readonly kind: 'shadow'; readonly level: 'route' | 'capability' | 'family'; readonly target: string }
  | { readonly kind: 'owner'; readonly level: SwitchLevel; readonly target: string }
  | { readonly kind: 'canary'; readonly scope: Scope; readonly selector: Selector }
  | { readonly kind: 'worker'; readonly program: string };

export interface KeyError {
  readonly code: ErrorCode;
  readonly message: string;
}

export function ownerKey(level: SwitchLevel, target: string): string {
  switch (level) {
    case 'default':
      return 'ROUTE_OWNER_DEFAULT';
    case 'family':
      return `ROUTE_OWNER_FAMILY_${target}`;
    case 'capability':
      return `ROUTE_OWNER_CAP_${target}`;
    case 'route':
      return `ROUTE_OWNER_ROUTE_${target.replace(/^ROUTE_/, '')}`;
  }
}

export function scopeOf(level: SwitchLevel, target: string): Scope {
  switch (level) {
    case 'default':
      return 'global';
    case 'family':
      return `FAMILY_${target}`;
    case 'capability':
      return `CAP_${target}`;
    case 'route':
      return target; // ROUTE_0016
  }
}

export function canaryKey(scope: Scope, selector: Selector): string {
  const sel = selector.toUpperCase();
  return scope === 'global' ? `ROUTE_CANARY_${sel}` : `ROUTE_CANARY_${scope}_${sel}`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}

/**
 * " (did you mean X?)" when one known name is close to `name`, else "".
 * Case is ignored when comparing (`route_owner_default` is close to
 * ROUTE_OWNER_DEFAULT), but the suggestion is the name as it must be written.
 */
export function suggest(name: string, known: readonly string[]): string {
  let best = '';
  let bestD = Infinity;
  const upper = name.toUpperCase();
  for (const k of known) {
    const d = editDistance(upper, k.toUpperCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best && bestD <= Math.max(2, Math.floor(name.length / 4)) ? ` (did you mean ${best}?)` : '';
}

/** The two top-level sections of config.yaml the switchboard reads; every other top-level key is Quay's. */
export const SECTIONS = ['MIGRATION', 'SWITCHBOARD'] as const;

/**
 * The section a top-level key is a near miss of (`MIGRATON`, `Migration`,
 * `switch_board`), or null. Quay's own top-level keys are free-form, so only
 * names within two edits of a section, ignoring case and `_`/`-`/spaces, are
 * caught; none of Quay's ~550 keys comes within five.
 */
export function sectionNearMiss(name: string): (typeof SECTIONS)[number] | null {
  if ((SECTIONS as readonly string[]).includes(name)) return null;
  const bare = name.toUpperCase().replace(/[^A-Z0-9]/g, '');
  return SECTIONS.find((s) => editDistance(bare, s) <= 2) ?? null;
}

function target(kind: 'route' | 'capability' | 'family', raw: string, inv: Inventory, key: string): { target: string } | KeyError {
  if (kind === 'route') {
    const id = `ROUTE_${raw}`;
    if (inv.byId.has(id)) return { target: id };
    return {
      code: 'SWB_CONFIG_UNKNOWN_ROUTE',
      message: `${key}: there is no route ${id} in the inventory (ids run ROUTE_0001..ROUTE_${String(inv.routes.length).padStart(4, '0')})`,
    };
  }
  if (kind === 'capability') {
    if (inv.capabilities.includes(raw)) return { target: raw };
    return { code: 'SWB_CONFIG_UNKNOWN_CAPABILITY', message: `${key}: unknown capability ${raw}${suggest(raw, inv.capabilities)}` };
  }
  if (inv.families.includes(raw)) return { target: raw };
  return { code: 'SWB_CONFIG_UNKNOWN_FAMILY', message: `${key}: unknown family ${raw}${suggest(raw, inv.families)}; families are ${inv.families.join(', ')}` };
}

function scoped(rest: string, inv: Inventory, key: string): { level: 'route' | 'capability' | 'family'; target: string } | KeyError | null {
  if (rest.startsWith('ROUTE_')) {
    const t = target('route', rest.slice(6), inv, key);
    return 'code' in t ? t : { level: 'route', target: t.target };
  }
  if (rest.startsWith('CAP_')) {
    const t = target('capability', rest.slice(4), inv, key);
    return 'code' in t ? t : { level: 'capability', target: t.target };
  }
  if (rest.startsWith('FAMILY_')) {
    const t = target('family', rest.slice(7), inv, key);
    return 'code' in t ? t : { level: 'family', target: t.target };
  }
  return null;
}

const EXAMPLES = [
  'MIGRATION_FORCE_PYTHON',
  'ROUTE_OWNER_DEFAULT',
  'ROUTE_OWNER_FAMILY_<FAMILY>',
  'ROUTE_OWNER_CAP_<CAPABILITY>',
  'ROUTE_OWNER_ROUTE_<NNNN>',
  'ROUTE_CANARY_{ORGS,REPOS,USERS,PERCENT}',
  'ROUTE_CANARY_{CAP_<C>,FAMILY_<F>,ROUTE_<NNNN>}_{ORGS,REPOS,USERS,PERCENT}',
  'WORKER_OWNER_<PROGRAM>',
  'GATE_<SETTING>',
  'GATE_CAP_<CAPABILITY>_<SETTING>',
  'ROUTE_SHADOW_{CAP_<C>,FAMILY_<F>,ROUTE_<NNNN>}',
];

/** GATE_<SETTING> or GATE_CAP_<CAPABILITY>_<SETTING>. */
function classifyGate(key: string, inv: Inventory): KeySpec | KeyError {
  const rest = key.slice('GATE_'.length);
  const global = GATE_SETTINGS.find((g) => g === rest);
  if (global) return { kind: 'gate', setting: global, capability: null };
  const setting = rest.startsWith('CAP_') ? GATE_SETTINGS.find((g) => rest.endsWith(`_${g}`) && rest.length > 4 + g.length + 1) : undefined;
  if (!setting) {
    const known = [...GATE_SETTINGS.map((g) => `GATE_${g}`), ...GATE_SETTINGS.filter((g) => !GLOBAL_ONLY_GATE_SETTINGS.includes(g)).map((g) => `GATE_CAP_<CAPABILITY>_${g}`)];
    return {
      code: 'SWB_CONFIG_UNKNOWN_KEY',
      message: `${key}: not a gate setting${suggest(key, known)}; gate settings are GATE_{${GATE_SETTINGS.join(',')}} and GATE_CAP_<CAPABILITY>_<SETTING>`,
    };
  }
  const cap = rest.slice(4, rest.length - setting.length - 1);
  if (!inv.capabilities.includes(cap)) return { code: 'SWB_CONFIG_UNKNOWN_CAPABILITY', message: `${key}: unknown capability ${cap}${suggest(cap, inv.capabilities)}` };
  if (GLOBAL_ONLY_GATE_SETTINGS.includes(setting)) return { code: 'SWB_CONFIG_UNKNOWN_KEY', message: `${key}: ${setting} is global only: set GATE_${setting}` };
  return { kind: 'gate', setting, capability: cap };
}

/** Classifies one MIGRATION key, or explains why it is not one. */
export function classifyKey(key: string, inv: Inventory): KeySpec | KeyError {
  if (key === 'MIGRATION_FORCE_PYTHON') return { kind: 'force_python' };
  if (key === 'ROUTE_OWNER_DEFAULT') return { kind: 'owner', level: 'default', target: '' };
  if (key.startsWith('ROUTE_OWNER_')) {
    const s = scoped(key.slice('ROUTE_OWNER_'.length), inv, key);
    if (s) return 'code' in s ? s : { kind: 'owner', level: s.level, target: s.target };
  } else if (key.startsWith('ROUTE_SHADOW_')) {
    const sc = scoped(key.slice('ROUTE_SHADOW_'.length), inv, key);
    if (sc) return 'code' in sc ? sc : { kind: 'shadow', level: sc.level, target: sc.target };
  } else if (key.startsWith('ROUTE_CANARY_')) {
    const rest = key.slice('ROUTE_CANARY_'.length);
    const us = rest.lastIndexOf('_');
    const sel = (us < 0 ? rest : rest.slice(us + 1)).toLowerCase() as Selector;
    if (SELECTORS.includes(sel)) {
      if (us < 0) return { kind: 'canary', scope: 'global', selector: sel };
      const s = scoped(rest.slice(0, us), inv, key);
      if (s) return 'code' in s ? s : { kind: 'canary', scope: scopeOf(s.level, s.target), selector: sel };
    }
  } else if (key.startsWith('GATE_')) {
    return classifyGate(key, inv);
  } else if (key.startsWith('WORKER_OWNER_')) {
    const w = inv.workers.find((x) => x.switchKey === key);
    if (w) return { kind: 'worker', program: w.program };
    return {
      code: 'SWB_CONFIG_UNKNOWN_WORKER',
      message: `${key}: unknown worker program${suggest(
        key,
        inv.workers.map((x) => x.switchKey),
      )}`,
    };
  }
  // Keys are case-sensitive (as Quay reads them): `route_owner_cap_v2_pull` is not a switch, but says which one it meant.
  const upper = key.toUpperCase();
  const meant = upper !== key && !('code' in classifyKey(upper, inv)) ? ` (did you mean ${upper}?)` : suggest(key, EXAMPLES);
  return { code: 'SWB_CONFIG_UNKNOWN_KEY', message: `${key}: not a switch${meant}; switches are ${EXAMPLES.join(', ')}` };
}

/** True for environment variable names that are meant as switches (and so are validated as such). */
export function isSwitchEnvName(name: string): boolean {
  return (
    name === 'MIGRATION_FORCE_PYTHON' ||
    name.startsWith('ROUTE_OWNER_') ||
    name.startsWith('ROUTE_CANARY_') ||
    name.startsWith('WORKER_OWNER_') ||
    name.startsWith('GATE_') ||
    name.startsWith('ROUTE_SHADOW_')
  );
}
