/**
 * Compiles a validated SwitchConfig into the owner map of a snapshot: for
 * every inventory row (and for unknown routes of each family) the levels
 * route → capability → family → default are resolved ONCE, with the trace
 * frozen, so decide() only matches the path and, for canary, buckets.
 */
import type { Inventory, RouteRow } from '../../owner-maps/index.js';
import type { SwitchConfig, Origin, Setting } from '../config/parse.js';
import { canaryKey, ownerKey, scopeOf, SELECTORS, type Selector, type SwitchLevel } from '../config/keys.js';
import type { Owner, SwitchValue } from '../config/schema.js';
import { RouteTable } from '../../owner-maps/route-table.js';
import { percentThreshold } from './murmur2.js';
import type { Reason, TraceEntry } from './types.js';

type LevelEntry = Extract<TraceEntry, { level: SwitchLevel }>;
type KillEntry = Extract<TraceEntry, { level: 'kill_switch' }>;

export interface SelectorPlan {
  readonly selector: Selector;
  readonly key: string | null;
  readonly origin: Origin | null;
  readonly list: ReadonlySet<string> | null;
  readonly listValue: readonly string[] | null;
  readonly percent: number | null;
  /** 32-bit split_clients boundary for `percent`. */
  readonly threshold: number;
}

export interface CanaryPlan {
  readonly scope: string;
  /** The decision trace for each outcome (a selector, or 'none'), built once per plan. */
  readonly traces: Readonly<Record<Selector | 'none', readonly TraceEntry[]>>;
  readonly orgs: SelectorPlan;
  readonly repos: SelectorPlan;
  readonly users: SelectorPlan;
  readonly percent: SelectorPlan;
}

export interface Plan {
  readonly route: RouteRow | null;
  readonly family: string | null;
  readonly levels: readonly LevelEntry[];
  /** `levels` with none won: the switch levels of a trace an upload pin wins. */
  readonly levelsOutranked: readonly LevelEntry[];
  readonly winner: LevelEntry;
  readonly value: SwitchValue;
  /** Reason when the value is an owner (not canary). */
  readonly reason: Reason;
  readonly canary: CanaryPlan | null;
  /** [kill switch, ...levels]: the trace of an ordinary decision. */
  readonly trace: readonly TraceEntry[];
}

export interface OwnerMap {
  readonly table: RouteTable;
  readonly inventory: Inventory;
  readonly libraryNamespace: string;
  readonly forcePython: KillEntry;
  readonly routePlans: readonly Plan[];
  readonly familyPlans: ReadonlyMap<string, Plan>;
  readonly defaultPlan: Plan;
  /** Family path prefixes, longest first, for requests no row matches. */
  readonly prefixes: readonly { readonly prefix: string; readonly family: string }[];
  readonly workers: ReadonlyMap<string, { readonly owner: Owner; readonly key: string; readonly origin: Origin }>;
  readonly config: SwitchConfig | null;
}

const DEFAULT_ORIGIN: Origin = Object.freeze({ source: 'default' });
const tables = new Map<string, RouteTable>();

/** The route table is a function of the inventory and FEATURE_LIBRARY_SUPPORT only: compile each once. */
export function routeTableFor(inv: Inventory, librarySupport: boolean): RouteTable {
  const k = `${librarySupport}`;
  let t = tables.get(k);
  if (!t || t.size !== inv.routes.length) {
    t = RouteTable.compile(inv.routes, { librarySupport });
    tables.set(k, t);
  }
  return t;
}

const LEVEL_REASON: Record<SwitchLevel, Reason> = {
  route: 'route_switch',
  capability: 'capability_switch',
  family: 'family_switch',
  default: 'global_default',
};

function selectorPlan(switches: ReadonlyMap<string, Setting>, scope: string, selector: Selector): SelectorPlan {
  const scoped = scope === 'global' ? undefined : switches.get(canaryKey(scope, selector));
  const s = scoped ?? switches.get(canaryKey('global', selector));
  if (selector === 'percent') {
    const p = s ? (s.value as number) : null;
    return { selector, key: s?.key ?? null, origin: s?.origin ?? null, list: null, listValue: null, percent: p, threshold: p === null ? 0 : percentThreshold(p) };
  }
  const list = s ? (s.value as string[]) : null;
  return {
    selector,
    key: s?.key ?? null,
    origin: s?.origin ?? null,
    list: list ? new Set(list) : null,
    listValue: list ? Object.freeze([...list]) : null,
    percent: null,
    threshold: 0,
  };
}

function canaryPlan(switches: ReadonlyMap<string, Setting>, scope: string): Omit<CanaryPlan, 'traces'> {
  const [orgs, repos, users, percent] = SELECTORS.map((sel) => selectorPlan(switches, scope, sel)) as [SelectorPlan, SelectorPlan, SelectorPlan, SelectorPlan];
  return Object.freeze({ scope, orgs, repos, users, percent });
}

function makePlan(
  switches: ReadonlyMap<string, Setting>,
  kill: KillEntry,
  route: RouteRow | null,
  family: string | null,
  levels: readonly { level: SwitchLevel; target: string }[],
  canaryCache: Map<string, Omit<CanaryPlan, 'traces'>>,
): Plan {
  let winnerIdx = -1;
  const entries = levels.map(({ level, target }, i) => {
    const key = ownerKey(level, target);
    const s = switches.get(key);
    if (s && winnerIdx < 0) winnerIdx = i;
    return { level, key, value: (s?.value as SwitchValue | undefined) ?? null, origin: s?.origin ?? null };
  });
  if (winnerIdx < 0) {
    // Nothing set: the global default is python.
    winnerIdx = entries.length - 1;
    const last = entries[winnerIdx]!;
    entries[winnerIdx] = { ...last, value: 'python', origin: DEFAULT_ORIGIN };
  }
  // With the kill switch on, no switch level wins: the trace says so.
  const frozen = entries.map((e, i) => Object.freeze({ ...e, won: i === winnerIdx && !kill.value })) as LevelEntry[];
  const winner = kill.value ? Object.freeze({ ...frozen[winnerIdx]!, won: true }) : frozen[winnerIdx]!;
  const value = winner.value as SwitchValue;
  let canary: CanaryPlan | null = null;
  if (value === 'canary') {
    const scope = scopeOf(winner.level, levels[winnerIdx]!.target);
    const selectors = canaryCache.get(scope) ?? canaryPlan(switches, scope);
    canaryCache.set(scope, selectors);
    const base = [kill, ...frozen];
    const traceFor = (sel: Selector | null): readonly TraceEntry[] =>
      Object.freeze([...base, Object.freeze({ level: 'canary' as const, key: scope, value: (sel ? 'go' : 'python') as Owner, selected_by: sel, won: true })]);
    canary = Object.freeze({
      ...selectors,
      traces: Object.freeze({ orgs: traceFor('orgs'), repos: traceFor('repos'), users: traceFor('users'), percent: traceFor('percent'), none: traceFor(null) }),
    });
  }
  const reason: Reason = route === null && value !== 'canary' ? 'unknown_route' : LEVEL_REASON[winner.level];
  return Object.freeze({
    route,
    family,
    levels: Object.freeze(frozen),
    levelsOutranked: Object.freeze(frozen.map((e) => Object.freeze({ ...e, won: false }))),
    winner,
    value,
    reason,
    canary,
    trace: Object.freeze([kill, ...frozen]),
  });
}

/**
 * `kill`: the kill switch's state file, when it is on. It beats config.yaml and
 * the environment (an emergency action outranks a standing setting).
 */
export function compileOwnerMap(inv: Inventory, config: SwitchConfig | null, kill: Origin | null = null): OwnerMap {
  const switches: ReadonlyMap<string, Setting> = config?.switches ?? new Map();
  const quay = config?.quay ?? { FEATURE_LIBRARY_SUPPORT: true, LIBRARY_NAMESPACE: 'library' };
  const table = routeTableFor(inv, quay.FEATURE_LIBRARY_SUPPORT);
  const fp = switches.get('MIGRATION_FORCE_PYTHON');
  const on = kill !== null || (fp ? (fp.value as boolean) : false);
  const forcePython: KillEntry = Object.freeze({
    level: 'kill_switch',
    key: 'MIGRATION_FORCE_PYTHON',
    value: on,
    origin: kill ?? fp?.origin ?? DEFAULT_ORIGIN,
    won: on,
  });
  const cache = new Map<string, Omit<CanaryPlan, 'traces'>>();
  const routePlans = inv.routes.map((r) =>
    makePlan(
      switches,
      forcePython,
      r,
      r.family,
      [
        { level: 'route', target: r.id },
        { level: 'capability', target: r.capability },
        { level: 'family', target: r.family },
        { level: 'default', target: '' },
      ],
      cache,
    ),
  );
  const familyPlans = new Map(
    inv.families.map((f) => [
      f,
      makePlan(
        switches,
        forcePython,
        null,
        f,
        [
          { level: 'family', target: f },
          { level: 'default', target: '' },
        ],
        cache,
      ),
    ]),
  );
  const defaultPlan = makePlan(switches, forcePython, null, null, [{ level: 'default', target: '' }], cache);
  const prefixes = [...inv.familyPrefixes].sort((a, b) => b.prefix.length - a.prefix.length).map((f) => ({ prefix: f.prefix, family: f.family }));
  const workers = new Map(
    inv.workers.map((w) => {
      const s = switches.get(w.switchKey);
      return [w.program, { owner: (s?.value as Owner | undefined) ?? 'python', key: w.switchKey, origin: s?.origin ?? DEFAULT_ORIGIN }] as const;
    }),
  );
  return Object.freeze({
    table,
    inventory: inv,
    libraryNamespace: quay.LIBRARY_NAMESPACE,
    forcePython,
    routePlans: Object.freeze(routePlans),
    familyPlans,
    defaultPlan,
    prefixes: Object.freeze(prefixes),
    workers,
    config,
  });
}
