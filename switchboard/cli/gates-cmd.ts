/**
 * `switchboard gates [CAP]` and `switchboard gates arm CAP --reason R`: the
 * cutover gates of a running switchboard (its control API), which holds the
 * live evidence (windows judged from its own traffic, go's readiness).
 */
import { CONTROL_API_PREFIX } from '../control/legacy-prefix.js';
import { SwitchboardError } from '../errors.js';
import { args, configPath, EXIT_FAIL, EXIT_OK, json, table, usageFor, type Io } from './common.js';
import { adminToken, runningServe, serverGet, serverPost } from './live.js';
import { resolveStateDir } from '../config/kill-switch.js';
import { readFileSync } from 'node:fs';
import type { Checklist, GateLine } from '../control/gate-checklist.js';

export const GATES_USAGE = `Usage: switchboard gates [CAPABILITY] [options]
       switchboard gates arm CAPABILITY --reason TEXT [options]

The cutover gates of each capability go serves (or of CAPABILITY), from the
running switchboard: readiness, contract, shadow, budget, canary_health and
auto_rollback, each with its status (pass, fail, none = no evidence yet,
warn), its evidence and the evidence's age. Exit 0 when no gate shown fails,
1 when one does (a script can gate a ramp on it).

\`gates arm\` re-arms automatic rollback of a capability after the gates
rolled it back (refused during GATE_COOLDOWN_SECONDS); audited.

Options:
  --config FILE      config.yaml (default $SWITCHBOARD_CONFIG, else ./config.yaml);
                     its STATE_DIR names the running switchboard
  --server URL       the switchboard's admin listener (default: the serve
                     running on the config's STATE_DIR)
  --token-file FILE  the admin token (default $SWITCHBOARD_ADMIN_TOKEN, else
                     the config's DASHBOARD.ADMIN_TOKEN_FILE)
  --reason TEXT      why (arm only; goes to the audit log)
  --json             print the control API's JSON
  -h, --help         this help
`;

const STATUS: Record<string, string> = { pass: 'pass', fail: 'FAIL', none: '-', warn: 'warn' };

function age(s: number | null): string {
  if (s === null) return '';
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

function rows(c: Checklist): string[][] {
  return c.gates.map((g: GateLine) => [c.capability, g.gate, STATUS[g.status] ?? g.status, age(g.age_seconds), g.evidence]);
}

export async function gatesCommand(argv: string[], io: Io): Promise<number> {
  const a = args(
    argv,
    { config: { type: 'string' }, server: { type: 'string' }, 'token-file': { type: 'string' }, reason: { type: 'string' }, json: { type: 'boolean' } },
    GATES_USAGE,
  );
  if (a.values.help) {
    io.out(usageFor(GATES_USAGE, a.positionals[0]));
    return EXIT_OK;
  }
  const file = configPath(a.values.config as string | undefined, io);
  let server = a.values.server as string | undefined;
  if (!server) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      /* no config: STATE_DIR from the environment or the default */
    }
    const run = runningServe(resolveStateDir({ configFile: file, cwd: io.cwd, env: io.env, text }));
    if (!run) throw new SwitchboardError('SWB_CLI_USAGE', `no switchboard is running on this config's STATE_DIR: give --server URL (its admin listener)`);
    server = run.admin;
  }
  const token = adminToken({ tokenFile: a.values['token-file'] as string | undefined, env: io.env, cwd: io.cwd, configFile: file });
  const pos = a.positionals;
  if (pos[0] === 'arm') {
    if (pos.length !== 2) throw new SwitchboardError('SWB_CLI_USAGE', `give one capability: switchboard gates arm CAPABILITY --reason TEXT\n\n${GATES_USAGE}`);
    const reason = (a.values.reason as string | undefined)?.trim();
    if (!reason) throw new SwitchboardError('SWB_CLI_USAGE', 'say why with --reason: it goes to the audit log');
    const r = await serverPost(server, `${CONTROL_API_PREFIX}/gates/${encodeURIComponent(pos[1]!)}/arm`, token, { reason });
    if (a.values.json) json(io, r);
    else io.out(`${pos[1]}: automatic rollback re-armed (audited as ${r.audit?.actor ?? 'you'})`);
    return EXIT_OK;
  }
  if (pos.length > 1) throw new SwitchboardError('SWB_CLI_USAGE', `give at most one capability\n\n${GATES_USAGE}`);
  const lists: Checklist[] = [];
  let body: unknown;
  if (pos.length === 1) {
    const cap = pos[0]!;
    if (!/^[A-Z0-9_]+$/.test(cap)) throw new SwitchboardError('SWB_CLI_USAGE', `${JSON.stringify(cap)} is not a capability name (e.g. V2_PULL)`);
    const c = (await serverGet(server, `${CONTROL_API_PREFIX}/gates/${cap}`, token)) as Checklist;
    lists.push(c);
    body = c;
  } else {
    const all = (await serverGet(server, `${CONTROL_API_PREFIX}/gates`, token)) as { capabilities: Checklist[] };
    lists.push(...all.capabilities);
    body = all;
  }
  const failing = lists.some((c) => !c.passed);
  if (a.values.json) json(io, body);
  else if (lists.length === 0) io.out('no capability is sent to go, and none has gate evidence yet');
  else io.out(table([['CAPABILITY', 'GATE', 'STATUS', 'AGE', 'EVIDENCE'], ...lists.flatMap(rows)]));
  return failing ? EXIT_FAIL : EXIT_OK;
}
