/**
 * Stable error codes of the switchboard component. Callers compare `code`,
 * never message text. ERRORS.md lists the same table; a test keeps them equal.
 */
import { CodedError } from '../lib/errors.js';

export const ERROR_CODES = {
  SWB_ROUTE_BAD_PATTERN: 'A route pattern in the inventory cannot be parsed',
  SWB_ROUTE_AMBIGUOUS: 'Two inventory rows have the same method and pattern shape',
  SWB_ROUTE_SHADOWED: 'An inventory row can never be matched because another row always wins',
  SWB_INVENTORY_UNREADABLE: 'The route or worker inventory file is missing or malformed',
  SWB_CONFIG_UNREADABLE: 'The config file cannot be read',
  SWB_CONFIG_YAML: 'The config file is not valid YAML',
  SWB_CONFIG_NOT_MAPPING: 'The config file, or its MIGRATION or SWITCHBOARD section, is not a mapping',
  SWB_CONFIG_UNKNOWN_KEY: 'A key in MIGRATION, SWITCHBOARD or the environment is not a known switch or setting',
  SWB_CONFIG_UNKNOWN_ROUTE: 'A switch names a route id that is not in the inventory',
  SWB_CONFIG_UNKNOWN_CAPABILITY: 'A switch names a capability that is not in the inventory',
  SWB_CONFIG_UNKNOWN_FAMILY: 'A switch names a family that is not in the inventory',
  SWB_CONFIG_UNKNOWN_WORKER: 'A worker switch names a program that is not in the worker inventory',
  SWB_CONFIG_BAD_OWNER: 'A switch value is not one of the owners it accepts',
  SWB_CONFIG_BAD_PERCENT: 'A canary percent is not a number from 0 to 100 with at most two decimals',
  SWB_CONFIG_BAD_VALUE: 'A setting has a value of the wrong type or shape',
  SWB_CONFIG_CONFLICT: 'The config file changed between reading and writing it',
  SWB_STATE_UNWRITABLE: 'The state directory (STATE_DIR) cannot be written: the kill file or a saved config cannot be kept',
  SWB_CONFIG_NO_EFFECT: 'A warning, not an error: a valid setting does nothing as the config stands (a canary selector whose scope is not canary)',
  SWB_GO_NOT_IMPLEMENTED: 'A change would send requests of a capability to go, and go says it does not implement it (its readiness document): refused unless forced with a reason',
  SWB_GATE_FAILED:
    'A ramp would send more of a capability to go while one of its cutover gates fails (or, with GATE_REQUIRE_EVIDENCE, has no evidence): refused unless overridden with a reason',
  SWB_GATE_COOLDOWN: 'Automatic rollback of a capability cannot be re-armed yet: it was rolled back less than GATE_COOLDOWN_SECONDS ago',
  SWB_CLI_USAGE: 'A command line is malformed',
  SWB_EXPLAIN_BAD_PATH: 'The path given to --explain is not a request path',
  SWB_NGINX_REJECTED: 'The rendered nginx configuration failed its test; the file in place is unchanged',
  SWB_NGINX_RELOAD_FAILED: 'The reload command failed after a new nginx configuration was installed',
  SWB_INTERNAL: 'An unexpected error (a bug); SWITCHBOARD_DEBUG=1 prints its stack trace',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SwitchboardError extends CodedError<ErrorCode> {}

/** A SwitchboardError, or another component's error carrying a switchboard code (the inventory's, owner-maps/errors.ts). */
export function isSwitchboardError(e: unknown): e is SwitchboardError {
  return e instanceof CodedError && Object.hasOwn(ERROR_CODES, e.code);
}
