/**
 * The `quay` command: the new implementation's runtime and its operator
 * commands. Exit codes: 0 success, 1 the command ran and failed (bad config,
 * existing name, ...), 2 usage error, 70 internal error. Errors are one line
 * `quay: message [REG_CODE]` first (lib/cli-errors.ts).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { createLogger, redactUrl } from '../lib/log.js';
import { splitHostPort } from '../lib/host-port.js';
import { randomToken } from '../lib/random.js';
import { openDal } from '../dal/index.js';
import type { AuthStore, RepoRole } from '../dal/model/auth-store.js';
import type { MetadataStore } from '../dal/model/store.js';
import { FieldEncrypter } from '../domain/auth/field-crypto.js';
import { hashPassword } from '../lib/passwords/passwords.js';
import { isValidNamespace, parseRepositoryPath } from '../domain/names.js';
import { MODES, formatProblem, generateConfig, readQuayConfig, type Mode, type RuntimeConfig } from './config.js';
import { loadTls, parseTlsSpec, type TlsSpec } from '../lib/tls.js';
import { startRuntime } from './runtime.js';
import { openSnapshots } from './snapshots.js';
import { TS_PROGRAMS, formatWorkerList, listWorkers, runWorker } from './worker-cli.js';
import { idleReason } from '../workers/features.js';
import { loadInventory } from '../owner-maps/index.js';
import { COMMANDS_HINT, USAGE, usageFor } from './usage.js';
import { RegError, regCode, type RegErrorCode } from '../domain/errors.js';
import { VERSION } from '../lib/version.js';
import { errorText, internalErrorText, parseArgsMessage, EXIT_FAIL, EXIT_INTERNAL, EXIT_USAGE } from '../lib/cli-errors.js';

export { USAGE } from './usage.js';

/** A malformed command line: exit 2, with the help of the command that was typed. */
const usage = (message: string): RegError => new RegError('REG_CLI_USAGE', message);
/** The command ran and failed: exit 1. */
const fail = (code: RegErrorCode, message: string, cause?: unknown): RegError => new RegError(code, message, { cause });

interface Common {
  mode: Mode;
  config: string | undefined;
  dataDir: string;
}

const OPTIONS = {
  mode: { type: 'string' },
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  listen: { type: 'string' },
  'admin-listen': { type: 'string' },
  tls: { type: 'string' },
  version: { type: 'boolean' },
  'stale-upload-hours': { type: 'string' },
  hostname: { type: 'string' },
  output: { type: 'string' },
  email: { type: 'string' },
  'password-stdin': { type: 'boolean' },
  'password-env': { type: 'string' },
  owner: { type: 'string' },
  description: { type: 'string' },
  title: { type: 'string' },
  public: { type: 'boolean' },
  user: { type: 'string' },
  team: { type: 'string' },
  role: { type: 'string' },
  list: { type: 'boolean' },
  once: { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>>['values'];

function common(v: Values, env: NodeJS.ProcessEnv): Common {
  const mode = (v.mode ?? 'mirror') as Mode;
  if (!MODES.includes(mode)) throw usage(`--mode ${v.mode}: use mirror, standalone or full`);
  return { mode, config: v.config ?? env.QUAY_CONFIG, dataDir: resolve(v['data-dir'] ?? env.QUAY_DATA_DIR ?? 'data/quay') };
}

function loadConfig(c: Common): RuntimeConfig {
  const r = readQuayConfig(c.config, { mode: c.mode, dataDir: c.dataDir });
  if (!r.ok) {
    const n = r.problems.length;
    throw fail(
      'REG_CONFIG_INVALID',
      `${c.config ?? '(no config file)'}: invalid for ${c.mode} mode (${n} problem${n === 1 ? '' : 's'}):\n${r.problems.map((p) => `  ${formatProblem(p, c.config)}`).join('\n')}`,
    );
  }
  return r.config;
}

const REDACT = new Set(['DATABASE_SECRET_KEY', 'SECRET_KEY']);

async function readPassword(v: Values, env: NodeJS.ProcessEnv): Promise<string> {
  let pw: string | undefined;
  if (v['password-env']) {
    pw = env[v['password-env']];
    if (pw === undefined) throw usage(`--password-env ${v['password-env']}: that variable is not set`);
  } else if (v['password-stdin']) {
    const rl = createInterface({ input: process.stdin });
    for await (const line of rl) {
      pw = line;
      break;
    }
    rl.close();
  } else {
    throw usage('give the password with --password-stdin or --password-env VAR (never on the command line)');
  }
  if (!pw || pw.trim().length < 8) throw fail('REG_PASSWORD_WEAK', 'the password must have at least 8 characters');
  return pw;
}

async function openStores(cfg: RuntimeConfig): Promise<{ store: MetadataStore; authStore: AuthStore }> {
  const dal = await openDal({ databaseUri: cfg.databaseUri, databaseFile: cfg.databaseFile, storageLocation: cfg.storage.location });
  return { store: dal.metadata, authStore: dal.auth };
}

function encrypter(cfg: RuntimeConfig): FieldEncrypter {
  if (!cfg.auth.databaseSecretKey) throw fail('REG_CONFIG_INVALID', 'DATABASE_SECRET_KEY is not set in the config: robot tokens and app-token secrets are encrypted with it');
  return new FieldEncrypter(cfg.auth.databaseSecretKey);
}

async function serve(c: Common, v: Values): Promise<number> {
  const cfg = loadConfig(c);
  const log = createLogger({ component: 'quay', mode: c.mode });
  let tlsSpec: TlsSpec;
  try {
    tlsSpec = parseTlsSpec(v.tls ?? (c.mode === 'mirror' ? 'self-signed' : 'off'));
  } catch (e) {
    throw usage((e as Error).message);
  }
  let listen: { host: string; port: number };
  let adminListen: { host: string; port: number };
  try {
    listen = splitHostPort(v.listen ?? (tlsSpec.kind === 'off' ? '0.0.0.0:8080' : '0.0.0.0:8443'));
    adminListen = splitHostPort(v['admin-listen'] ?? '127.0.0.1:9092');
  } catch (e) {
    throw usage((e as Error).message);
  }
  const staleHours = Number(v['stale-upload-hours'] ?? 48);
  if (!(staleHours > 0)) throw usage('--stale-upload-hours must be a positive number');
  const tls = await loadTls(tlsSpec, cfg.dataDir, [cfg.auth.serverHostname.split(':')[0]!], log);
  // WORKER_OWNER_<PROGRAM> and the kill switch, from the same config.yaml, watched: a program runs here only while it is go's.
  const snapshots = await openSnapshots({ configFile: c.config ? resolve(c.config) : undefined, env: process.env, cwd: process.cwd(), log: log.child({ component: 'snapshots' }) });
  const rt = await startRuntime({ config: cfg, log, listen, tls, adminListen, staleUploadHours: staleHours, snapshots }).catch(async (e: unknown) => {
    await snapshots.close();
    throw fail(regCode(e) ?? 'REG_START_FAILED', `cannot start: ${(e as Error).message}`, e);
  });
  log.info('quay serving', {
    url: rt.url,
    admin_listen: `${adminListen.host}:${rt.adminPort}`,
    data_dir: cfg.dataDir,
    // The database actually served: PostgreSQL's URI (password redacted), else the SQLite file.
    database: cfg.databaseUri !== null ? redactUrl(cfg.databaseUri) : cfg.databaseFile,
    storage: cfg.storage.path,
    auth: cfg.auth.mode,
    tls: tlsSpec.kind,
    ...(tls ? { cert_file: tls.certFile } : {}),
  });
  await new Promise<void>((r) => {
    const stop = (signal: string): void => {
      log.info('stopping', { signal });
      r();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await rt.stop();
  await snapshots.close();
  log.info('stopped');
  return 0;
}

async function configCmd(sub: string | undefined, c: Common, v: Values, out: (s: string) => void): Promise<number> {
  switch (sub) {
    case 'validate': {
      const r = readQuayConfig(c.config, { mode: c.mode, dataDir: c.dataDir });
      if (v.json) out(JSON.stringify(r.ok ? { ok: true, mode: c.mode, problems: [] } : { ok: false, mode: c.mode, problems: r.problems }, null, 2));
      else if (r.ok) out(`${c.config ?? '(no config file)'}: valid for ${c.mode} mode`);
      else out(r.problems.map((p) => formatProblem(p, c.config)).join('\n'));
      return r.ok ? 0 : 1;
    }
    case 'print': {
      const cfg = loadConfig(c);
      const shown = Object.fromEntries(Object.entries(cfg.effective).map(([k, val]) => [k, REDACT.has(k) ? '<redacted>' : val]));
      out(v.json ? JSON.stringify(shown, null, 2) : stringify(shown).trimEnd());
      return 0;
    }
    case 'generate': {
      const text = generateConfig(c.mode, v.hostname ?? 'localhost:8443');
      if (v.output) {
        if (existsSync(v.output)) throw fail('REG_FILE_EXISTS', `${v.output} exists; not overwriting it`);
        writeFileSync(v.output, text, { mode: 0o600 });
        out(`wrote ${v.output}`);
      } else {
        out(text.trimEnd());
      }
      return 0;
    }
    default:
      throw usage(sub === undefined ? 'config: give a subcommand: validate, print or generate' : `config: unknown subcommand ${sub} (use validate, print or generate)`);
  }
}

async function entityCmd(kind: string, sub: string | undefined, name: string | undefined, c: Common, v: Values, env: NodeJS.ProcessEnv, out: (s: string) => void): Promise<number> {
  if (sub !== 'create' && !(kind === 'repo' && sub === 'grant'))
    throw usage(`${kind}: ${sub === undefined ? 'give a subcommand' : `unknown subcommand ${sub}`} (use ${kind === 'repo' ? 'create or grant' : 'create'})`);
  if (!name) throw usage(`${kind} ${sub} needs a name`);
  const cfg = loadConfig(c);
  const { store: meta, authStore: auth } = await openStores(cfg).catch((e: unknown) => {
    throw fail(regCode(e) ?? 'REG_DATABASE_UNAVAILABLE', `cannot open the database: ${(e as Error).message}`, e);
  });
  const now = Date.now();
  try {
    switch (kind) {
      case 'user': {
        if (!isValidNamespace(name)) throw fail('REG_NAME_INVALID', `invalid user name ${JSON.stringify(name)}: 2-255 lowercase letters and digits, single . _ - between`);
        if (!v.email || !/^[^@\s]+@[^@\s]+$/.test(v.email)) throw usage('user create needs --email ADDRESS');
        const password = await readPassword(v, env);
        if (await auth.userByName(name)) throw fail('REG_NAME_TAKEN', `${name} already exists`);
        if (await auth.userByNameOrEmail(v.email)) throw fail('REG_NAME_TAKEN', `e-mail ${v.email} is already used`);
        const u = await auth.createUser({ username: name, email: v.email, passwordHash: await hashPassword(password), verified: true }, now);
        out(v.json ? JSON.stringify({ username: u.username, uuid: u.uuid, email: u.email }) : `created user ${u.username}`);
        return 0;
      }
      case 'org': {
        if (!isValidNamespace(name)) throw fail('REG_NAME_INVALID', `invalid organization name ${JSON.stringify(name)}`);
        if (!v.owner) throw usage('org create needs --owner USER');
        const owner = await auth.userByName(v.owner);
        if (!owner || owner.organization || owner.robot) throw fail('REG_NAME_UNKNOWN', `--owner ${v.owner}: no such user`);
        if (await auth.userByName(name)) throw fail('REG_NAME_TAKEN', `${name} already exists`);
        const org = await auth.createOrganization(name, `${randomUUID()}@org.invalid`, owner.id, now);
        out(v.json ? JSON.stringify({ name: org.username, owner: owner.username }) : `created organization ${org.username} (owners: ${owner.username})`);
        return 0;
      }
      case 'robot': {
        const [ns, short, extra] = name.split('+');
        if (!ns || !short || extra !== undefined || !/^[a-z][a-z0-9_]{1,254}$/.test(short)) {
          throw fail('REG_NAME_INVALID', `robot name ${JSON.stringify(name)} must be NAMESPACE+name (name: lowercase letters, digits and _, starting with a letter)`);
        }
        const owner = await auth.userByName(ns);
        if (!owner || owner.robot) throw fail('REG_NAME_UNKNOWN', `namespace ${ns} does not exist`);
        if (await auth.userByName(name)) throw fail('REG_NAME_TAKEN', `Existing robot with name: ${name}`);
        const token = randomToken(64);
        await auth.createRobot(name, encrypter(cfg).encrypt(token), v.description ?? '', now);
        out(v.json ? JSON.stringify({ name, token }) : `created robot ${name}\ntoken: ${token}`);
        return 0;
      }
      case 'app-token': {
        if (!v.title) throw usage('app-token create needs --title T');
        const user = await auth.userByName(name);
        if (!user || user.organization || user.robot) throw fail('REG_NAME_UNKNOWN', `no such user ${name}`);
        const code = randomToken(120);
        await auth.createAppToken(
          user.id,
          { uuid: randomUUID(), title: v.title, prefix: code.slice(0, 60), encryptedSecret: encrypter(cfg).encrypt(code.slice(60)), expirationMs: null },
          now,
        );
        out(v.json ? JSON.stringify({ user: name, title: v.title, token: code }) : `created app-specific token "${v.title}" for ${name} (log in as $app)\ntoken: ${code}`);
        return 0;
      }
      case 'repo': {
        let r;
        try {
          r = parseRepositoryPath(name, cfg.libraryNamespace);
        } catch (e) {
          throw fail('REG_NAME_INVALID', (e as Error).message);
        }
        if (sub === 'create') {
          const ns = await auth.userByName(r.namespace);
          if (!ns || ns.robot) throw fail('REG_NAME_UNKNOWN', `namespace ${r.namespace} does not exist (create the user or organization first)`);
          const repo = await meta.createRepository(r.namespace, r.name, v.public ? 'public' : 'private', now);
          if (v.public) await auth.setRepositoryVisibility(repo.id, 'public');
          out(`repository ${r.namespace}/${r.name} (${v.public ? 'public' : repo.visibility})`);
          return 0;
        }
        const role = v.role as RepoRole | undefined;
        if (role !== 'read' && role !== 'write' && role !== 'admin') throw usage('repo grant needs --role read, write or admin');
        const repo = await meta.lookupRepository(r.namespace, r.name);
        if (!repo) throw fail('REG_NAME_UNKNOWN', `repository ${r.namespace}/${r.name} does not exist`);
        if (v.user) {
          const u = await auth.userByName(v.user);
          if (!u || u.organization) throw fail('REG_NAME_UNKNOWN', `no such user or robot ${v.user}`);
          await auth.setRepositoryPermission(repo.id, { userId: u.id }, role);
        } else if (v.team) {
          const [org, team] = v.team.split('/');
          const teamId = org && team ? await auth.teamId(org, team) : null;
          if (teamId === null) throw fail('REG_NAME_UNKNOWN', `no such team ${v.team}`);
          await auth.setRepositoryPermission(repo.id, { teamId }, role);
        } else {
          throw usage('repo grant needs --user U or --team ORG/TEAM');
        }
        out(`${v.user ?? v.team}: ${role} on ${r.namespace}/${r.name}`);
        return 0;
      }
      default:
        throw usage(`unknown command ${kind}`);
    }
  } finally {
    await meta.close();
  }
}

async function workerCmd(args: readonly string[], c: Common, v: Values, out: (s: string) => void): Promise<number> {
  const log = createLogger({ component: 'quay-worker', mode: c.mode });
  if (v.list) {
    if (args.length > 0) throw usage('worker --list takes no program');
    let quayConfig: Readonly<Record<string, unknown>> = {};
    try {
      quayConfig = loadConfig(c).quayConfig;
    } catch {
      // A config this mode cannot run still lists its switches; features are then Quay's defaults.
    }
    const rows = await listWorkers(c.config, quayConfig, log.child({ component: 'snapshots' }));
    out(v.json ? JSON.stringify(rows, null, 2) : formatWorkerList(rows));
    return 0;
  }
  if (args.length !== 1) throw usage(args.length === 0 ? 'worker: name a program, or give --list' : 'worker takes one program');
  const program = args[0]!;
  const known = loadInventory().workers.some((w) => w.program === program);
  if (!known) throw usage(`worker: ${program} is not one of Quay's programs (quay worker --list shows them)`);
  const cfg = loadConfig(c);
  const stopped = new Promise<string>((r) => {
    process.once('SIGTERM', () => r('SIGTERM'));
    process.once('SIGINT', () => r('SIGINT'));
  });
  const idle = idleReason(program, cfg.quayConfig);
  if (idle !== null) {
    // As Quay's own process does: say so, then do nothing until stopped.
    log.info(`${program} idles, as Quay's does: ${idle}`, { program });
    if (v.once) return 0;
    // Signal listeners do not keep node alive: hold the event loop open until one comes.
    const keep = setInterval(() => undefined, 2 ** 31 - 1);
    try {
      log.info('stopped', { program, signal: await stopped });
    } finally {
      clearInterval(keep);
    }
    return 0;
  }
  if (!TS_PROGRAMS.includes(program)) throw fail('REG_WORKER_NOT_BUILT', `${program} is not built on the TS side yet: Python Quay runs it (quay worker --list)`);
  let adminListen: { host: string; port: number };
  try {
    adminListen = splitHostPort(v['admin-listen'] ?? '127.0.0.1:9093');
  } catch (e) {
    throw usage((e as Error).message);
  }
  return runWorker({ program, config: cfg, configFile: c.config, once: v.once === true, adminListen: v.once ? null : adminListen, log: log.child({ program }), stopped }).catch(
    (e: unknown) => {
      throw fail(regCode(e) ?? 'REG_START_FAILED', `cannot run ${program}: ${(e as Error).message}`, e);
    },
  );
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const out = (s: string): void => {
    process.stdout.write(s + '\n');
  };
  const err = (s: string): void => {
    process.stderr.write(s + '\n');
  };
  // The command words, even when the options do not parse: they choose the help to show.
  const words = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: false }).positionals;
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (e) {
      throw usage(parseArgsMessage(e));
    }
    const { values: v, positionals: p } = parsed;
    if (v.version) {
      out(VERSION);
      return 0;
    }
    if (v.help) {
      out(usageFor(p) ?? USAGE);
      return 0;
    }
    if (p.length === 0) {
      // The overview on stdout, as for --help; the error line (and exit 2) say it was not asked for.
      err(errorText('quay', 'REG_CLI_USAGE', 'give a command'));
      out(USAGE);
      return EXIT_USAGE;
    }
    const c = common(v, env);
    switch (p[0]) {
      case 'serve':
        if (p.length !== 1) throw usage('serve takes no arguments');
        return await serve(c, v);
      case 'config':
        return await configCmd(p[1], c, v, out);
      case 'user':
      case 'org':
      case 'robot':
      case 'app-token':
      case 'repo':
        return await entityCmd(p[0], p[1], p[2], c, v, env, out);
      case 'worker':
        return await workerCmd(p.slice(1), c, v, out);
      default:
        throw usage(`unknown command ${p[0]}`);
    }
  } catch (e) {
    const code = regCode(e);
    if (code === 'REG_CLI_USAGE') {
      err(errorText('quay', code, (e as Error).message, usageFor(words) ?? COMMANDS_HINT));
      return EXIT_USAGE;
    }
    if (code !== null) {
      err(errorText('quay', code, (e as Error).message));
      return EXIT_FAIL;
    }
    err(internalErrorText('quay', 'REG_INTERNAL', e, env));
    return EXIT_INTERNAL;
  }
}
