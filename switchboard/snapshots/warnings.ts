/**
 * Warnings: settings that are valid but do nothing as the configuration
 * stands. They never make a config invalid (the proxy installs it, `set`
 * writes it); `config validate`, `set`, the dashboard's preview and the
 * control API's plan report them.
 *
 * A canary selector is read only when a plan (a route, the unknown routes of
 * a family, or the default) resolves to `canary`:
 *
 *   ROUTE_CANARY_<SCOPE>_<SEL>   by the plans whose winning owner switch is <SCOPE>'s
 *   ROUTE_CANARY_<SEL>           by the canary plans whose scope has no <SEL> of its own
 *
 * Which key each canary plan reads is taken from the compiled owner map
 * decide() uses, so a warning says exactly what the proxy does. Pure: no I/O.
 */
import type { Inventory } from '../../owner-maps/index.js';
import { compileOwnerMap } from '../core/owner-map.js';
import type { ErrorCode } from '../errors.js';
import { canaryKey, SELECTORS } from '../config/keys.js';
import type { Setting, SwitchConfig } from '../config/parse.js';

/** The shape of a ConfigIssue, so the same formatIssue() prints both. */
export interface ConfigWarning {
  readonly code: ErrorCode;
  /** `MIGRATION.<KEY>` for a file setting, the variable's name for an environment one. */
  readonly key: string;
  readonly file?: string;
  readonly line?: number;
  readonly message: string;
}

/** The owner switch that makes a scope canary: CAP_V2_PULL → ROUTE_OWNER_CAP_V2_PULL. */
function ownerSwitchOf(scope: string): string {
  return scope === 'global' ? 'ROUTE_OWNER_DEFAULT' : `ROUTE_OWNER_${scope}`;
}

function warning(s: Setting, message: string): ConfigWarning {
  const code: ErrorCode = 'SWB_CONFIG_NO_EFFECT';
  if (s.origin.source === 'file') return { code, key: `MIGRATION.${s.key}`, file: s.origin.file, line: s.origin.line, message };
  return { code, key: s.key, message };
}

/** Every canary selector that no canary plan reads, with why. */
export function configWarnings(config: SwitchConfig, inv: Inventory): ConfigWarning[] {
  const map = compileOwnerMap(inv, config);
  const read = new Set<string>();
  const canaryScopes = new Set<string>();
  for (const p of [...map.routePlans, ...map.familyPlans.values(), map.defaultPlan]) {
    if (!p.canary) continue;
    canaryScopes.add(p.canary.scope);
    for (const sel of SELECTORS) if (p.canary[sel].key) read.add(p.canary[sel].key!);
  }
  const out: ConfigWarning[] = [];
  for (const s of config.switches.values()) {
    if (s.spec.kind !== 'canary' || read.has(s.key)) continue;
    const { scope, selector } = s.spec;
    if (scope === 'global') {
      const own = [...canaryScopes].map((sc) => canaryKey(sc, selector));
      out.push(
        warning(
          s,
          own.length === 0
            ? `${s.key} has no effect until an owner switch (ROUTE_OWNER_DEFAULT, _FAMILY_, _CAP_ or _ROUTE_) is canary`
            : `${s.key} has no effect: every canary scope sets its own (${own.join(', ')})`,
        ),
      );
      continue;
    }
    const owner = ownerSwitchOf(scope);
    const value = config.switches.get(owner)?.value ?? null;
    out.push(
      warning(
        s,
        value === 'canary'
          ? `${s.key} has no effect: ${owner} is canary, but more specific switches decide every route of ${scope}`
          : `${s.key} has no effect until ${owner} is canary (it is ${value === null ? 'unset' : String(value)})`,
      ),
    );
  }
  return out;
}
