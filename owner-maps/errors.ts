/**
 * Errors of the route inventory and its compiled route table. Their codes
 * are the switchboard's (switchboard/errors.ts and ERRORS.md list them): the
 * inventory is read by the switchboard and the go side alike, and neither
 * depends on the other for it.
 */
import { CodedError } from '../lib/errors.js';

export type InventoryErrorCode = 'SWB_ROUTE_BAD_PATTERN' | 'SWB_ROUTE_AMBIGUOUS' | 'SWB_ROUTE_SHADOWED' | 'SWB_INVENTORY_UNREADABLE';

export class InventoryError extends CodedError<InventoryErrorCode> {}
