/** `switchboard config validate [FILE]` and `switchboard set KEY VALUE`. */
import { loadInventory } from '../../owner-maps/index.js';
import { SwitchboardError, isSwitchboardError } from '../errors.js';
import { commitWrite, InvalidResultError, planWrite, readMigration, sha256 } from '../control/switches.js';
import { classifyKey, isSwitchEnvName } from '../config/keys.js';
import { parseConfig, type SwitchConfig } from '../config/parse.js';
import { coerceEnv } from '../config/schema.js';
import { buildSnapshot } from '../core/snapshot.js';
import { args, configPath, json, printIssues, readConfigText, resolveIn, type Io, EXIT_OK, EXIT_FAIL } from './common.js';
import { renderDiff } from './owners.js';

export const VALIDATE_USAGE = `Usage: switchboard config validate [FILE] [--json]

Checks the MIGRATION and SWITCHBOARD sections of a Quay config.yaml (with the
environment overrides in force) and reports every problem with its key and line.
Exit 0 when valid, 1 when not.`;

export const SET_USAGE = `Usage: switchboard set KEY VALUE [options]
       switchboard set KEY --unset [options]

Edits one MIGRATION switch in config.yaml in place, keeping comments and layout.
The new file is validated first; the write is refused if the file changed since
it was read (or since --if-digest). Every change is appended to the audit log.

  VALUE by key: owners python|go|canary; percent 0-100; lists a,b,c or [a, b];
  MIGRATION_FORCE_PYTHON true|false.

Options:
  --config FILE       config.yaml to edit (default $SWITCHBOARD_CONFIG or ./config.yaml)
  --reason TEXT       why, for the audit log
  --actor NAME        who, for the audit log (default $SUDO_USER, $USER)
  --if-digest SHA256  refuse unless the file's sha256 is this (from config validate --json)
  --dry-run           show what would change, write nothing
  --json              print the result as JSON`;


function summary(c: SwitchConfig): Record<string, unknown> {
  const s = buildSnapshot(loadInventory(), c, 1, new Date());
  let go = 0; let canary = 0;
  for (const p of s.owner_map.routePlans) { if (p.value === 'go') go++; else if (p.value === 'canary') canary++; }
  return {
    switches_set: c.switches.size,
    from_environment: [...c.switches.values()].filter((x) => x.origin.source === 'env').map((x) => x.key),
    kill_switch: s.owner_map.forcePython.value,
    routes_go: go, routes_canary: canary, routes_python: s.owner_map.routePlans.length - go - canary,
    workers_go: [...s.owner_map.workers].filter(([, w]) => w.owner === 'go').map(([p]) => p),
  };
}

export function validateCommand(argv: string[], io: Io): number {
  const a = args(argv, { json: { type: 'boolean' }, config: { type: 'string' } }, VALIDATE_USAGE);
  if (a.values.help) { io.out(VALIDATE_USAGE); return EXIT_OK; }
  if (a.positionals.length > 1) throw new SwitchboardError('SWB_CLI_USAGE', `give at most one file\n\n${VALIDATE_USAGE}`);
  const file = a.positionals[0] !== undefined ? resolveIn(io, a.positionals[0]) : configPath(a.values.config as string | undefined, io);
  const text = readConfigText(file);
  const r = parseConfig(text, file, loadInventory(), io.env);
  if (a.values.json) {
    json(io, r.ok ? { file, valid: true, sha256: sha256(text), ...summary(r.config) } : { file, valid: false, sha256: sha256(text), issues: r.issues });
    return r.ok ? EXIT_OK : EXIT_FAIL;
  }
  if (!r.ok) {
    io.err(`${file}: invalid (${r.issues.length} problem${r.issues.length === 1 ? '' : 's'}):`);
    printIssues(io, r.issues);
    return EXIT_FAIL;
  }
  const s = summary(r.config);
  io.out(s.kill_switch
    ? `${file}: valid — ${s.switches_set} switches set; KILL SWITCH ON: every route and worker goes to python`
    : `${file}: valid — ${s.switches_set} switches set; routes: ${s.routes_go} go, ${s.routes_canary} canary, ${s.routes_python} python`);
  const env = s.from_environment as string[];
  if (env.length) io.out(`environment overrides in force: ${env.join(', ')}`);
  return EXIT_OK;
}

/** Parses VALUE the way the key's kind expects (lists, percents, booleans, owners). */
function parseValue(key: string, raw: string): unknown {
  const spec = classifyKey(key, loadInventory());
  if ('code' in spec) throw new SwitchboardError(spec.code, spec.message);
  if (spec.kind === 'force_python') return coerceEnv('bool', raw);
  if (spec.kind === 'canary' && spec.selector === 'percent') return coerceEnv('percent', raw);
  if (spec.kind === 'canary') return coerceEnv('list', raw.replace(/^\s*\[(.*)\]\s*$/, '$1'));
  return raw;
}


export function setCommand(argv: string[], io: Io): number {
  const a = args(argv, {
    config: { type: 'string' }, reason: { type: 'string' }, actor: { type: 'string' }, 'if-digest': { type: 'string' },
    unset: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' },
  }, SET_USAGE);
  if (a.values.help) { io.out(SET_USAGE); return EXIT_OK; }
  const unset = a.values.unset === true;
  if (a.positionals.length !== (unset ? 1 : 2)) throw new SwitchboardError('SWB_CLI_USAGE', `give KEY VALUE, or KEY --unset\n\n${SET_USAGE}`);
  const key = (a.positionals[0] as string).replace(/^MIGRATION\./, '');
  const value = unset ? null : parseValue(key, a.positionals[1] as string);
  const file = configPath(a.values.config as string | undefined, io);
  const inv = loadInventory();

  const before = readConfigText(file);
  const ifDigest = a.values['if-digest'] as string | undefined;
  if (ifDigest && ifDigest !== sha256(before)) {
    throw new SwitchboardError('SWB_CONFIG_CONFLICT', `${file} changed since digest ${ifDigest.slice(0, 12)} (now ${sha256(before).slice(0, 12)}): re-read it and retry`);
  }
  const mig = readMigration(file, before);
  const oldValue = Object.hasOwn(mig, key) ? mig[key] ?? null : null;
  const envOverride = isSwitchEnvName(key) && io.env[key] !== undefined && io.env[key]!.trim() !== '';
  if (JSON.stringify(oldValue) === JSON.stringify(value)) {
    if (a.values.json) json(io, { file, key, old: oldValue, new: value, changed: false, environment_overrides_key: envOverride });
    else io.out(`MIGRATION.${key} is already ${JSON.stringify(value)} in ${file}: nothing to do`);
    return EXIT_OK;
  }
  // The same plan and write as the dashboard and the control API.
  let plan;
  try {
    plan = planWrite(file, [{ key, value: unset ? null : value }], inv);
  } catch (e) {
    if (!(e instanceof InvalidResultError)) throw e;
    io.err(`refusing to write ${file}: the result would be invalid:`);
    printIssues(io, e.issues);
    return EXIT_FAIL;
  }
  const diff = plan.diff;
  const result = {
    file, key, old: oldValue, new: value, dry_run: a.values['dry-run'] === true,
    sha256_before: plan.sha256_before, sha256_after: plan.sha256_after, routes_changing_owner: diff.routes.length,
    environment_overrides_key: envOverride,
  };
  if (!a.values['dry-run']) {
    if (plan.before !== before) {
      throw new SwitchboardError('SWB_CONFIG_CONFLICT', `${file} changed while this command ran; nothing written — re-run to apply on top of the new contents`);
    }
    const actor = (a.values.actor as string | undefined) ?? io.env.SUDO_USER ?? io.env.USER ?? 'unknown';
    try {
      commitWrite(plan, { actor, via: 'cli', reason: (a.values.reason as string | undefined) ?? null });
    } catch (e) {
      if (isSwitchboardError(e) && e.code === 'SWB_CONFIG_CONFLICT') {
        throw new SwitchboardError('SWB_CONFIG_CONFLICT', `${file} changed while this command ran; nothing written — re-run to apply on top of the new contents`);
      }
      throw e;
    }
  }
  if (a.values.json) { json(io, { ...result, diff }); return EXIT_OK; }
  io.out(`${a.values['dry-run'] ? 'would set' : 'set'} MIGRATION.${key}: ${JSON.stringify(oldValue)} → ${JSON.stringify(value)} in ${file}`);
  io.out(renderDiff(diff));
  if (envOverride) io.err(`note: environment variable ${key} overrides this key in processes that have it set`);
  return EXIT_OK;
}
