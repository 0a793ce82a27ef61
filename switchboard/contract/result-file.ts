/**
 * Where a capability's last contract run is kept: STATE_DIR/contracts/<CAP>.json,
 * written by `switchboard contract run` (mode 0600: its findings quote answers)
 * and read by `contract list` and the `contract` cutover gate.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../../lib/files.js';
import type { ContractResult } from './runner.js';

export function contractFile(stateDir: string, capability: string): string {
  return join(stateDir, 'contracts', `${capability}.json`);
}

export function writeContractResult(stateDir: string, result: ContractResult): void {
  const file = contractFile(stateDir, result.capability);
  mkdirSync(dirname(file), { recursive: true });
  writeFileAtomic(file, JSON.stringify(result, null, 1) + '\n', 0o600);
}

/** The last result, or null when there is none or it is not one (a hand-edited or torn file). */
export function readContractResult(stateDir: string, capability: string): ContractResult | null {
  try {
    const r = JSON.parse(readFileSync(contractFile(stateDir, capability), 'utf8')) as Partial<ContractResult>;
    return typeof r.at === 'number' && typeof r.passed === 'boolean' ? (r as ContractResult) : null;
  } catch {
    return null;
  }
}
