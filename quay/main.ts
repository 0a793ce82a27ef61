/**
 * The `quay` command: the new implementation's runtime and its operator
 * commands. Exit codes: 0 success, 1 the command ran and failed (bad config,
 * existing name, ...), 2 usage error.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { createLogger } from '../switchboard/log.js';
import { splitHostPort } from '../switchboard/config/host-port.js';
import { randomToken } from '../registryd/metadata/sqlite/auth-store.js';
import { openMetadata } from '../registryd/index.js';
import type { AuthStore, RepoRole } from '../registryd/metadata/auth-store.js';
import type { MetadataStore } from '../registryd/metadata/store.js';
import { FieldEncrypter } from '../registryd/auth/field-crypto.js';
import { hashPassword } from '../registryd/auth/passwords.js';
import { isValidNamespace, parseRepositoryPath } from '../registryd/names.js';
import { MODES, formatProblem, generateConfig, readQuayConfig, type Mode, type RuntimeConfig } from './config.js';
import { loadTls, parseTlsSpec, type TlsSpec } from './tls.js';
import { startRuntime } from './runtime.js';

export const USAGE = `Usage: quay <command> [options]

The new implementation of Quay (registry /v2 today), on Quay's database and
storage layout, configured by Quay's config.yaml keys.

Commands:
  serve                         run the registry
  config validate               check a config.yaml for a mode; every problem with its key and line
  config print [--json]         the effective config (mode presets applied, secrets redacted)
  config generate [--hostname H] [--output FILE]
                                a starter config.yaml for the mode (fresh DATABASE_SECRET_KEY)
  user create NAME --email E (--password-stdin | --password-env VAR)
                                a database user (bcrypt password), e.g. the first admin
  org create NAME --owner USER  an organisation owned by USER (team "owners", role admin)
  robot create NS+NAME [--description D] [--json]
                                a robot account of NS; prints its token once
  app-token create USER --title T [--json]
                                an app-specific token (log in as "$app" with it)
  repo create NS/NAME [--public]
  repo grant NS/NAME (--user U | --team ORG/TEAM) --role read|write|admin

Common options:
  --mode mirror|standalone|full   presets (default mirror)
  --config FILE                   config.yaml (default $QUAY_CONFIG; none = presets only)
  --data-dir DIR                  database, storage, keys (default $QUAY_DATA_DIR or ./data/quay)
  -h, --help

quay serve options:
  --listen HOST:PORT              default 0.0.0.0:8443 with TLS, 0.0.0.0:8080 without
  --admin-listen HOST:PORT        /metrics /healthz /readyz (default 127.0.0.1:9092)
  --tls off|self-signed|CERT,KEY  default self-signed in mirror mode, off otherwise
  --stale-upload-hours N          upload sessions older than this are removed (default 48)`;

class Usage extends Error {}
class Failure extends Error {}

interface Common {
  mode: Mode;
  config: string | undefined;
  dataDir: string;
}

const OPTIONS = {
  mode: { type: 'string' }, config: { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' }, listen: { type: 'string' }, 'admin-listen': { type: 'string' }, tls: { type: 'string' },
  'stale-upload-hours': { type: 'string' }, hostname: { type: 'string' }, output: { type: 'string' }, email: { type: 'string' },
  'password-stdin': { type: 'boolean' }, 'password-env': { type: 'string' }, owner: { type: 'string' }, description: { type: 'string' },
  title: { type: 'string' }, public: { type: 'boolean' }, user: { type: 'string' }, team: { type: 'string' }, role: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>>['values'];

function common(v: Values, env: NodeJS.ProcessEnv): Common {
  const mode = (v.mode ?? 'mirror') as Mode;
  if (!MODES.includes(mode)) throw new Usage(`--mode ${v.mode}: use mirror, standalone or full`);
  return { mode, config: v.config ?? env.QUAY_CONFIG, dataDir: resolve(v['data-dir'] ?? env.QUAY_DATA_DIR ?? 'data/quay') };
}

function loadConfig(c: Common): RuntimeConfig {
  const r = readQuayConfig(c.config, { mode: c.mode, dataDir: c.dataDir });
  if (!r.ok) throw new Failure(r.problems.map((p) => formatProblem(p, c.config)).join('\n'));
  return r.config;
}

const REDACT = new Set(['DATABASE_SECRET_KEY', 'SECRET_KEY']);

async function readPassword(v: Values, env: NodeJS.ProcessEnv): Promise<string> {
  let pw: string | undefined;
  if (v['password-env']) {
    pw = env[v['password-env']];
    if (pw === undefined) throw new Usage(`--password-env ${v['password-env']}: that variable is not set`);
  } else if (v['password-stdin']) {
    const rl = createInterface({ input: process.stdin });
    for await (const line of rl) { pw = line; break; }
    rl.close();
  } else {
    throw new Usage('give the password with --password-stdin or --password-env VAR (never on the command line)');
  }
  if (!pw || pw.trim().length < 8) throw new Failure('the password must have at least 8 characters');
  return pw;
}

function openStores(cfg: RuntimeConfig): Promise<{ store: MetadataStore; authStore: AuthStore }> {
  return openMetadata({ databaseUri: cfg.databaseUri, databaseFile: cfg.databaseFile, storageLocation: cfg.storage.location });
}

function encrypter(cfg: RuntimeConfig): FieldEncrypter {
  if (!cfg.auth.databaseSecretKey) throw new Failure('DATABASE_SECRET_KEY is not set in the config: robot tokens and app-token secrets are encrypted with it');
  return new FieldEncrypter(cfg.auth.databaseSecretKey);
}

async function serve(c: Common, v: Values): Promise<number> {
  const cfg = loadConfig(c);
  const log = createLogger({ component: 'quay', mode: c.mode });
  let tlsSpec: TlsSpec;
  try { tlsSpec = parseTlsSpec(v.tls ?? (c.mode === 'mirror' ? 'self-signed' : 'off')); } catch (e) { throw new Usage((e as Error).message); }
  let listen: { host: string; port: number };
  let adminListen: { host: string; port: number };
  try {
    listen = splitHostPort(v.listen ?? (tlsSpec.kind === 'off' ? '0.0.0.0:8080' : '0.0.0.0:8443'));
    adminListen = splitHostPort(v['admin-listen'] ?? '127.0.0.1:9092');
  } catch (e) { throw new Usage((e as Error).message); }
  const staleHours = Number(v['stale-upload-hours'] ?? 48);
  if (!(staleHours > 0)) throw new Usage('--stale-upload-hours must be a positive number');
  const tls = await loadTls(tlsSpec, cfg.dataDir, [cfg.auth.serverHostname.split(':')[0]!], log);
  const rt = await startRuntime({ config: cfg, log, listen, tls, adminListen, staleUploadHours: staleHours }).catch((e: unknown) => {
    throw new Failure(`cannot start: ${(e as Error).message}`);
  });
  log.info('quay serving', {
    url: rt.url, admin_listen: `${adminListen.host}:${rt.adminPort}`, data_dir: cfg.dataDir, database: cfg.databaseFile,
    storage: cfg.storage.path, auth: cfg.auth.mode, tls: tlsSpec.kind, ...(tls ? { cert_file: tls.certFile } : {}),
  });
  await new Promise<void>((r) => {
    const stop = (signal: string): void => { log.info('stopping', { signal }); r(); };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await rt.stop();
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
        if (existsSync(v.output)) throw new Failure(`${v.output} exists; not overwriting it`);
        writeFileSync(v.output, text, { mode: 0o600 });
        out(`wrote ${v.output}`);
      } else {
        out(text.trimEnd());
      }
      return 0;
    }
    default:
      throw new Usage('config takes validate, print or generate');
  }
}

async function entityCmd(kind: string, sub: string | undefined, name: string | undefined, c: Common, v: Values, env: NodeJS.ProcessEnv, out: (s: string) => void): Promise<number> {
  if (sub !== 'create' && !(kind === 'repo' && sub === 'grant')) throw new Usage(`${kind} takes ${kind === 'repo' ? 'create or grant' : 'create'}`);
  if (!name) throw new Usage(`${kind} ${sub} needs a name`);
  const cfg = loadConfig(c);
  const { store: meta, authStore: auth } = await openStores(cfg).catch((e: unknown) => { throw new Failure(`cannot open the database: ${(e as Error).message}`); });
  const now = Date.now();
  try {
    switch (kind) {
      case 'user': {
        if (!isValidNamespace(name)) throw new Failure(`invalid user name ${JSON.stringify(name)}: 2-255 lowercase letters and digits, single . _ - between`);
        if (!v.email || !/^[^@\s]+@[^@\s]+$/.test(v.email)) throw new Usage('user create needs --email ADDRESS');
        const password = await readPassword(v, env);
        if (await auth.userByName(name)) throw new Failure(`${name} already exists`);
        if (await auth.userByNameOrEmail(v.email)) throw new Failure(`e-mail ${v.email} is already used`);
        const u = await auth.createUser({ username: name, email: v.email, passwordHash: await hashPassword(password), verified: true }, now);
        out(v.json ? JSON.stringify({ username: u.username, uuid: u.uuid, email: u.email }) : `created user ${u.username}`);
        return 0;
      }
      case 'org': {
        if (!isValidNamespace(name)) throw new Failure(`invalid organization name ${JSON.stringify(name)}`);
        if (!v.owner) throw new Usage('org create needs --owner USER');
        const owner = await auth.userByName(v.owner);
        if (!owner || owner.organization || owner.robot) throw new Failure(`--owner ${v.owner}: no such user`);
        if (await auth.userByName(name)) throw new Failure(`${name} already exists`);
        const org = await auth.createOrganization(name, `${randomUUID()}@org.invalid`, owner.id, now);
        out(v.json ? JSON.stringify({ name: org.username, owner: owner.username }) : `created organization ${org.username} (owners: ${owner.username})`);
        return 0;
      }
      case 'robot': {
        const [ns, short, extra] = name.split('+');
        if (!ns || !short || extra !== undefined || !/^[a-z][a-z0-9_]{1,254}$/.test(short)) {
          throw new Failure(`robot name ${JSON.stringify(name)} must be NAMESPACE+name (name: lowercase letters, digits and _, starting with a letter)`);
        }
        const owner = await auth.userByName(ns);
        if (!owner || owner.robot) throw new Failure(`namespace ${ns} does not exist`);
        if (await auth.userByName(name)) throw new Failure(`Existing robot with name: ${name}`);
        const token = randomToken(64);
        await auth.createRobot(name, encrypter(cfg).encrypt(token), v.description ?? '', now);
        out(v.json ? JSON.stringify({ name, token }) : `created robot ${name}\ntoken: ${token}`);
        return 0;
      }
      case 'app-token': {
        if (!v.title) throw new Usage('app-token create needs --title T');
        const user = await auth.userByName(name);
        if (!user || user.organization || user.robot) throw new Failure(`no such user ${name}`);
        const code = randomToken(120);
        await auth.createAppToken(user.id, { uuid: randomUUID(), title: v.title, prefix: code.slice(0, 60), encryptedSecret: encrypter(cfg).encrypt(code.slice(60)), expirationMs: null }, now);
        out(v.json ? JSON.stringify({ user: name, title: v.title, token: code }) : `created app-specific token "${v.title}" for ${name} (log in as $app)\ntoken: ${code}`);
        return 0;
      }
      case 'repo': {
        let r;
        try { r = parseRepositoryPath(name, cfg.libraryNamespace); } catch (e) { throw new Failure((e as Error).message); }
        if (sub === 'create') {
          const ns = await auth.userByName(r.namespace);
          if (!ns || ns.robot) throw new Failure(`namespace ${r.namespace} does not exist (create the user or organization first)`);
          const repo = await meta.createRepository(r.namespace, r.name, v.public ? 'public' : 'private', now);
          if (v.public) await auth.setRepositoryVisibility(repo.id, 'public');
          out(`repository ${r.namespace}/${r.name} (${v.public ? 'public' : repo.visibility})`);
          return 0;
        }
        const role = v.role as RepoRole | undefined;
        if (role !== 'read' && role !== 'write' && role !== 'admin') throw new Usage('repo grant needs --role read, write or admin');
        const repo = await meta.lookupRepository(r.namespace, r.name);
        if (!repo) throw new Failure(`repository ${r.namespace}/${r.name} does not exist`);
        if (v.user) {
          const u = await auth.userByName(v.user);
          if (!u || u.organization) throw new Failure(`no such user or robot ${v.user}`);
          await auth.setRepositoryPermission(repo.id, { userId: u.id }, role);
        } else if (v.team) {
          const [org, team] = v.team.split('/');
          const teamId = org && team ? await auth.teamId(org, team) : null;
          if (teamId === null) throw new Failure(`no such team ${v.team}`);
          await auth.setRepositoryPermission(repo.id, { teamId }, role);
        } else {
          throw new Usage('repo grant needs --user U or --team ORG/TEAM');
        }
        out(`${v.user ?? v.team}: ${role} on ${r.namespace}/${r.name}`);
        return 0;
      }
      default:
        throw new Usage(`unknown command ${kind}`);
    }
  } finally {
    await meta.close();
  }
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const out = (s: string): void => { process.stdout.write(s + '\n'); };
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (e) {
      throw new Usage((e as Error).message);
    }
    const { values: v, positionals: p } = parsed;
    if (v.help || p.length === 0) { out(USAGE); return p.length === 0 && !v.help ? 2 : 0; }
    const c = common(v, env);
    switch (p[0]) {
      case 'serve':
        if (p.length !== 1) throw new Usage('serve takes no arguments');
        return await serve(c, v);
      case 'config':
        return await configCmd(p[1], c, v, out);
      case 'user': case 'org': case 'robot': case 'app-token': case 'repo':
        return await entityCmd(p[0], p[1], p[2], c, v, env, out);
      default:
        throw new Usage(`unknown command ${p[0]}`);
    }
  } catch (e) {
    if (e instanceof Usage) { process.stderr.write(`quay: ${e.message}\n(see quay --help)\n`); return 2; }
    if (e instanceof Failure) { process.stderr.write(`quay: ${e.message}\n`); return 1; }
    process.stderr.write(`quay: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}
