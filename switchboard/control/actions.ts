/**
 * Operator actions as switch changes: what the dashboard's buttons and the
 * control API's /plan mean in MIGRATION keys. Pure: the changes are computed
 * against a snapshot and written by control/switches.ts.
 */
import type { Inventory } from '../../owner-maps/index.js';
import { SwitchboardError } from '../errors.js';
import { canaryKey, ownerKey, SELECTORS, suggest, type Selector, type SwitchLevel } from '../config/keys.js';
import type { Snapshot } from '../core/snapshot.js';
import type { SwitchChange } from './switches.js';

/** The canary ramp's standard steps. */
export const RAMP_STEPS = [5, 10, 25, 50, 100] as const;

export type Action =
  | { readonly action: 'owner'; readonly scope: string; readonly value: 'python' | 'go' | 'canary' | null }
  | { readonly action: 'ramp'; readonly scope: string; readonly percent: number | 'next' }
  | { readonly action: 'lists'; readonly scope: string; readonly selector: Exclude<Selector, 'percent'>; readonly values: readonly string[] }
  | { readonly action: 'rollback'; readonly scope: string }
  | { readonly action: 'kill'; readonly on: boolean };

/** A scope as written in keys ('CAP_V2_PULL', 'FAMILY_API_V1', 'ROUTE_0016', 'global') as a switch level and target. */
export function parseScope(scope: string, inv: Inventory): { level: SwitchLevel; target: string } {
  if (scope === 'global') return { level: 'default', target: '' };
  if (scope.startsWith('CAP_') && inv.capabilities.includes(scope.slice(4))) return { level: 'capability', target: scope.slice(4) };
  if (scope.startsWith('FAMILY_') && inv.families.includes(scope.slice(7))) return { level: 'family', target: scope.slice(7) };
  if (/^ROUTE_\d{4}$/.test(scope) && inv.byId.has(scope)) return { level: 'route', target: scope };
  // As the CLI's key check: capabilities and families get a did-you-mean; route ids are numbers, not spellings.
  const known = ['global', ...inv.capabilities.map((c) => `CAP_${c}`), ...inv.families.map((f) => `FAMILY_${f}`)];
  throw new SwitchboardError('SWB_CLI_USAGE', `unknown scope ${JSON.stringify(scope)}${suggest(scope, known)}: use global, CAP_<capability>, FAMILY_<family> or ROUTE_<nnnn>`);
}

/** A MIGRATION switch's value in a snapshot (environment overrides included), or null when unset. */
export function switchValue(s: Snapshot, key: string): unknown {
  return s.owner_map.config?.switches.get(key)?.value ?? null;
}

/** The percent in force for a scope: its own, else the global one (as the canary reads it). */
export function effectivePercent(s: Snapshot, scope: string): number | null {
  const v = switchValue(s, canaryKey(scope, 'percent')) ?? (scope === 'global' ? null : switchValue(s, canaryKey('global', 'percent')));
  return typeof v === 'number' ? v : null;
}

/** The percent a ramp goes to next: the first standard step above `now`. */
export function nextStep(now: number | null): number {
  return RAMP_STEPS.find((p) => p > (now ?? 0)) ?? 100;
}

export function planAction(a: Action, s: Snapshot): SwitchChange[] {
  const inv = s.owner_map.inventory;
  if (a.action === 'kill') return [{ key: 'MIGRATION_FORCE_PYTHON', value: a.on ? true : null }];
  const { level, target } = parseScope(a.scope, inv);
  const owner = ownerKey(level, target);
  switch (a.action) {
    case 'owner':
      return [{ key: owner, value: a.value }];
    case 'ramp': {
      const pkey = canaryKey(a.scope, 'percent');
      // Next from what the canary runs at now (an inherited global percent too): a ramp never lowers it.
      const percent = a.percent === 'next' ? nextStep(effectivePercent(s, a.scope)) : a.percent;
      if (!Number.isFinite(percent) || percent < 0 || percent > 100) throw new SwitchboardError('SWB_CONFIG_BAD_PERCENT', `${percent} is not a percent from 0 to 100`);
      const out: SwitchChange[] = [];
      if (switchValue(s, owner) !== 'canary') out.push({ key: owner, value: 'canary' });
      out.push({ key: pkey, value: percent });
      return out;
    }
    case 'lists': {
      const values = [...new Set(a.values.map((v) => v.trim()).filter((v) => v !== ''))];
      return [{ key: canaryKey(a.scope, a.selector), value: values.length ? values : null }];
    }
    case 'rollback': {
      // Back to python: the scope's own canary settings cleared (a new ramp starts from zero), and the
      // more specific switches under it (capabilities of a family, routes of either) removed, so
      // every route of the scope is on python afterwards.
      const out: SwitchChange[] = [{ key: owner, value: 'python' }];
      const clear = (sc: string, ownerK: string | null): void => {
        if (ownerK !== null && switchValue(s, ownerK) !== null) out.push({ key: ownerK, value: null });
        for (const sel of SELECTORS) if (switchValue(s, canaryKey(sc, sel)) !== null) out.push({ key: canaryKey(sc, sel), value: null });
      };
      if (a.scope !== 'global') clear(a.scope, null);
      if (level === 'capability' || level === 'family') {
        const routes = inv.routes.filter((r) => (level === 'capability' ? r.capability === target : r.family === target));
        if (level === 'family') for (const c of new Set(routes.map((r) => r.capability))) clear(`CAP_${c}`, ownerKey('capability', c));
        for (const r of routes) clear(r.id, ownerKey('route', r.id));
      }
      return out;
    }
  }
}

/** An action from form or JSON fields, checked. */
export function actionFrom(f: Record<string, unknown>): Action {
  const str = (k: string): string => (typeof f[k] === 'string' ? (f[k] as string) : '');
  switch (str('action')) {
    case 'kill': {
      const on = f.on === true || str('on') === 'true' || str('on') === 'on' ? true : f.on === false || str('on') === 'false' || str('on') === 'off' ? false : null;
      if (on === null) throw new SwitchboardError('SWB_CLI_USAGE', `kill: "on" must be true or false, not ${JSON.stringify(f.on)}`);
      return { action: 'kill', on };
    }
    case 'owner': {
      const v = str('value');
      if (!['python', 'go', 'canary', 'unset'].includes(v)) throw new SwitchboardError('SWB_CONFIG_BAD_OWNER', `owner ${JSON.stringify(v)}: use python, go, canary or unset`);
      return { action: 'owner', scope: str('scope'), value: v === 'unset' ? null : (v as 'python' | 'go' | 'canary') };
    }
    case 'ramp': {
      const raw = f.percent;
      const percent = raw === 'next' ? 'next' : typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
      if (percent !== 'next' && Number.isNaN(percent))
        throw new SwitchboardError('SWB_CONFIG_BAD_PERCENT', `${JSON.stringify(raw)} is not a percent: give a number from 0 to 100, or "next"`);
      return { action: 'ramp', scope: str('scope'), percent };
    }
    case 'lists': {
      const sel = str('selector');
      if (sel !== 'orgs' && sel !== 'repos' && sel !== 'users') throw new SwitchboardError('SWB_CLI_USAGE', 'selector must be orgs, repos or users');
      if (Array.isArray(f.values) && f.values.some((v) => typeof v !== 'string')) throw new SwitchboardError('SWB_CLI_USAGE', 'values must be names (strings)');
      const values = Array.isArray(f.values) ? (f.values as string[]) : str('values').split(/[\s,]+/);
      const bad = values.find((v) => /[\u0000-\u001f\u007f\u2028\u2029]/.test(v) || /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v));
      if (bad !== undefined) throw new SwitchboardError('SWB_CLI_USAGE', `${JSON.stringify(bad)} is not a name: no control characters or broken Unicode`);
      return { action: 'lists', scope: str('scope'), selector: sel, values };
    }
    case 'rollback':
      return { action: 'rollback', scope: str('scope') };
    default:
      throw new SwitchboardError('SWB_CLI_USAGE', `unknown action ${JSON.stringify(str('action'))}: use owner, ramp, lists, rollback or kill`);
  }
}
