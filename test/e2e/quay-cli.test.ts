/**
 * The `quay` command as an operator runs it: `node bin/quay.js ...` with a
 * temp --data-dir, never the functions behind it. Exit codes (0 done, 1 the
 * command ran and failed, 2 usage), what each command prints, and what it
 * leaves in DATA_DIR/quay.db (read back with better-sqlite3); then
 * `quay serve --mode mirror --tls self-signed`: anonymous /v2/ over HTTPS,
 * the admin listener, the certificate kept across a restart, and SIGTERM.
 */
import t from 'tap';
import https from 'node:https';
import { spawn } from 'node:child_process';
import { X509Certificate, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ROOT, freePort, request, sleep, startChild, tempDir, waitFor, type Child } from '../lib/proc.js';
import { buildSwitchboard } from '../lib/switchboard.js';
import { FieldEncrypter } from '../../domain/auth/field-crypto.js';

t.setTimeout(300_000);
await buildSwitchboard();
if (!existsSync(join(ROOT, 'dist/quay/main.js'))) throw new Error('npm run build did not produce dist/quay/main.js');

const BIN = join(ROOT, 'bin/quay.js');
const dir = tempDir(t, 'quay-cli-');

/** Our environment minus QUAY_* (the CLI reads QUAY_CONFIG and QUAY_DATA_DIR). */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('QUAY_')) env[k] = v;
  return { ...env, ...extra };
}

interface Out {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node bin/quay.js ...args`, `input` on stdin, cwd the temp dir; never throws on a non-zero exit. */
function quay(args: readonly string[], o: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Out> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: childEnv(o.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    c.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const timer = setTimeout(() => {
      stderr += '\n[test: killed after 60 s]';
      c.kill('SIGKILL');
    }, 60_000);
    c.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    c.stdin.on('error', () => {
      /* the command may exit before reading stdin */
    });
    c.stdin.end(o.input ?? '');
  });
}

/** For t.equal messages: what the command printed, when it did not exit as expected. */
const said = (r: Out): { stdout: string; stderr: string } => ({ stdout: r.stdout, stderr: r.stderr });

function write(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

// ---------------------------------------------------------------- usage

t.test('--help, no command, unknown command, unknown option', async (t) => {
  for (const flag of ['--help', '-h']) {
    const h = await quay([flag]);
    t.equal(h.code, 0, `${flag} exits 0`);
    t.match(h.stdout, /^Usage: quay <command>/, `${flag} prints the usage on stdout`);
    for (const cmd of [
      'serve',
      'config validate',
      'config print',
      'config generate',
      'user create',
      'org create',
      'robot create',
      'app-token create',
      'repo create',
      'repo grant',
    ]) {
      t.match(h.stdout, `  ${cmd}`, `${flag} lists ${cmd}`);
    }
    t.equal(h.stderr, '', `${flag}: nothing on stderr`);
  }
  const bare = await quay([]);
  t.equal(bare.code, 2, 'no command: usage error');
  t.match(bare.stdout, 'Usage: quay');

  const unknown = await quay(['frobnicate']);
  t.equal(unknown.code, 2, 'unknown command exits 2');
  t.match(unknown.stderr, 'quay: unknown command frobnicate');
  t.match(unknown.stderr, 'see quay --help');

  t.equal((await quay(['config', 'validate', '--frobnicate'])).code, 2, 'unknown option exits 2');
  t.equal((await quay(['config', 'lint'])).code, 2, 'unknown config subcommand exits 2');
  t.equal((await quay(['user', 'delete', 'alice'])).code, 2, 'unknown user subcommand exits 2');
  const mode = await quay(['config', 'print', '--mode', 'cluster']);
  t.equal(mode.code, 2, 'unknown --mode exits 2');
  t.match(mode.stderr, '--mode cluster');
});

// ---------------------------------------------------------------- config validate / print / generate

t.test('config validate', async (t) => {
  const dataDir = join(dir, 'validate-data');
  const good = write(
    'good.yaml',
    [
      'SERVER_HOSTNAME: registry.example.com:8443',
      'PREFERRED_URL_SCHEME: https',
      'AUTHENTICATION_TYPE: Database',
      `DATABASE_SECRET_KEY: ${randomUUID()}`,
      'FEATURE_ANONYMOUS_ACCESS: yes', // YAML 1.1, as Quay's PyYAML reads it
      'SOME_KEY_ONLY_PYTHON_QUAY_READS: {a: 1}',
      '',
    ].join('\n'),
  );
  const ok = await quay(['config', 'validate', '--config', good, '--data-dir', dataDir]);
  t.equal(ok.code, 0, 'a good file validates', said(ok));
  t.match(ok.stdout, `${good}: valid for mirror mode`);
  const okJson = await quay(['config', 'validate', '--config', good, '--data-dir', dataDir, '--json']);
  t.equal(okJson.code, 0);
  t.same(JSON.parse(okJson.stdout), { ok: true, mode: 'mirror', problems: [] });
  t.equal((await quay(['config', 'validate', '--data-dir', dataDir])).code, 0, 'no file: the mirror presets are valid');
  const viaEnv = await quay(['config', 'validate', '--data-dir', dataDir], { env: { QUAY_CONFIG: good } });
  t.equal(viaEnv.code, 0);
  t.match(viaEnv.stdout, good, '$QUAY_CONFIG names the file');

  // Type errors: each with file:line: KEY: message, in file order.
  const types = write(
    'types.yaml',
    ['# a comment line', 'SERVER_HOSTNAME: 42', 'PREFERRED_URL_SCHEME: https', 'FEATURE_ANONYMOUS_ACCESS: maybe', 'PREFERRED_URL_SCHEME_TYPO: x', ''].join('\n'),
  );
  const ty = await quay(['config', 'validate', '--config', types, '--data-dir', dataDir]);
  t.equal(ty.code, 1, 'bad types exit 1');
  t.equal(ty.stdout.trim().split('\n').length, 2, 'one line per bad key', { stdout: ty.stdout });
  t.match(ty.stdout, `${types}:2: SERVER_HOSTNAME: must be a host name`);
  t.match(ty.stdout, `${types}:4: FEATURE_ANONYMOUS_ACCESS: "maybe" is not true or false`);
  t.ok(ty.stdout.indexOf(':2: SERVER_HOSTNAME') < ty.stdout.indexOf(':4: FEATURE_ANONYMOUS_ACCESS'), 'in file order');

  // What this runtime cannot serve, each at its key's line.
  const serve = write('serve.yaml', ['SERVER_HOSTNAME: registry.example.com', 'AUTHENTICATION_TYPE: LDAP', 'DB_URI: postgresql://quay:pw@db/quay', ''].join('\n'));
  const sv = await quay(['config', 'validate', '--config', serve, '--data-dir', dataDir]);
  t.equal(sv.code, 1);
  t.match(sv.stdout, `${serve}:2: AUTHENTICATION_TYPE: LDAP is not served by this runtime yet`);
  t.match(sv.stdout, `${serve}:3: DB_URI: mirror mode keeps its data in SQLite; use --mode standalone for PostgreSQL`);
  const mysql = write('mysql.yaml', 'DB_URI: mysql+pymysql://quay@db/quay\n');
  t.match((await quay(['config', 'validate', '--config', mysql, '--data-dir', dataDir])).stdout, `${mysql}:1: DB_URI: mysql+pymysql databases are not supported`);
  const full = await quay(['config', 'validate', '--mode', 'full', '--data-dir', dataDir]);
  t.equal(full.code, 1);
  t.match(full.stdout, 'full mode (services as separate processes, S3, external auth) is not served by this build yet');

  // Database auth without DATABASE_SECRET_KEY: the key is absent, so the line of AUTHENTICATION_TYPE, which needs it.
  const nokey = write('nokey.yaml', 'SERVER_HOSTNAME: registry.example.com\nAUTHENTICATION_TYPE: Database\n');
  const nk = await quay(['config', 'validate', '--config', nokey, '--data-dir', dataDir]);
  t.equal(nk.code, 1);
  t.match(nk.stdout, `${nokey}:2: DATABASE_SECRET_KEY: Database authentication needs DATABASE_SECRET_KEY`);
  t.equal(nk.stderr, '', 'problems go to stdout');

  // --json: the same problems, each with its key and line.
  const js = await quay(['config', 'validate', '--config', types, '--data-dir', dataDir, '--json']);
  t.equal(js.code, 1);
  const parsed = JSON.parse(js.stdout) as { ok: boolean; mode: string; problems: { key: string; line?: number; message: string }[] };
  t.equal(parsed.ok, false);
  t.equal(parsed.mode, 'mirror');
  t.same(
    parsed.problems.map((p) => [p.key, p.line]),
    [
      ['SERVER_HOSTNAME', 2],
      ['FEATURE_ANONYMOUS_ACCESS', 4],
    ],
  );
  t.match(parsed.problems[1]!.message, 'maybe');
  const js2 = JSON.parse((await quay(['config', 'validate', '--config', serve, '--data-dir', dataDir, '--json'])).stdout) as typeof parsed;
  t.same(
    js2.problems.map((p) => [p.key, p.line]),
    [
      ['AUTHENTICATION_TYPE', 2],
      ['DB_URI', 3],
    ],
  );
  const js3 = JSON.parse((await quay(['config', 'validate', '--config', nokey, '--data-dir', dataDir, '--json'])).stdout) as typeof parsed;
  t.same(
    js3.problems.map((p) => p.key),
    ['DATABASE_SECRET_KEY'],
  );

  // Nested keys and YAML errors.
  const nested = write('nested.yaml', 'DISTRIBUTED_STORAGE_CONFIG:\n  local_us: [LocalStorage, {storage_path: s}]\n  s3: LocalStorage\n');
  const ne = JSON.parse((await quay(['config', 'validate', '--config', nested, '--data-dir', dataDir, '--json'])).stdout) as typeof parsed;
  t.same(
    ne.problems.map((p) => [p.key, p.line]),
    [['DISTRIBUTED_STORAGE_CONFIG.s3', 3]],
    'a nested key is named by its path, at its own line',
  );
  const yamlErr = write('broken.yaml', 'SERVER_HOSTNAME: a\nSERVER_HOSTNAME: b\n');
  const ye = await quay(['config', 'validate', '--config', yamlErr, '--data-dir', dataDir]);
  t.equal(ye.code, 1, 'a duplicate key is refused');
  t.match(ye.stdout, `${yamlErr}:2: YAML:`);
  const missing = await quay(['config', 'validate', '--config', join(dir, 'nope.yaml'), '--data-dir', dataDir]);
  t.equal(missing.code, 1, 'a missing file exits 1');
  t.match(missing.stdout, 'cannot read');
  const standalone = await quay(['config', 'validate', '--mode', 'standalone', '--config', good, '--data-dir', dataDir]);
  t.equal(standalone.code, 1, 'standalone mode needs DB_URI');
  t.match(standalone.stdout, 'DB_URI: standalone mode needs DB_URI');
});

t.test('config validate reports every problem of a file at once (USAGE: "every problem with its key and line")', async (t) => {
  const all = write('all.yaml', ['SERVER_HOSTNAME: 42', 'FEATURE_ANONYMOUS_ACCESS: maybe', 'AUTHENTICATION_TYPE: LDAP', 'DB_URI: postgresql://quay@db/quay', ''].join('\n'));
  const r = await quay(['config', 'validate', '--config', all, '--data-dir', join(dir, 'validate-data'), '--json']);
  t.equal(r.code, 1);
  const keys = (JSON.parse(r.stdout) as { problems: { key: string; line?: number }[] }).problems.map((p) => [p.key, p.line]);
  t.same(
    keys,
    [
      ['SERVER_HOSTNAME', 1],
      ['FEATURE_ANONYMOUS_ACCESS', 2],
      ['AUTHENTICATION_TYPE', 3],
      ['DB_URI', 4],
    ],
    'type errors and unsupported values in one run, not one class per run',
  );
});

t.test('config print', async (t) => {
  const dataDir = join(dir, 'print-data');
  const secret = randomUUID();
  const cfg = write('print.yaml', `SERVER_HOSTNAME: registry.example.com\nAUTHENTICATION_TYPE: Database\nDATABASE_SECRET_KEY: ${secret}\nCUSTOM_PYTHON_ONLY_KEY: 1\n`);
  for (const json of [false, true]) {
    const p = await quay(['config', 'print', '--config', cfg, '--data-dir', dataDir, ...(json ? ['--json'] : [])]);
    t.equal(p.code, 0, 'exit 0', said(p));
    t.notMatch(p.stdout, secret, `${json ? 'json' : 'yaml'}: the secret is never printed`);
    if (json) {
      const eff = JSON.parse(p.stdout) as Record<string, unknown>;
      t.equal(eff.DATABASE_SECRET_KEY, '<redacted>');
      t.equal(eff.AUTHENTICATION_TYPE, 'Database', 'a key set in the file wins over its preset');
      t.equal(eff.SERVER_HOSTNAME, 'registry.example.com');
      t.equal(eff.DB_URI, `sqlite:///${join(dataDir, 'quay.db')}`, 'mirror preset database under --data-dir');
      t.equal(eff.CUSTOM_PYTHON_ONLY_KEY, undefined, 'keys this runtime does not read are not part of its effective config');
    } else {
      t.match(p.stdout, /^DATABASE_SECRET_KEY: <redacted>$/m);
    }
  }
  // Mirror presets with no file.
  const m = await quay(['config', 'print', '--data-dir', dataDir, '--json']);
  t.equal(m.code, 0);
  const eff = JSON.parse(m.stdout) as Record<string, any>;
  t.equal(eff.AUTHENTICATION_TYPE, 'Anonymous', 'mirror: anonymous');
  t.match(eff.DB_URI, /^sqlite:\/\/\//, 'mirror: SQLite');
  t.equal(eff.DB_URI, `sqlite:///${join(dataDir, 'quay.db')}`);
  t.same(eff.DATA_MODEL_CACHE_CONFIG, { engine: 'inmemory' });
  t.same(eff.DISTRIBUTED_STORAGE_CONFIG, { local_us: ['LocalStorage', { storage_path: join(dataDir, 'storage') }] });
  t.equal(eff.CREATE_NAMESPACE_ON_PUSH, true);
  const yml = await quay(['config', 'print', '--data-dir', dataDir]);
  t.match(yml.stdout, /^AUTHENTICATION_TYPE: Anonymous$/m, 'YAML output by default');
  // An invalid config is not printed.
  const bad = await quay(['config', 'print', '--config', join(dir, 'types.yaml'), '--data-dir', dataDir]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, 'FEATURE_ANONYMOUS_ACCESS');
  t.equal(bad.stdout, '');
});

t.test('config generate', async (t) => {
  const dataDir = join(dir, 'generate-data');
  const g = await quay(['config', 'generate', '--mode', 'mirror', '--hostname', 'reg.example.com:8443']);
  t.equal(g.code, 0);
  t.match(g.stdout, /^SERVER_HOSTNAME: reg\.example\.com:8443$/m);
  t.match(g.stdout, /^AUTHENTICATION_TYPE: Anonymous$/m);
  const key = /^DATABASE_SECRET_KEY: ([0-9a-f-]{36})$/m.exec(g.stdout)?.[1];
  t.ok(key, 'a fresh DATABASE_SECRET_KEY');
  const again = await quay(['config', 'generate', '--mode', 'mirror']);
  t.not(/^DATABASE_SECRET_KEY: (.*)$/m.exec(again.stdout)?.[1], key, 'a new secret each time');
  const f = write('generated-stdout.yaml', g.stdout);
  const v = await quay(['config', 'validate', '--config', f, '--data-dir', dataDir]);
  t.equal(v.code, 0, 'the generated output validates', said(v));
  const eff = JSON.parse((await quay(['config', 'print', '--config', f, '--data-dir', dataDir, '--json'])).stdout) as Record<string, unknown>;
  t.equal(eff.DB_URI, 'sqlite:///quay.db', 'relative SQLite file (under --data-dir)');

  const out = join(dir, 'generated.yaml');
  const w = await quay(['config', 'generate', '--mode', 'mirror', '--output', out]);
  t.equal(w.code, 0, 'exit 0', said(w));
  t.match(w.stdout, `wrote ${out}`);
  t.equal(statSync(out).mode & 0o777, 0o600, 'written private: it holds the secret');
  const before = readFileSync(out, 'utf8');
  t.equal((await quay(['config', 'validate', '--config', out, '--data-dir', dataDir])).code, 0, 'the written file validates');
  const refuse = await quay(['config', 'generate', '--mode', 'mirror', '--output', out]);
  t.equal(refuse.code, 1, '--output refuses to overwrite');
  t.match(refuse.stderr, 'exists; not overwriting');
  t.equal(readFileSync(out, 'utf8'), before, 'the file is untouched');

  const st = await quay(['config', 'generate', '--mode', 'standalone']);
  t.equal(st.code, 0);
  t.match(st.stdout, /^AUTHENTICATION_TYPE: Database$/m);
  t.match(st.stdout, /^DB_URI: postgresql:/m);
});

// ---------------------------------------------------------------- entities

const dataDir = join(dir, 'data');
const secret = randomUUID();
const config = write('config.yaml', `SERVER_HOSTNAME: registry.example.com\nPREFERRED_URL_SCHEME: https\nAUTHENTICATION_TYPE: Database\nDATABASE_SECRET_KEY: ${secret}\n`);
const C = ['--config', config, '--data-dir', dataDir];
function db(): Database.Database {
  return new Database(join(dataDir, 'quay.db'), { readonly: true });
}
function query<T>(sql: string, ...args: unknown[]): T | undefined {
  const d = db();
  try {
    return d.prepare(sql).get(...args) as T | undefined;
  } finally {
    d.close();
  }
}

t.test('user create', async (t) => {
  const a = await quay(['user', 'create', 'alice', '--email', 'alice@example.com', '--password-stdin', ...C], { input: 'correct horse battery\n' });
  t.equal(a.code, 0, 'exit 0', said(a));
  t.match(a.stdout, 'created user alice');
  t.notMatch(a.stdout + a.stderr, 'correct horse', 'the password is not echoed');
  const row = query<{ uuid: string; email: string; password_hash: string; organization: number; robot: number; verified: number; enabled: number }>(
    'SELECT uuid, email, password_hash, organization, robot, verified, enabled FROM "user" WHERE username = ?',
    'alice',
  );
  t.ok(row, 'a "user" row in DATA_DIR/quay.db');
  t.match(row?.password_hash, /^\$2[aby]\$\d\d\$.{53}$/, 'a bcrypt hash');
  t.notMatch(row?.password_hash, 'correct horse');
  t.same([row?.organization, row?.robot, row?.email, row?.verified, row?.enabled], [0, 0, 'alice@example.com', 1, 1]);
  t.match(row?.uuid, /^[0-9a-f-]{36}$/);

  const b = await quay(['user', 'create', 'bob', '--email', 'bob@example.com', '--password-env', 'BOB_PW', '--json', ...C], { env: { BOB_PW: 'bob-password-1' } });
  t.equal(b.code, 0, 'exit 0', said(b));
  t.same(Object.keys(JSON.parse(b.stdout) as object).sort(), ['email', 'username', 'uuid'], '--json');

  const dup = await quay(['user', 'create', 'alice', '--email', 'alice2@example.com', '--password-stdin', ...C], { input: 'another-password\n' });
  t.equal(dup.code, 1, 'duplicate user exits 1');
  t.match(dup.stderr, 'alice already exists');
  const dupMail = await quay(['user', 'create', 'alice2', '--email', 'alice@example.com', '--password-stdin', ...C], { input: 'another-password\n' });
  t.equal(dupMail.code, 1, 'duplicate e-mail exits 1');
  t.match(dupMail.stderr, 'already used');
  const short = await quay(['user', 'create', 'carol', '--email', 'carol@example.com', '--password-stdin', ...C], { input: 'short\n' });
  t.equal(short.code, 1, 'short password exits 1');
  t.match(short.stderr, 'at least 8 characters');
  t.equal((await quay(['user', 'create', 'carol', '--email', 'carol@example.com', '--password-stdin', ...C], { input: '' })).code, 1, 'no password on stdin exits 1');
  const noMail = await quay(['user', 'create', 'carol', '--password-stdin', ...C], { input: 'long-enough-password\n' });
  t.equal(noMail.code, 2, 'missing --email exits 2');
  t.match(noMail.stderr, '--email');
  t.equal((await quay(['user', 'create', 'carol', '--email', 'not-an-address', '--password-stdin', ...C], { input: 'long-enough-password\n' })).code, 2, 'bad --email exits 2');
  const argv = await quay(['user', 'create', 'carol', '--email', 'carol@example.com', '--password', 'long-enough-password', ...C]);
  t.equal(argv.code, 2, 'there is no --password: the password never goes on the command line');
  const neither = await quay(['user', 'create', 'carol', '--email', 'carol@example.com', ...C]);
  t.equal(neither.code, 2, 'no password source exits 2');
  t.match(neither.stderr, 'never on the command line');
  t.equal((await quay(['user', 'create', 'carol', '--email', 'carol@example.com', '--password-env', 'NOT_SET_ANYWHERE', ...C])).code, 2, 'unset --password-env variable exits 2');
  t.equal(
    (await quay(['user', 'create', 'Carol!', '--email', 'carol@example.com', '--password-stdin', ...C], { input: 'long-enough-password\n' })).code,
    1,
    'invalid name exits 1',
  );
  t.equal((await quay(['user', 'create', '--email', 'carol@example.com', '--password-stdin', ...C], { input: 'long-enough-password\n' })).code, 2, 'no name exits 2');
  t.equal(query<{ n: number }>('SELECT count(*) n FROM "user" WHERE username IN (?, ?)', 'carol', 'alice2')?.n, 0, 'no refused user was written');
});

let robotToken = '';

t.test('robot create', async (t) => {
  const r = await quay(['robot', 'create', 'alice+ci', '--description', 'CI pushes', '--json', ...C]);
  t.equal(r.code, 0, 'exit 0', said(r));
  const out = JSON.parse(r.stdout) as { name: string; token: string };
  t.equal(out.name, 'alice+ci');
  robotToken = out.token;
  t.match(robotToken, /^[A-Za-z0-9]{64}$/, 'a 64-character token');
  const row = query<{ token: string; robot: number; password_hash: string | null; description: string }>(
    `SELECT t.token, u.robot, u.password_hash, m.description FROM robotaccounttoken t JOIN "user" u ON u.id = t.robot_account_id
     LEFT JOIN robotaccountmetadata m ON m.robot_account_id = u.id WHERE u.username = ?`,
    'alice+ci',
  );
  t.ok(row, 'a robotaccounttoken row');
  t.match(row?.token, /^v0\$\$/, 'stored encrypted (v0$$...)');
  t.not(row?.token, robotToken, 'not the plain token');
  t.notMatch(row?.token, robotToken);
  t.equal(new FieldEncrypter(secret).decrypt(row!.token), robotToken, 'decrypts with DATABASE_SECRET_KEY to the printed token');
  t.equal(row?.robot, 1);
  t.equal(row?.password_hash, null);
  t.equal(row?.description, 'CI pushes');

  const plain = await quay(['robot', 'create', 'alice+deploy', ...C]);
  t.equal(plain.code, 0, 'exit 0', said(plain));
  t.match(plain.stdout, /^created robot alice\+deploy\ntoken: [A-Za-z0-9]{64}\n$/);

  const dup = await quay(['robot', 'create', 'alice+ci', ...C]);
  t.equal(dup.code, 1, 'duplicate robot exits 1');
  t.match(dup.stderr, 'Existing robot with name: alice+ci');
  t.equal((await quay(['robot', 'create', 'nobody+ci', ...C])).code, 1, 'robot of a missing namespace exits 1');
  t.equal((await quay(['robot', 'create', 'alice+CI', ...C])).code, 1, 'upper case robot name exits 1');
  t.equal((await quay(['robot', 'create', 'alice', ...C])).code, 1, 'no +name exits 1');
  t.equal((await quay(['robot', 'create', 'alice+a+b', ...C])).code, 1, 'two + exits 1');

  // The same data dir with the mirror presets only: no DATABASE_SECRET_KEY.
  const noKey = await quay(['robot', 'create', 'alice+nokey', '--data-dir', dataDir]);
  t.equal(noKey.code, 1, 'robot create without DATABASE_SECRET_KEY exits 1');
  t.match(noKey.stderr, 'DATABASE_SECRET_KEY');
  t.equal(query<{ n: number }>('SELECT count(*) n FROM "user" WHERE username = ?', 'alice+nokey')?.n, 0, 'and leaves no robot behind');
});

t.test('org create', async (t) => {
  const o = await quay(['org', 'create', 'acme', '--owner', 'alice', ...C]);
  t.equal(o.code, 0, 'exit 0', said(o));
  t.match(o.stdout, 'created organization acme (owners: alice)');
  t.equal(query<{ organization: number }>('SELECT organization FROM "user" WHERE username = ?', 'acme')?.organization, 1);
  const team = query<{ role: string }>(`SELECT tr.name role FROM team t JOIN teamrole tr ON tr.id = t.role_id JOIN "user" o ON o.id = t.organization_id
    JOIN teammember m ON m.team_id = t.id JOIN "user" u ON u.id = m.user_id WHERE o.username = 'acme' AND t.name = 'owners' AND u.username = 'alice'`);
  t.equal(team?.role, 'admin', 'team owners (admin) with the owner in it');
  const j = await quay(['org', 'create', 'acme-labs', '--owner', 'bob', '--json', ...C]);
  t.equal(j.code, 0, 'exit 0', said(j));
  t.same(JSON.parse(j.stdout), { name: 'acme-labs', owner: 'bob' });

  t.equal((await quay(['org', 'create', 'acme', '--owner', 'alice', ...C])).code, 1, 'existing name exits 1');
  t.equal((await quay(['org', 'create', 'alice', '--owner', 'bob', ...C])).code, 1, 'a user name exits 1');
  t.equal((await quay(['org', 'create', 'other', '--owner', 'nobody', ...C])).code, 1, 'missing owner exits 1');
  t.equal((await quay(['org', 'create', 'other', '--owner', 'acme', ...C])).code, 1, 'an organization cannot own one');
  t.equal((await quay(['org', 'create', 'other', '--owner', 'alice+ci', ...C])).code, 1, 'a robot cannot own one');
  t.equal((await quay(['org', 'create', 'other', ...C])).code, 2, 'no --owner exits 2');
});

t.test('app-token create', async (t) => {
  const a = await quay(['app-token', 'create', 'alice', '--title', 'laptop', '--json', ...C]);
  t.equal(a.code, 0, 'exit 0', said(a));
  const out = JSON.parse(a.stdout) as { user: string; title: string; token: string };
  t.same([out.user, out.title], ['alice', 'laptop']);
  t.match(out.token, /^[A-Za-z0-9]{120}$/);
  const row = query<{ title: string; token_name: string; token_secret: string; username: string }>(
    `SELECT a.title, a.token_name, a.token_secret, u.username FROM appspecificauthtoken a JOIN "user" u ON u.id = a.user_id WHERE a.title = ?`,
    'laptop',
  );
  t.equal(row?.username, 'alice');
  t.equal(row?.token_name, out.token.slice(0, 60), 'the first 60 characters are the public name');
  t.match(row?.token_secret, /^v0\$\$/, 'the rest is stored encrypted');
  t.equal(new FieldEncrypter(secret).decrypt(row!.token_secret), out.token.slice(60));
  const plain = await quay(['app-token', 'create', 'alice', '--title', 'desk', ...C]);
  t.equal(plain.code, 0);
  t.match(plain.stdout, 'log in as $app');

  t.equal((await quay(['app-token', 'create', 'alice', ...C])).code, 2, 'no --title exits 2');
  t.equal((await quay(['app-token', 'create', 'nobody', '--title', 'x', ...C])).code, 1, 'no such user exits 1');
  t.equal((await quay(['app-token', 'create', 'acme', '--title', 'x', ...C])).code, 1, 'an organization exits 1');
  t.equal((await quay(['app-token', 'create', 'alice+ci', '--title', 'x', ...C])).code, 1, 'a robot exits 1');
  const nk = await quay(['app-token', 'create', 'alice', '--title', 'x', '--data-dir', dataDir]);
  t.equal(nk.code, 1, 'no DATABASE_SECRET_KEY exits 1');
  t.match(nk.stderr, 'DATABASE_SECRET_KEY');
});

t.test('repo create and repo grant', async (t) => {
  const visibility = (ns: string, name: string): string | undefined =>
    query<{ v: string }>(
      `SELECT v.name v FROM repository r JOIN visibility v ON v.id = r.visibility_id JOIN "user" u ON u.id = r.namespace_user_id WHERE u.username = ? AND r.name = ?`,
      ns,
      name,
    )?.v;
  const role = (ns: string, name: string, who: string): string | undefined =>
    query<{ role: string }>(
      `SELECT ro.name role FROM repositorypermission p JOIN role ro ON ro.id = p.role_id JOIN repository r ON r.id = p.repository_id
     JOIN "user" n ON n.id = r.namespace_user_id LEFT JOIN "user" u ON u.id = p.user_id LEFT JOIN team tm ON tm.id = p.team_id
     LEFT JOIN "user" o ON o.id = tm.organization_id
     WHERE n.username = ? AND r.name = ? AND (u.username = ? OR o.username || '/' || tm.name = ?)`,
      ns,
      name,
      who,
      who,
    )?.role;

  const c = await quay(['repo', 'create', 'alice/app', ...C]);
  t.equal(c.code, 0, 'exit 0', said(c));
  t.match(c.stdout, 'repository alice/app (private)');
  t.equal(visibility('alice', 'app'), 'private');
  const p = await quay(['repo', 'create', 'alice/pub', '--public', ...C]);
  t.equal(p.code, 0, 'exit 0', said(p));
  t.match(p.stdout, 'repository alice/pub (public)');
  t.equal(visibility('alice', 'pub'), 'public');
  t.equal((await quay(['repo', 'create', 'acme/tools', ...C])).code, 0, 'in an organization');

  t.equal((await quay(['repo', 'create', 'nobody/x', ...C])).code, 1, 'missing namespace exits 1');
  t.equal((await quay(['repo', 'create', 'alice+ci/x', ...C])).code, 1, 'a robot namespace exits 1');
  t.equal((await quay(['repo', 'create', 'alice/Bad Name', ...C])).code, 1, 'invalid repository name exits 1');
  t.equal((await quay(['repo', 'create', ...C])).code, 2, 'no name exits 2');

  const g = await quay(['repo', 'grant', 'alice/app', '--user', 'bob', '--role', 'write', ...C]);
  t.equal(g.code, 0, 'exit 0', said(g));
  t.match(g.stdout, 'bob: write on alice/app');
  t.equal(role('alice', 'app', 'bob'), 'write');
  t.equal((await quay(['repo', 'grant', 'alice/app', '--user', 'bob', '--role', 'read', ...C])).code, 0);
  t.equal(role('alice', 'app', 'bob'), 'read', 'a second grant replaces the role');
  t.equal((await quay(['repo', 'grant', 'alice/app', '--user', 'alice+ci', '--role', 'read', ...C])).code, 0, 'a robot');
  t.equal(role('alice', 'app', 'alice+ci'), 'read');
  t.equal((await quay(['repo', 'grant', 'acme/tools', '--team', 'acme/owners', '--role', 'admin', ...C])).code, 0, 'a team');
  t.equal(role('acme', 'tools', 'acme/owners'), 'admin');

  t.equal((await quay(['repo', 'grant', 'alice/missing', '--user', 'bob', '--role', 'read', ...C])).code, 1, 'missing repository exits 1');
  t.equal((await quay(['repo', 'grant', 'alice/app', '--user', 'nobody', '--role', 'read', ...C])).code, 1, 'missing user exits 1');
  t.equal((await quay(['repo', 'grant', 'alice/app', '--user', 'acme', '--role', 'read', ...C])).code, 1, 'an organization is not a grantee');
  t.equal((await quay(['repo', 'grant', 'acme/tools', '--team', 'acme/nope', '--role', 'read', ...C])).code, 1, 'missing team exits 1');
  const badRole = await quay(['repo', 'grant', 'alice/app', '--user', 'bob', '--role', 'owner', ...C]);
  t.equal(badRole.code, 2, 'unknown role exits 2');
  t.match(badRole.stderr, 'read, write or admin');
  t.equal((await quay(['repo', 'grant', 'alice/app', '--role', 'read', ...C])).code, 2, 'no --user or --team exits 2');
  t.equal(role('alice', 'app', 'bob'), 'read', 'refused grants change nothing');
});

// ---------------------------------------------------------------- quay serve

t.test('quay serve --mode mirror --tls self-signed', async (t) => {
  const serveDir = join(dir, 'serve-data');
  const port = await freePort();
  const adminPort = await freePort();
  const args = ['serve', '--mode', 'mirror', '--data-dir', serveDir, '--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${adminPort}`, '--tls', 'self-signed'];

  async function start(): Promise<Child> {
    const c = startChild(t, process.execPath, [BIN, ...args], { cwd: dir, env: childEnv() });
    const up = await waitFor(() => !c.running() || c.stderr().includes('"msg":"quay serving"'), 60_000, 50);
    if (!up || !c.running()) throw new Error(`quay serve did not start (exit ${String(c.child.exitCode)}):\n${c.stderr()}`);
    return c;
  }
  function get(path: string): Promise<{ status: number; body: string; fingerprint: string; headers: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false, timeout: 30_000 }, (res) => {
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (s: string) => {
            body += s;
          })
          .on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint, headers: res.headers }));
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${path}: timeout`)));
      req.on('error', reject);
    });
  }

  let server = await start();
  const certFile = join(serveDir, 'tls/cert.pem');
  t.ok(existsSync(certFile), 'certificate written to DATA_DIR/tls/cert.pem');
  t.equal(statSync(join(serveDir, 'tls/key.pem')).mode & 0o777, 0o600, 'key.pem is private');
  const certBytes = readFileSync(certFile);
  const x509 = new X509Certificate(certBytes);
  t.match(x509.subjectAltName, 'IP Address:127.0.0.1', 'valid for 127.0.0.1');
  t.ok(existsSync(join(serveDir, 'quay.db')), 'the database is in the data dir');

  const v2 = await get('/v2/');
  t.equal(v2.status, 200, `/v2/ answers anonymously in mirror mode: ${v2.body}`);
  t.equal(v2.fingerprint, x509.fingerprint256, 'the served certificate is the one in DATA_DIR/tls');
  const plain = await request(port, { path: '/v2/', timeoutMs: 5000 }).then(
    (r) => r.status,
    () => 'refused',
  );
  t.not(plain, 200, 'plain HTTP on the TLS port does not answer /v2/');

  const health = await request(adminPort, { path: '/healthz' });
  t.equal(health.status, 200);
  t.same(health.json(), { status: 'ok' });
  const ready = await request(adminPort, { path: '/readyz' });
  t.equal(ready.status, 200, ready.text());
  t.equal(ready.json().status, 'ready');
  const metrics = await request(adminPort, { path: '/metrics' });
  t.equal(metrics.status, 200);
  t.match(metrics.text(), /^registryd_http_requests_total\{.*status="200".*\} [1-9]/m, 'the /v2/ request is counted');
  t.equal((await request(adminPort, { path: '/nope' })).status, 404);

  // A second server on the same port fails to start with exit 1.
  const clash = startChild(
    t,
    process.execPath,
    [BIN, 'serve', '--data-dir', join(dir, 'clash-data'), '--listen', `127.0.0.1:${port}`, '--admin-listen', '127.0.0.1:0', '--tls', 'off'],
    { cwd: dir, env: childEnv() },
  );
  const clashExit = await Promise.race([clash.exited, sleep(60_000).then(() => null)]);
  t.equal(clashExit?.code, 1, `a taken port: exit 1 (${clash.stderr().trim().split('\n').pop() ?? ''})`);
  t.match(clash.stderr(), 'cannot start');

  await server.stop(15_000);
  const first = await server.exited;
  t.equal(first.code, 0, `SIGTERM: exit 0 (${first.signal ?? 'no signal'})`);
  t.match(server.stderr(), '"msg":"stopped"');

  server = await start();
  t.same(readFileSync(certFile), certBytes, 'the same certificate bytes after a restart');
  const again = await get('/v2/');
  t.equal(again.status, 200);
  t.equal(again.fingerprint, v2.fingerprint, 'and the same served fingerprint');
  t.notMatch(server.stderr(), 'made a self-signed TLS certificate', 'no new certificate made');
  await server.stop(15_000);
  t.equal((await server.exited).code, 0, 'SIGTERM again: exit 0');
});

t.test('quay serve usage errors', async (t) => {
  const d = join(dir, 'serve-usage');
  for (const [args, what] of [
    [['--tls', 'bogus'], '--tls bogus'],
    [['--listen', 'not-a-host-port'], 'bad --listen'],
    [['--stale-upload-hours', '0'], '--stale-upload-hours 0'],
    [['extra'], 'an argument'],
  ] as const) {
    const r = await quay(['serve', '--data-dir', d, ...args]);
    t.equal(r.code, 2, `${what}: exit 2 (${r.stderr.trim()})`);
  }
  const bad = await quay(['serve', '--data-dir', d, '--config', join(dir, 'types.yaml'), '--tls', 'off', '--listen', '127.0.0.1:0']);
  t.equal(bad.code, 1, 'an invalid config: exit 1, nothing served');
  t.match(bad.stderr, `${join(dir, 'types.yaml')}:4: FEATURE_ANONYMOUS_ACCESS`);
});
