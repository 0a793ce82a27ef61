/**
 * The Quay oracle's tier: real Python Quay (test/lib/quay-python.ts: its
 * unmodified source, initdb's test data, SQLite, LocalStorage) and the TS
 * runtime (`quay serve --mode standalone`) reading the very same config.yaml,
 * so both serve one database and one storage with one SERVER_HOSTNAME. Users,
 * robots, app tokens and the signing keys (servicekey rows) are shared: a
 * token either side issues is good on the other.
 *
 * The sides must not see each other's writes, so each runs the sequences in
 * a namespace of its own: a user made through Quay's API for the purpose
 * (`ctts` and `ctquay`, plus a fresh pair per isolated sequence), acting as
 * that user. Observations replace the name and the user's uuid (it is in the
 * token claims) by placeholders. initdb's users, robots and app token are
 * further identities (`s.as(name)`), the same on both sides.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SignJWT, decodeJwt } from 'jose';
import { startQuayPython, startQuayServe, type QuayPython } from '../../../test/lib/quay-python.js';
import { tempDir, type Child, type TLike } from '../../../test/lib/proc.js';
import { QuayWebSession } from '../../../test/lib/quay-api.js';
import { send, type Identity, type Side, type Target } from './session.js';
import type { OracleEnv, Pair } from './runner.js';

export interface QuayTier extends OracleEnv {
  readonly quay: QuayPython;
  /** The TS runtime. */
  readonly ts: Child;
  readonly tsPort: number;
  /** SERVER_HOSTNAME of both (Quay's address): the token `service` and audience. */
  readonly service: string;
}

export interface QuayTierOptions {
  /** Progress lines (the fidelity command prints them on stderr). */
  readonly progress?: (line: string) => void;
}

const PASSWORD = 'contract-password';
/** initdb.py's app-specific token of devtable: name 60 × a, secret 60 × b. */
const APP_TOKEN = `${'a'.repeat(60)}${'b'.repeat(60)}`;
/** initdb.py's OAuth access token of devtable (repo:admin). */
const OAUTH_TOKEN = `${'b'.repeat(40)}${'c'.repeat(40)}`;

/** The checkout's root (holds bin/quay.js), from the source tree or from dist/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin', 'quay.js')) || !existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no checkout (bin/quay.js) above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

/** The TS runtime's environment: ours minus what it would read as its own settings. */
function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(QUAY_|SWITCHBOARD_|ROUTE_OWNER_|MIGRATION_)/.test(k)));
}

export async function startQuayTier(t: TLike, opts: QuayTierOptions = {}): Promise<QuayTier> {
  const progress = opts.progress ?? ((): void => {});
  const t0 = Date.now();
  progress('starting real Quay (initdb test data on SQLite, gunicorn)');
  const quay = await startQuayPython(t);
  const service = `127.0.0.1:${quay.port}`;
  progress(`real Quay on :${quay.port} after ${((Date.now() - t0) / 1000).toFixed(1)} s; starting quay serve on its config`);
  const root = repoRoot();
  const { port: tsPort, child: ts } = await startQuayServe(t, {
    configFile: quay.configFile,
    dataDir: tempDir(t, 'contract-quay-ts-'),
    what: "quay serve on real Quay's database",
    env: childEnv(),
    root,
  });

  const api = await QuayWebSession.signIn(quay.url, 'devtable', 'password');
  const shared = await sharedIdentities(api, quay, service);
  const users = new Database(quay.database, { readonly: true, fileMustExist: true });
  t.teardown(() => users.close());
  let tierAliases: (readonly [string, string])[] | undefined;
  const uuidOf = (name: string): string => {
    const row = users.prepare('SELECT uuid FROM "user" WHERE username = ?').get(name) as { uuid?: string } | undefined;
    if (!row?.uuid) throw new Error(`real Quay: user ${name} has no uuid row`);
    return row.uuid;
  };
  const target = async (side: Side, port: number, ns: string): Promise<Target> => {
    tierAliases ??= entityAliases(users);
    await api.createUser(ns, PASSWORD);
    const owner: Identity = { name: 'owner', basic: `${ns}:${PASSWORD}` };
    return {
      side,
      port,
      ns,
      service,
      oneSegment: `${ns}solo`,
      identity: owner,
      tierAliases: [[service, '<server-hostname>'], ...tierAliases],
      identities: { ...shared, owner, 'owner-wrong-password': { name: 'owner-wrong-password', basic: `${ns}:not-the-password` } },
      aliases: [
        [ns, '<ns>'],
        [ns.toUpperCase(), '<NS>'],
        [uuidOf(ns), '<ns-uuid>'],
      ],
    };
  };
  const main: Pair = { ours: await target('ts', tsPort, 'ctts'), oracle: await target('quay', quay.port, 'ctquay') };
  let isolatedCount = 0;
  progress(`tier ready after ${((Date.now() - t0) / 1000).toFixed(1)} s: Quay :${quay.port}, TS :${tsPort}, one database ${quay.database}`);
  return {
    oracle: 'quay',
    names: ['ts', 'quay'],
    main,
    quay,
    ts,
    tsPort,
    service,
    async isolated() {
      isolatedCount++;
      return { ours: await target('ts', tsPort, `ctts${isolatedCount}`), oracle: await target('quay', quay.port, `ctquay${isolatedCount}`) };
    },
  };
}

/**
 * initdb's entities by the random uuids initdb gave them (token claims carry
 * them as entity_reference): `<uuid of devtable>`, `<uuid of oauth token 1>`,
 * so expectation entries name them across runs and a wrong one still shows.
 */
function entityAliases(db: Database.Database): (readonly [string, string])[] {
  const aliases = (sql: string, what: string): (readonly [string, string])[] =>
    (db.prepare(sql).all() as { name: string; uuid: string | null }[]).flatMap((r) => (r.uuid ? [[r.uuid, `<uuid of ${what}${r.name}>`] as const] : []));
  return [
    ...aliases('SELECT username AS name, uuid FROM "user"', ''),
    ...aliases('SELECT CAST(id AS TEXT) AS name, uuid FROM oauthaccesstoken', 'oauth token '),
    ...aliases('SELECT CAST(id AS TEXT) AS name, uuid FROM appspecificauthtoken', 'app token '),
  ];
}

/**
 * initdb's users, robots and tokens, and Authorization headers a client
 * should be refused with; the same on both sides.
 */
async function sharedIdentities(api: QuayWebSession, quay: QuayPython, service: string): Promise<Record<string, Identity>> {
  const user = (name: string): Identity => ({ name, basic: `${name}:password` });
  const dtrobot = await api.robotToken('devtable+dtrobot', 'devtable');
  const coolrobot = await api.robotToken('buynlarge+coolrobot', 'devtable');
  const bearer = (name: string, token: string): Identity => ({ name, authorization: `Bearer ${token}` });
  const forged = await forgedTokens(quay, service);
  return {
    anonymous: { name: 'anonymous' },
    'no-token': { name: 'no-token', tokens: false },
    devtable: user('devtable'),
    public: user('public'),
    reader: user('reader'),
    freshuser: user('freshuser'),
    disabled: user('disabled'),
    'unknown-user': { name: 'unknown-user', basic: 'nosuchuser:password' },
    'devtable+dtrobot': { name: 'devtable+dtrobot', basic: `devtable+dtrobot:${dtrobot}` },
    'devtable+dtrobot-wrong-token': { name: 'devtable+dtrobot-wrong-token', basic: `devtable+dtrobot:${'X'.repeat(dtrobot.length)}` },
    'buynlarge+coolrobot': { name: 'buynlarge+coolrobot', basic: `buynlarge+coolrobot:${coolrobot}` },
    'app-token': { name: 'app-token', basic: `$app:${APP_TOKEN}` },
    'app-token-wrong': { name: 'app-token-wrong', basic: `$app:${'a'.repeat(60)}${'x'.repeat(60)}` },
    'oauth-token': { name: 'oauth-token', basic: `$oauthtoken:${OAUTH_TOKEN}` },
    'basic-on-v2': { name: 'basic-on-v2', authorization: `Basic ${Buffer.from('devtable:password').toString('base64')}` },
    'bearer-garbage': bearer('bearer-garbage', 'not-a-jwt'),
    'bearer-empty': { name: 'bearer-empty', authorization: 'Bearer ' },
    'bearer-expired': bearer('bearer-expired', forged.expired),
    'bearer-other-audience': bearer('bearer-other-audience', forged.otherAudience),
    'bearer-unknown-key': bearer('bearer-unknown-key', forged.unknownKey),
  };
}

/**
 * Tokens a client must be refused with, made from a real one Quay issued
 * (devtable, pull on devtable/simple): re-signed with Quay's own instance key
 * after it expired or for another audience, and signed by a key no servicekey
 * row holds.
 */
async function forgedTokens(quay: QuayPython, service: string): Promise<{ expired: string; otherAudience: string; unknownKey: string }> {
  const q = new URLSearchParams({ account: 'devtable', service, scope: 'repository:devtable/simple:pull' });
  const res = await send(quay.port, { path: `/v2/auth?${q.toString()}`, headers: { authorization: `Basic ${Buffer.from('devtable:password').toString('base64')}` } });
  if (res.status !== 200) throw new Error(`real Quay: a token for devtable failed: ${res.status} ${res.text().slice(0, 300)}`);
  const claims = decodeJwt((res.json() as { token: string }).token);
  const conf = join(quay.run, 'conf');
  const key = createPrivateKey(readFileSync(join(conf, 'quay.pem')));
  const kid = readFileSync(join(conf, 'quay.kid'), 'utf8').trim();
  const now = Math.floor(Date.now() / 1000);
  const sign = (payload: Record<string, unknown>, k: Parameters<SignJWT['sign']>[0], keyId: string): Promise<string> =>
    new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: keyId }).sign(k);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    expired: await sign({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 }, key, kid),
    otherAudience: await sign({ ...claims, aud: 'registry.example.com' }, key, kid),
    unknownKey: await sign(claims, privateKey, 'not-a-known-key-id'),
  };
}
