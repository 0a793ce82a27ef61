/** `switchboard config validate [FILE]` and `switchboard set KEY VALUE`. */
import { loadInventory } from '../../owner-maps/index.js';
import { SwitchboardError, isSwitchboardError } from '../errors.js';
import { commitWrite, InvalidResultError, planWrite, readMigration, sha256 } from '../control/switches.js';
import { classifyKey, isSwitchEnvName } from '../config/keys.js';
import { envKind, formatIssue, parseConfig, type ConfigIssue, type SwitchConfig } from '../config/parse.js';
import { configWarnings } from '../snapshots/warnings.js';
import { coerceEnv } from '../config/schema.js';
import { buildSnapshot } from '../core/snapshot.js';
import { args, cliActor, configPath, json, printIssues, readConfigText, resolveIn, type Io, EXIT_OK, EXIT_FAIL } from './common.js';
import { renderDiff } from './owners.js';
import { resolveStateDir, RUNNING_FILE } from '../config/kill-switch.js';
import { runningServe } from './live.js';
import { join } from 'node:path';
import { setKillSwitch } from '../control/kill.js';
import { blockedMessage, GoNotImplementedError, readinessGate } from '../control/readiness-gate.js';
import { goOwnedNotImplemented, goView } from './go-readiness.js';

/** `set MIGRATION_FORCE_PYTHON true|false`: the kill file, whatever state config.yaml is in. */
function killCommand(file: string, on: boolean, v: Record<string, unknown>, io: Io): number {
  const stateDir = resolveStateDir({ configFile: file, cwd: io.cwd, env: io.env, flag: v['state-dir'] as string | undefined, strict: true });
  if (v['dry-run']) {
    io.out(`would turn the kill switch ${on ? 'ON (write' : 'off (remove'} ${stateDir}/force-python.json)`);
    return EXIT_OK;
  }
  const done = setKillSwitch({
    file,
    stateDir,
    on,
    inventory: loadInventory(),
    env: io.env,
    who: { actor: cliActor(v.actor as string | undefined, io.env), via: 'cli', reason: (v.reason as string | undefined) ?? null },
  });
  // A serve started with another --state-dir, $SWITCHBOARD_STATE_DIR or STATE_DIR (a restart-only setting) reads
  // another kill file: when none is recorded in this one, say so rather than let "within a second" stand alone.
  const r = runningServe(stateDir)
    ? done
    : {
        ...done,
        warnings: [
          ...done.warnings,
          `no running switchboard serve is recorded in ${join(stateDir, RUNNING_FILE)}: check that the state_dir in your serve's /status (or start log, or banner) is ${stateDir} — one started with another --state-dir, $SWITCHBOARD_STATE_DIR or STATE_DIR does not read this kill file`,
        ],
      };
  if (v.json) {
    json(io, { key: 'MIGRATION_FORCE_PYTHON', ...r });
    return EXIT_OK;
  }
  if (on) {
    io.out(
      r.changed
        ? `kill switch ON: wrote ${r.kill_file}; every switchboard with this STATE_DIR sends everything to python within a second${r.routes_changing_owner !== null ? ` (${r.routes_changing_owner} routes move to python)` : ''}`
        : `kill switch already ON (${r.kill_file})`,
    );
  } else {
    io.out(
      r.changed
        ? `kill switch off: ${[`removed ${r.kill_file}`, ...(r.config_key_removed ? [`removed MIGRATION_FORCE_PYTHON from ${file}`] : [])].join('; ')}; the config decides again`
        : 'kill switch already off (no kill file, config.yaml does not set it)',
    );
  }
  if (r.audit_log) io.err(`audit: ${r.audit_log}`);
  for (const w of r.warnings) io.err(`warning: ${w}`);
  return EXIT_OK;
}

export const VALIDATE_USAGE = `Usage: switchboard config validate [FILE] [--json] [--offline]

Checks the MIGRATION and SWITCHBOARD sections of a Quay config.yaml (with the
environment overrides in force) and reports every problem with its key and line.
Settings that are valid but do nothing (a canary percent on a scope that is not
canary) are reported as warnings. So are capabilities the config sends to go
that go does not implement (asked of UPSTREAMS.go: GET /.well-known/switchboard,
2 s; the embedded registry's own claims), or when go cannot be asked; --offline
skips that. Exit 0 when valid (warnings or not), 1 when not.`;

export const SET_USAGE = `Usage: switchboard set KEY VALUE [options]
       switchboard set KEY --unset [options]

Edits one MIGRATION switch in config.yaml in place, keeping comments and layout.
The new file is validated first; the write is refused if the file changed since
it was read (or since --if-digest). Every change is appended to the audit log.

  VALUE by key: owners python|go|canary; percent 0-100; lists a,b,c or [a, b];
  MIGRATION_FORCE_PYTHON true|false.

The kill switch (MIGRATION_FORCE_PYTHON true) is not written to config.yaml: it
goes to STATE_DIR/force-python.json, which every switchboard using that state
directory obeys within a second whatever state config.yaml is in (broken,
deleted, read-only). false removes it (and config.yaml's own key if true).

Options:
  --config FILE       config.yaml to edit (default $SWITCHBOARD_CONFIG or ./config.yaml)
  --reason TEXT       why, for the audit log
  --actor NAME        who, for the audit log (default $SUDO_USER, $USER)
  --if-digest SHA256  refuse unless the file's sha256 is this (from config validate --json)
  --state-dir DIR     the switchboard's STATE_DIR, for the kill switch (default
                      $SWITCHBOARD_STATE_DIR, else SWITCHBOARD.STATE_DIR, else
                      data, beside the config file)
  --dry-run           show what would change, write nothing
  --force             send go a capability it says it does not implement
                      (GET /.well-known/switchboard on UPSTREAMS.go); needs --reason
  --json              print the result as JSON`;

function summary(c: SwitchConfig): Record<string, unknown> {
  const s = buildSnapshot(loadInventory(), c, 1, new Date());
  let go = 0;
  let canary = 0;
  for (const p of s.owner_map.routePlans) {
    if (p.value === 'go') go++;
    else if (p.value === 'canary') canary++;
  }
  return {
    switches_set: c.switches.size,
    from_environment: [...c.switches.values()].filter((x) => x.origin.source === 'env').map((x) => x.key),
    kill_switch: s.owner_map.forcePython.value,
    routes_go: go,
    routes_canary: canary,
    routes_python: s.owner_map.routePlans.length - go - canary,
    workers_go: [...s.owner_map.workers].filter(([, w]) => w.owner === 'go').map(([p]) => p),
  };
}

export async function validateCommand(argv: string[], io: Io): Promise<number> {
  const a = args(argv, { json: { type: 'boolean' }, config: { type: 'string' }, offline: { type: 'boolean' } }, VALIDATE_USAGE);
  if (a.values.help) {
    io.out(VALIDATE_USAGE);
    return EXIT_OK;
  }
  if (a.positionals.length > 1) throw new SwitchboardError('SWB_CLI_USAGE', `give at most one file\n\n${VALIDATE_USAGE}`);
  const file = a.positionals[0] !== undefined ? resolveIn(io, a.positionals[0]) : configPath(a.values.config as string | undefined, io);
  const text = readConfigText(file);
  const r = parseConfig(text, file, loadInventory(), io.env);
  const goWarnings = r.ok && !a.values.offline ? await readinessWarnings(r.config, io) : [];
  if (a.values.json) {
    json(
      io,
      r.ok
        ? { file, valid: true, sha256: sha256(text), ...summary(r.config), warnings: [...configWarnings(r.config, loadInventory()), ...goWarnings] }
        : { file, valid: false, sha256: sha256(text), issues: r.issues },
    );
    return r.ok ? EXIT_OK : EXIT_FAIL;
  }
  if (!r.ok) {
    io.err(`${file}: invalid (${r.issues.length} problem${r.issues.length === 1 ? '' : 's'}):`);
    printIssues(io, r.issues);
    return EXIT_FAIL;
  }
  const s = summary(r.config);
  io.out(
    s.kill_switch
      ? `${file}: valid — ${s.switches_set} switches set; KILL SWITCH ON: every route and worker goes to python`
      : `${file}: valid — ${s.switches_set} switches set; routes: ${s.routes_go} go, ${s.routes_canary} canary, ${s.routes_python} python`,
  );
  const env = s.from_environment as string[];
  if (env.length) io.out(`environment overrides in force: ${env.join(', ')}`);
  for (const w of [...configWarnings(r.config, loadInventory()), ...goWarnings]) io.err(`warning: ${formatIssue(w)}`);
  return EXIT_OK;
}

/** Warnings for capabilities the config sends to go that go does not (or cannot be asked to) say it implements. */
async function readinessWarnings(c: SwitchConfig, io: Io): Promise<ConfigIssue[]> {
  const view = await goView(c, io.goRuntime);
  const missing = goOwnedNotImplemented(buildSnapshot(loadInventory(), c, 1, new Date()), view);
  if (missing.length === 0) return [];
  if (view.problem) {
    return [
      {
        code: 'SWB_GO_NOT_IMPLEMENTED',
        key: 'SWITCHBOARD.UPSTREAMS.go',
        message: `${view.problem}; the config sends ${missing.length} capabilit${missing.length === 1 ? 'y' : 'ies'} to go unchecked (${missing.map((m) => m.capability).join(', ')})`,
      },
    ];
  }
  return missing.map((m) => ({
    code: 'SWB_GO_NOT_IMPLEMENTED' as const,
    key: `MIGRATION.ROUTE_OWNER_CAP_${m.capability}`,
    message: `${m.capability} (${m.routes} route${m.routes === 1 ? '' : 's'}) goes to go, and ${view.source} does not implement it`,
  }));
}

/** Parses VALUE the way the key's kind expects (lists, percents, booleans, owners). */
function parseValue(key: string, raw: string): unknown {
  const spec = classifyKey(key, loadInventory());
  if ('code' in spec) throw new SwitchboardError(spec.code, spec.message);
  if (spec.kind === 'force_python') return coerceEnv('bool', raw);
  if (spec.kind === 'gate' || spec.kind === 'shadow') return coerceEnv(envKind(spec), raw);
  if (spec.kind === 'canary' && spec.selector === 'percent') return coerceEnv('percent', raw);
  if (spec.kind === 'canary') return coerceEnv('list', raw.replace(/^\s*\[(.*)\]\s*$/, '$1'));
  return raw;
}

export async function setCommand(argv: string[], io: Io): Promise<number> {
  const a = args(
    argv,
    {
      config: { type: 'string' },
      reason: { type: 'string' },
      actor: { type: 'string' },
      'if-digest': { type: 'string' },
      unset: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      'state-dir': { type: 'string' },
      force: { type: 'boolean' },
    },
    SET_USAGE,
  );
  if (a.values.help) {
    io.out(SET_USAGE);
    return EXIT_OK;
  }
  const unset = a.values.unset === true;
  if (a.positionals.length !== (unset ? 1 : 2)) throw new SwitchboardError('SWB_CLI_USAGE', `give KEY VALUE, or KEY --unset\n\n${SET_USAGE}`);
  const key = (a.positionals[0] as string).replace(/^MIGRATION\./, '');
  const value = unset ? null : parseValue(key, a.positionals[1] as string);
  const file = configPath(a.values.config as string | undefined, io);
  const inv = loadInventory();
  if (key === 'MIGRATION_FORCE_PYTHON') {
    // A blank value (an unset shell variable: `set MIGRATION_FORCE_PYTHON "$ON"`) is a mistake, never "off".
    if (!unset && (typeof value !== 'boolean' || (a.positionals[1] as string).trim() === '')) {
      throw new SwitchboardError('SWB_CLI_USAGE', `MIGRATION_FORCE_PYTHON takes true or false, not ${JSON.stringify(a.positionals[1])}`);
    }
    return killCommand(file, unset ? false : value === true, a.values, io);
  }

  const before = readConfigText(file);
  const ifDigest = a.values['if-digest'] as string | undefined;
  if (ifDigest && ifDigest !== sha256(before)) {
    throw new SwitchboardError('SWB_CONFIG_CONFLICT', `${file} changed since digest ${ifDigest.slice(0, 12)} (now ${sha256(before).slice(0, 12)}): re-read it and retry`);
  }
  const mig = readMigration(file, before);
  const oldValue = Object.hasOwn(mig, key) ? (mig[key] ?? null) : null;
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
  // Readiness: never send go a capability it says it does not implement, unless forced with a reason.
  const { snapshotBefore } = plan;
  const view = await goView(snapshotBefore.owner_map.config ?? plan.config, io.goRuntime);
  const gate = readinessGate(snapshotBefore, [{ key, value }], view);
  const forced = a.values.force === true;
  if (gate.blocked.length && !forced) {
    throw new GoNotImplementedError(gate.blocked, `ask ${view.source} what it implements (GET /.well-known/switchboard), or add --force --reason TEXT to send it anyway`);
  }
  if (gate.blocked.length && !(a.values.reason as string | undefined)?.trim()) {
    throw new SwitchboardError('SWB_CLI_USAGE', '--force needs --reason: why go gets a capability it says it does not implement (it goes to the audit log)');
  }
  const readinessNotes = [
    ...(gate.blocked.length ? [`forced: ${blockedMessage(gate.blocked)}`] : []),
    ...(gate.unverified.length ? [`${view.problem ?? `${view.source} did not say`}: not checked that go implements ${gate.unverified.map((u) => u.capability).join(', ')}`] : []),
  ];
  const diff = plan.diff;
  const result = {
    file,
    key,
    old: oldValue,
    new: value,
    dry_run: a.values['dry-run'] === true,
    sha256_before: plan.sha256_before,
    sha256_after: plan.sha256_after,
    routes_changing_owner: diff.routes.length,
    environment_overrides_key: envOverride,
  };
  if (!a.values['dry-run']) {
    if (plan.before !== before) {
      throw new SwitchboardError('SWB_CONFIG_CONFLICT', `${file} changed while this command ran; nothing written — re-run to apply on top of the new contents`);
    }
    const actor = cliActor(a.values.actor as string | undefined, io.env);
    try {
      const reason = (a.values.reason as string | undefined) ?? null;
      commitWrite(plan, {
        actor,
        via: 'cli',
        reason: gate.blocked.length && reason ? `[forced past readiness: ${gate.blocked.map((b) => b.capability).join(', ')}] ${reason}` : reason,
      });
    } catch (e) {
      if (isSwitchboardError(e) && e.code === 'SWB_CONFIG_CONFLICT') {
        throw new SwitchboardError('SWB_CONFIG_CONFLICT', `${file} changed while this command ran; nothing written — re-run to apply on top of the new contents`);
      }
      throw e;
    }
  }
  if (a.values.json) {
    json(io, { ...result, diff, warnings: plan.warnings, readiness: { source: view.source, blocked: gate.blocked, unverified: gate.unverified, forced: gate.blocked.length > 0 } });
    return EXIT_OK;
  }
  io.out(`${a.values['dry-run'] ? 'would set' : 'set'} MIGRATION.${key}: ${JSON.stringify(oldValue)} → ${JSON.stringify(value)} in ${file}`);
  io.out(renderDiff(diff));
  for (const w of plan.warnings) io.err(`warning: ${formatIssue(w)}`);
  for (const n of readinessNotes) io.err(`warning: ${n}`);
  if (envOverride) io.err(`note: environment variable ${key} overrides this key in processes that have it set`);
  return EXIT_OK;
}
