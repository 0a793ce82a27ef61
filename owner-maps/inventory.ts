/**
 * The project's own inventory of Quay's HTTP routes and background programs.
 *
 *   owner-maps/routes.tsv    one row per (method, Flask rule) of real Quay: 435 rows,
 *                            ids ROUTE_0001..; regenerate with scripts/import-routes.mjs
 *   owner-maps/families.tsv  the route families and the path prefix that marks each one
 *   owner-maps/workers.tsv   the supervisord programs a WORKER_OWNER_<PROGRAM> switch can move
 */
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InventoryError } from './errors.js';

export interface RouteRow {
  /** Position in routes.tsv, 0-based; stable for one inventory. */
  readonly index: number;
  readonly id: string;
  readonly family: string;
  readonly method: string;
  readonly pattern: string;
  readonly capability: string;
  readonly mutating: boolean;
  readonly handler: string;
  readonly source: string;
  /** Set when Quay's router can never reach this row: the row that answers its paths instead. */
  readonly shadowedBy: string;
  readonly notes: string;
}

export interface WorkerRow {
  readonly program: string;
  readonly switchKey: string;
  readonly kind: string;
  readonly queue: string;
}

export interface FamilyRow {
  readonly family: string;
  /** Path prefix that marks the family for requests no row matches; '' when none. */
  readonly prefix: string;
}

export interface Inventory {
  readonly routes: readonly RouteRow[];
  readonly byId: ReadonlyMap<string, RouteRow>;
  readonly capabilities: readonly string[];
  readonly families: readonly string[];
  readonly familyPrefixes: readonly FamilyRow[];
  readonly workers: readonly WorkerRow[];
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const ROUTE_ID_RE = /^ROUTE_\d{4}$/;
const NAME_RE = /^[A-Z][A-Z0-9_]*$/;

function locate(name: string): string {
  // Source tree (owner-maps/x.ts) and build tree (dist/owner-maps/x.js) both find the data.
  for (const rel of [`./${name}`, `../../owner-maps/${name}`]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new InventoryError('SWB_INVENTORY_UNREADABLE', `owner-maps/${name} not found next to ${fileURLToPath(import.meta.url)}`);
}

function readTsv(file: string): { line: number; cells: Record<string, string> }[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const header = (lines[0] ?? '').split('\t');
  const out: { line: number; cells: Record<string, string> }[] = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.length === 0) continue;
    const vals = l.split('\t');
    const cells: Record<string, string> = {};
    header.forEach((h, j) => {
      cells[h] = vals[j] ?? '';
    });
    out.push({ line: i + 1, cells });
  }
  return out;
}

function bad(file: string, line: number, msg: string): never {
  throw new InventoryError('SWB_INVENTORY_UNREADABLE', `${file}:${line}: ${msg}`);
}

export function parseRoutes(file: string): RouteRow[] {
  const seen = new Set<string>();
  return readTsv(file).map(({ line, cells }, index) => {
    const row: RouteRow = {
      index,
      id: cells.route_id ?? '',
      family: cells.family ?? '',
      method: cells.method ?? '',
      pattern: cells.pattern ?? '',
      capability: cells.capability ?? '',
      mutating: cells.mutating === 'yes',
      handler: cells.handler ?? '',
      source: cells.source ?? '',
      shadowedBy: cells.shadowed_by ?? '',
      notes: cells.notes ?? '',
    };
    if (!ROUTE_ID_RE.test(row.id)) bad(file, line, `bad route id "${row.id}"`);
    if (seen.has(row.id)) bad(file, line, `duplicate route id ${row.id}`);
    seen.add(row.id);
    if (!METHODS.has(row.method)) bad(file, line, `${row.id}: bad method "${row.method}"`);
    if (!NAME_RE.test(row.family)) bad(file, line, `${row.id}: bad family "${row.family}"`);
    if (!NAME_RE.test(row.capability)) bad(file, line, `${row.id}: bad capability "${row.capability}"`);
    return row;
  });
}

let cached: Inventory | undefined;

/** Loads and checks the inventory once per process; the result is frozen. */
export function loadInventory(): Inventory {
  if (cached) return cached;
  const routesFile = locate('routes.tsv');
  const routes = parseRoutes(routesFile);
  const familiesFile = locate('families.tsv');
  const familyPrefixes = readTsv(familiesFile).map(({ cells }) => ({ family: cells.family ?? '', prefix: cells.path_prefix ?? '' }));
  const families = [...new Set(familyPrefixes.map((f) => f.family))];
  for (const r of routes) {
    if (!families.includes(r.family)) bad(routesFile, r.index + 2, `${r.id}: family ${r.family} is not in families.tsv`);
  }
  const workersFile = locate('workers.tsv');
  const workers = readTsv(workersFile).map(({ line, cells }) => {
    const w = { program: cells.program ?? '', switchKey: cells.switch_key ?? '', kind: cells.kind ?? '', queue: cells.queue ?? '' };
    const expected = 'WORKER_OWNER_' + w.program.toUpperCase().replace(/-/g, '_');
    if (w.switchKey !== expected) bad(workersFile, line, `switch key for ${w.program} must be ${expected}`);
    return Object.freeze(w);
  });
  cached = Object.freeze({
    routes: Object.freeze(routes.map((r) => Object.freeze(r))),
    byId: new Map(routes.map((r) => [r.id, r])),
    capabilities: Object.freeze([...new Set(routes.map((r) => r.capability))].sort()),
    families: Object.freeze(families),
    familyPrefixes: Object.freeze(familyPrefixes.filter((f) => f.prefix !== '').map((f) => Object.freeze(f))),
    workers: Object.freeze(workers),
  });
  return cached;
}
