/**
 * A snapshot: the immutable, validated, compiled state of all switches.
 * Every request is decided against exactly one snapshot.
 */
import type { Inventory } from '../../owner-maps/index.js';
import type { Origin, SwitchConfig } from '../config/parse.js';
import { switchboardSectionSchema, type Owner, type SwitchboardSettings } from '../config/schema.js';
import { compileOwnerMap, type OwnerMap } from './owner-map.js';

export interface Snapshot {
  /** Increases by one with every snapshot a provider installs. */
  readonly version: number;
  /** ISO-8601 time the snapshot was loaded. */
  readonly updated_at: string;
  readonly source: { readonly file: string; readonly digest: string | null };
  /** True when no valid config was ever loaded: everything goes to python. */
  readonly hard_failure: boolean;
  readonly settings: SwitchboardSettings;
  readonly owner_map: OwnerMap;
}

/** `kill`: the kill switch's state file when it is on (see control/kill-switch.ts). */
export function buildSnapshot(inv: Inventory, config: SwitchConfig, version: number, now: Date, kill: Origin | null = null): Snapshot {
  return Object.freeze({
    version,
    updated_at: now.toISOString(),
    source: Object.freeze({ file: config.file, digest: config.digest }),
    hard_failure: false,
    settings: config.settings,
    owner_map: compileOwnerMap(inv, config, kill),
  });
}

/** The python-for-everything snapshot used when no valid config was ever loaded. */
export function hardFailureSnapshot(inv: Inventory, file: string, version: number, now: Date, kill: Origin | null = null): Snapshot {
  return Object.freeze({
    version,
    updated_at: now.toISOString(),
    source: Object.freeze({ file, digest: null }),
    hard_failure: true,
    settings: switchboardSectionSchema.parse({}),
    owner_map: compileOwnerMap(inv, null, kill),
  });
}

/**
 * How many inventory routes each owner serves under `s`: a canary route counts
 * for both owners; under the kill switch or a hard failure every route is python's.
 */
export function routesByOwner(s: Snapshot): Record<Owner, number> {
  const n = s.owner_map.routePlans.length;
  if (s.hard_failure || s.owner_map.forcePython.value) return { python: n, go: 0 };
  const out: Record<Owner, number> = { python: 0, go: 0 };
  for (const p of s.owner_map.routePlans) {
    if (p.value === 'canary') {
      out.python++;
      out.go++;
    } else out[p.value]++;
  }
  return out;
}
