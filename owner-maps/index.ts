export { loadInventory, parseRoutes } from './inventory.js';
export type { Inventory, RouteRow, WorkerRow, FamilyRow } from './inventory.js';
export { RouteTable, normalizePath, type RouteMatch, type RouteTableOptions } from './route-table.js';
export { InventoryError } from './errors.js';
export { WELL_KNOWN_PATH, CONTRACT_VERSION } from './readiness.js';
export { QUAY_DEFAULTS } from './quay-defaults.js';
export type { RouteRecordBase, Surface } from './surface.js';
