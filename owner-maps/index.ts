export { loadInventory, parseRoutes } from './inventory.js';
export type { Inventory, RouteRow, WorkerRow, FamilyRow } from './inventory.js';
