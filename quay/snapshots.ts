/**
 * The live snapshot the go runtime runs its background programs by: the
 * MIGRATION section of the same config.yaml (WORKER_OWNER_<PROGRAM>, the kill
 * switch in its file and environment variable), watched as the switchboard
 * watches it. Without a config file, the inventory's defaults (everything
 * python) hold.
 */
import { loadInventory } from '../owner-maps/index.js';
import type { Logger } from '../lib/log.js';
import { formatIssue, parseConfig, type Env } from '../switchboard/config/parse.js';
import { resolveStateDir } from '../switchboard/config/kill-switch.js';
import { buildSnapshot, hardFailureSnapshot } from '../switchboard/core/snapshot.js';
import { FileSnapshotProvider } from '../switchboard/snapshots/provider.js';
import { fixedSource, type SnapshotSource } from '../workers/runner.js';

export interface LiveSnapshots extends SnapshotSource {
  close(): Promise<void>;
}

/** The inventory's defaults with the environment's switches over them, fixed (no config file to watch). */
export function fixedSnapshots(env: Env = {}, log?: Logger): SnapshotSource {
  const inventory = loadInventory();
  const empty = parseConfig('', '(no config file)', inventory, env);
  if (!empty.ok) {
    // As the file provider does with a config it cannot use: everything to python, said loudly.
    log?.error("the environment's migration switches are invalid: every background program stays with python", { issues: empty.issues.map(formatIssue) });
    return fixedSource(hardFailureSnapshot(inventory, '(environment)', 1, new Date()));
  }
  return fixedSource(buildSnapshot(inventory, empty.config, 1, new Date()));
}

export async function openSnapshots(o: { readonly configFile: string | undefined; readonly env: Env; readonly cwd: string; readonly log: Logger }): Promise<LiveSnapshots> {
  const inventory = loadInventory();
  if (!o.configFile) return { ...fixedSnapshots(o.env, o.log), close: async () => undefined };
  const stateDir = resolveStateDir({ configFile: o.configFile, cwd: o.cwd, env: o.env });
  const provider = await FileSnapshotProvider.start({ file: o.configFile, inventory, env: o.env, log: o.log, stateDir, restoreLastGood: false });
  return { current: () => provider.current(), onChange: (fn) => provider.onChange(fn), close: () => provider.close() };
}
