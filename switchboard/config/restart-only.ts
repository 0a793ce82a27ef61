/**
 * SWITCHBOARD settings that `serve` reads once at start: a live change to one
 * of them is logged (warn) as taking effect on restart. Everything else
 * (switches, UPSTREAMS, timeouts, pins, debug headers) applies to the next
 * request; the dashboard's users and token files are re-read when they change.
 */
import type { SwitchboardSettings } from './schema.js';

export const RESTART_ONLY = ['LISTEN', 'ADMIN_LISTEN', 'TLS', 'DASHBOARD', 'EMBEDDED_REGISTRY', 'REDIS_URL', 'ACCESS_LOG', 'MAX_CONNECTIONS'] as const;

/** The restart-only keys whose value differs between the settings serve started with and `next`. */
export function restartOnlyChanges(started: SwitchboardSettings, next: SwitchboardSettings, stateDirMoved: boolean): string[] {
  const out: string[] = RESTART_ONLY.filter((k) => JSON.stringify(started[k] ?? null) !== JSON.stringify(next[k] ?? null)).map((k) => `SWITCHBOARD.${k}`);
  if (stateDirMoved) out.push('SWITCHBOARD.STATE_DIR');
  return out;
}
