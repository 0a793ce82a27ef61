/** `switchboard owners list | workers | diff`: who owns what, and what a change would move. */
import { SwitchboardError } from '../errors.js';
import { suggest } from '../config/keys.js';
import { decideWorker } from '../core/decide.js';
import type { Snapshot } from '../core/snapshot.js';
import { args, configPath, json, loadSnapshot, resolveIn, table, type Io, EXIT_OK, EXIT_FAIL } from './common.js';
import { summarize, type PlanSummary } from '../core/describe.js';
import { diffSnapshots } from '../core/diff.js';
import { adminToken, localNote, serverGet } from './live.js';
import { CONTROL_API_PREFIX } from '../control/legacy-prefix.js';

export const OWNERS_USAGE = `Usage: switchboard owners --explain [METHOD] PATH | list | workers | diff OLD.yaml NEW.yaml

Who owns what, and why:

  owners --explain [METHOD] PATH   why a request goes to python or go
  owners list                      who owns what, per capability (or --routes)
  owners workers                   who runs each background program
  owners diff OLD.yaml NEW.yaml    which routes a config change would move

Each takes --help.`;

export const LIST_USAGE = `Usage: switchboard owners list [--family F] [--capability C] [--routes] [--config FILE] [--json]
                             [--server URL [--token-file FILE]]

Who owns what: one line per capability (route count, owner, canary selectors,
the switch that decides), or one line per route with --routes.

--server URL asks a running switchboard's admin listener instead (its snapshot,
its environment, its kill file; the admin token from --token-file, else
$SWITCHBOARD_ADMIN_TOKEN, else the config's DASHBOARD.ADMIN_TOKEN_FILE). Without
it, a note on stderr says when a switchboard running on the same STATE_DIR has
another snapshot in force.`;

export const WORKERS_USAGE = `Usage: switchboard owners workers [--config FILE] [--go-admin HOST:PORT]... [--json]

Which implementation runs each background program (WORKER_OWNER_<PROGRAM>).

  --go-admin HOST:PORT   also ask a go runtime what it is doing: the admin
                         listener of \`quay serve\` or \`quay worker PROGRAM\`
                         (its /readyz); repeatable. Each program then shows
                         where it runs, its passes, failures and last error.
                         Exit 1 when one cannot be reached (the rest is shown).`;

export const DIFF_USAGE = `Usage: switchboard owners diff OLD.yaml NEW.yaml [--json] [--exit-code]

A dry run: every route and worker whose owner changes between two configs.
--exit-code exits 1 when something changes (like git diff --exit-code).`;

interface CapRow {
  family: string;
  capability: string;
  routes: number;
  owner: string;
  canary: string;
  set_by: string;
  origin: string;
  route_owners: Record<string, number>;
}

function capabilityRows(s: Snapshot, family?: string, capability?: string): CapRow[] {
  const rows = new Map<string, CapRow>();
  for (const r of s.owner_map.inventory.routes) {
    if (family && r.family !== family) continue;
    if (capability && r.capability !== capability) continue;
    const sum = summarize(s, s.owner_map.routePlans[r.index]!);
    const k = `${r.family}\0${r.capability}`;
    let row = rows.get(k);
    if (!row) {
      row = {
        family: r.family,
        capability: r.capability,
        routes: 0,
        owner: sum.owner,
        canary: sum.owner === 'canary' ? sum.text.replace(/^canary /, '') : '',
        set_by: sum.set_by,
        origin: sum.origin,
        route_owners: {},
      };
      rows.set(k, row);
    }
    row.routes++;
    row.route_owners[sum.text] = (row.route_owners[sum.text] ?? 0) + 1;
  }
  for (const row of rows.values()) {
    const kinds = Object.keys(row.route_owners);
    if (kinds.length > 1) {
      row.owner = 'mixed';
      row.canary = '';
      row.set_by = Object.entries(row.route_owners)
        .map(([o, n]) => `${n} ${o}`)
        .join(', ');
      row.origin = 'route overrides';
    }
  }
  return [...rows.values()];
}

function checkName(kind: 'family' | 'capability', value: string | undefined, known: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  const v = value.toUpperCase().replace(/-/g, '_');
  if (!known.includes(v)) throw new SwitchboardError('SWB_CLI_USAGE', `unknown ${kind} ${value}${suggest(v, known)}`);
  return v;
}

export async function listCommand(argv: string[], io: Io): Promise<number> {
  const a = args(
    argv,
    {
      family: { type: 'string' },
      capability: { type: 'string' },
      routes: { type: 'boolean' },
      config: { type: 'string' },
      json: { type: 'boolean' },
      server: { type: 'string' },
      'token-file': { type: 'string' },
    },
    LIST_USAGE,
  );
  if (a.values.help) {
    io.out(LIST_USAGE);
    return EXIT_OK;
  }
  if (a.positionals.length) throw new SwitchboardError('SWB_CLI_USAGE', `unexpected argument ${a.positionals[0]}\n\n${LIST_USAGE}`);
  const file = configPath(a.values.config as string | undefined, io);
  if (a.values.server) {
    if (a.values.routes) throw new SwitchboardError('SWB_CLI_USAGE', '--routes is not available with --server: use owners --explain --server for one route');
    return listRemote(
      a.values.server as string,
      a.values['token-file'] as string | undefined,
      file,
      a.values.family as string | undefined,
      a.values.capability as string | undefined,
      a.values.json === true,
      io,
    );
  }
  const { snapshot: s, inventory: inv, stateDir } = loadSnapshot(file, io);
  const note = await localNote(stateDir, s);
  if (note) io.err(note);
  const family = checkName('family', a.values.family as string | undefined, inv.families);
  const capability = checkName('capability', a.values.capability as string | undefined, inv.capabilities);
  if (a.values.routes) {
    const routes = inv.routes
      .filter((r) => (!family || r.family === family) && (!capability || r.capability === capability))
      .map((r) => ({ route_id: r.id, method: r.method, pattern: r.pattern, family: r.family, capability: r.capability, ...summarize(s, s.owner_map.routePlans[r.index]!) }));
    if (a.values.json) {
      json(io, { snapshot_version: s.version, kill_switch: s.owner_map.forcePython.value, routes });
      return EXIT_OK;
    }
    io.out(table([['ROUTE', 'METHOD', 'PATTERN', 'CAPABILITY', 'OWNER', 'SET BY'], ...routes.map((r) => [r.route_id, r.method, r.pattern, r.capability, r.text, r.set_by])]));
    return EXIT_OK;
  }
  const rows = capabilityRows(s, family, capability);
  if (a.values.json) {
    json(io, { snapshot_version: s.version, kill_switch: s.owner_map.forcePython.value, capabilities: rows });
    return EXIT_OK;
  }
  if (s.owner_map.forcePython.value) io.out('KILL SWITCH ON (MIGRATION_FORCE_PYTHON): every request goes to python\n');
  io.out(
    table([
      ['FAMILY', 'CAPABILITY', 'ROUTES', 'OWNER', 'CANARY', 'SET BY', 'WHERE'],
      ...rows.map((r) => [r.family, r.capability, String(r.routes), r.owner, r.canary, r.set_by, r.origin]),
    ]),
  );
  const total = rows.reduce((n, r) => n + r.routes, 0);
  const go = rows.filter((r) => r.owner === 'go').reduce((n, r) => n + r.routes, 0);
  const canary = rows.filter((r) => r.owner === 'canary').reduce((n, r) => n + r.routes, 0);
  io.out(`\n${rows.length} capabilities, ${total} routes: ${go} go, ${canary} canary, ${total - go - canary} python or mixed`);
  return EXIT_OK;
}

interface RemoteCap {
  capability: string;
  routes: number;
  owner: PlanSummary;
  by_owner: Record<string, number>;
}

/** The owners list as a running switchboard has it (GET /control/v1/state). */
async function listRemote(
  server: string,
  tokenFile: string | undefined,
  file: string,
  family: string | undefined,
  capability: string | undefined,
  asJson: boolean,
  io: Io,
): Promise<number> {
  const token = adminToken({ tokenFile, env: io.env, cwd: io.cwd, configFile: file });
  const state = (await serverGet(server, `${CONTROL_API_PREFIX}/state`, token)) as {
    snapshot: { version: number; kill_switch: boolean };
    families: { family: string; capabilities: RemoteCap[] }[];
  };
  const rows = state.families
    .filter((f) => !family || f.family === family)
    .flatMap((f) =>
      f.capabilities
        .filter((c) => !capability || c.capability === capability)
        .map((c) => ({
          family: f.family,
          capability: c.capability,
          routes: c.routes,
          owner: c.owner.owner,
          text: c.owner.text,
          set_by: c.owner.set_by,
          origin: c.owner.origin,
          by_owner: c.by_owner,
        })),
    );
  if (asJson) {
    json(io, { server, snapshot_version: state.snapshot.version, kill_switch: state.snapshot.kill_switch, capabilities: rows });
    return EXIT_OK;
  }
  io.out(`the switchboard at ${server}, snapshot v${state.snapshot.version}${state.snapshot.kill_switch ? ' — KILL SWITCH ON: every request goes to python' : ''}\n`);
  io.out(table([['FAMILY', 'CAPABILITY', 'ROUTES', 'OWNER', 'SET BY', 'WHERE'], ...rows.map((r) => [r.family, r.capability, String(r.routes), r.text, r.set_by, r.origin])]));
  return EXIT_OK;
}

interface RuntimeWorker {
  readonly program: string;
  readonly owner: string;
  readonly running: boolean;
  readonly runs: number;
  readonly failures: number;
  readonly last_run_at: string | null;
  readonly last_error: string | null;
}

/** A go runtime's /readyz `workers`, or why it could not be read. */
async function runtimeWorkers(admin: string): Promise<{ admin: string; workers: RuntimeWorker[] } | { admin: string; error: string }> {
  try {
    const r = await fetch(`http://${admin}/readyz`, { signal: AbortSignal.timeout(3000) });
    const body = (await r.json()) as { workers?: RuntimeWorker[] };
    if (!Array.isArray(body.workers)) return { admin, error: `${r.status}: no workers in its /readyz` };
    return { admin, workers: body.workers };
  } catch (e) {
    return { admin, error: (e as Error).cause ? String((e as Error).cause) : (e as Error).message };
  }
}

export async function workersCommand(argv: string[], io: Io): Promise<number> {
  const a = args(argv, { config: { type: 'string' }, json: { type: 'boolean' }, 'go-admin': { type: 'string', multiple: true } }, WORKERS_USAGE);
  if (a.values.help) {
    io.out(WORKERS_USAGE);
    return EXIT_OK;
  }
  const { snapshot: s, inventory: inv } = loadSnapshot(configPath(a.values.config as string | undefined, io), io);
  const rows = inv.workers.map((w) => ({ ...decideWorker(s, w.program)!, kind: w.kind, queue: w.queue }));
  const admins = (a.values['go-admin'] as string[] | undefined) ?? [];
  const runtimes = await Promise.all(admins.map(runtimeWorkers));
  const unreachable = runtimes.filter((r): r is { admin: string; error: string } => 'error' in r);
  for (const u of unreachable) io.err(`switchboard: go runtime ${u.admin} did not answer: ${u.error}`);
  const code = unreachable.length > 0 ? EXIT_FAIL : EXIT_OK;
  /** Where each program is scheduled now, with its counts: "admin (runs N, failures M[, last error E])". */
  const activity = (program: string): { admin: string; running: boolean; runs: number; failures: number; last_run_at: string | null; last_error: string | null }[] =>
    runtimes.flatMap((r) =>
      'workers' in r
        ? r.workers
            .filter((w) => w.program === program)
            .map((w) => ({ admin: r.admin, running: w.running, runs: w.runs, failures: w.failures, last_run_at: w.last_run_at, last_error: w.last_error }))
        : [],
    );
  if (a.values.json) {
    json(io, {
      snapshot_version: s.version,
      workers: rows.map((r) => (admins.length > 0 ? { ...r, go_runtimes: activity(r.program) } : r)),
      ...(admins.length > 0 ? { unreachable: unreachable.map((u) => ({ admin: u.admin, error: u.error })) } : {}),
    });
    return code;
  }
  const head = ['PROGRAM', 'KIND', 'QUEUE', 'OWNER', 'REASON', 'SWITCH'];
  const line = (r: (typeof rows)[number]): string[] => [r.program, r.kind, r.queue || '-', r.owner, r.reason, r.key];
  if (admins.length === 0) {
    io.out(table([head, ...rows.map(line)]));
    return code;
  }
  const doing = (program: string): string => {
    const here = activity(program);
    if (here.length === 0) return '-';
    return here
      .map((w) => `${w.admin}: ${w.running ? 'running' : 'idle'}, ${w.runs} passes, ${w.failures} failed${w.last_error ? ` (last: ${w.last_error.slice(0, 60)})` : ''}`)
      .join('; ');
  };
  io.out(table([[...head, 'GO RUNTIMES'], ...rows.map((r) => [...line(r), doing(r.program)])]));
  return code;
}

export function renderDiff(d: ReturnType<typeof diffSnapshots>): string {
  const out: string[] = [];
  if (d.kill_switch.before !== d.kill_switch.after) out.push(`kill switch MIGRATION_FORCE_PYTHON: ${d.kill_switch.before} → ${d.kill_switch.after}`);
  if (d.routes.length) {
    out.push(table(d.routes.map((c) => [c.route_id, c.method, c.pattern, c.capability, `${c.before.text} → ${c.after.text}`])));
  }
  if (d.workers.length) out.push(table(d.workers.map((w) => ['worker', w.program, `${w.before} → ${w.after}`])));
  const byCap = new Map<string, number>();
  for (const c of d.routes) byCap.set(c.capability, (byCap.get(c.capability) ?? 0) + 1);
  const caps = [...byCap].map(([c, n]) => `${c} ${n}`).join(', ');
  out.push(
    d.routes.length || d.workers.length || d.kill_switch.before !== d.kill_switch.after
      ? `\n${d.routes.length} route${d.routes.length === 1 ? '' : 's'} change owner${caps ? ` (${caps})` : ''}; ${d.workers.length} worker${d.workers.length === 1 ? '' : 's'} change owner`
      : 'no owner changes',
  );
  return out.join('\n');
}

export function diffCommand(argv: string[], io: Io): number {
  const a = args(argv, { json: { type: 'boolean' }, 'exit-code': { type: 'boolean' } }, DIFF_USAGE);
  if (a.values.help) {
    io.out(DIFF_USAGE);
    return EXIT_OK;
  }
  if (a.positionals.length !== 2) throw new SwitchboardError('SWB_CLI_USAGE', `give two config files\n\n${DIFF_USAGE}`);
  // Both sides are read without environment overrides: the diff is about the files.
  const before = loadSnapshot(resolveIn(io, a.positionals[0] as string), io, {}).snapshot;
  const after = loadSnapshot(resolveIn(io, a.positionals[1] as string), io, {}).snapshot;
  const d = diffSnapshots(before, after);
  if (a.values.json) json(io, d);
  else io.out(renderDiff(d));
  const changed = d.routes.length > 0 || d.workers.length > 0 || d.kill_switch.before !== d.kill_switch.after;
  return a.values['exit-code'] && changed ? EXIT_FAIL : EXIT_OK;
}
