/**
 * Cross-runtime checks of registryd's auth against the Python libraries Quay
 * itself uses (quay-schema.md §0, §1, §9), run with the system python3:
 *
 * - encrypted columns: our FieldEncrypter and a Python port of Quay's
 *   convert_secret_key + AESCCM (`cryptography`) read each other's `v0$$…`
 *   values, for every way DATABASE_SECRET_KEY can be read (int, UUID, chars);
 * - bcrypt hashes from Python's bcrypt verify with ours and back;
 * - tokens from our /v2/auth verify in PyJWT with the servicekey row's JWK,
 *   with Quay's claims; tokens minted by PyJWT under a registered servicekey
 *   are accepted by our registry, and only for the right service;
 * - robots and app tokens whose secrets Python encrypted log in through /v2/auth.
 *
 * Missing python3 or modules is a failure, never a skip.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { decodeJwt } from 'jose';
import { imageManifest, sha256, startTestRegistry, type TestRegistry } from '../lib/server.js';
import { FieldEncrypter, DecryptionFailure } from '../../../domain/auth/field-crypto.js';
import { convertSecretKey } from '../../../domain/auth/secret-key.js';
import { hashPassword, verifyPassword } from '../../../lib/passwords/passwords.js';
import { run } from '../../../test/lib/proc.js';

const PY = '/usr/bin/python3';
const APT = 'apt-get install -y python3 python3-jwt python3-bcrypt python3-cryptography';
{
  const check = spawnSync(PY, ['-c', 'import jwt, bcrypt, cryptography; from cryptography.hazmat.primitives.ciphers.aead import AESCCM'], { encoding: 'utf8' });
  if (check.error || check.status !== 0) {
    throw new Error(`interop-python tests need ${PY} with PyJWT, bcrypt and cryptography (Debian: \`${APT}\`): ${check.error?.message ?? check.stderr.trim()}`);
  }
}

const HOST = 'registry.test:5000';
const OCI = 'application/vnd.oci.image.manifest.v1+json';

/** Quay's util/security/secret.py and data/encryption.py (v0: AES-256-CCM, 13-byte nonce, 16-byte tag), ported as Quay has them. */
const PRELUDE = String.raw`
import base64, itertools, json, os, sys, uuid, hashlib, time
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

def convert_secret_key(config_secret_key):
    secret_key = None
    try:
        big_int = int(config_secret_key)
        secret_key = bytearray.fromhex("{:02x}".format(big_int))
    except ValueError:
        pass
    if secret_key is None:
        try:
            secret_key = uuid.UUID(config_secret_key).bytes
        except ValueError:
            pass
    if secret_key is None:
        secret_key = bytearray(list(map(ord, config_secret_key)))
    assert len(secret_key) > 0
    return b"".join(itertools.islice(itertools.cycle([bytes([b]) for b in secret_key]), 32))

def encrypt_value(secret, value):
    nonce = os.urandom(13)
    ct = AESCCM(convert_secret_key(secret)).encrypt(nonce, value.encode("utf-8"), None)
    return "v0$$" + base64.b64encode(nonce + ct).decode("ascii")

def decrypt_value(secret, stored):
    if "$$" not in stored:
        raise ValueError("Invalid encrypted value")
    version, data = stored.split("$$", 1)
    assert version == "v0", version
    decoded = base64.b64decode(data)
    return AESCCM(convert_secret_key(secret)).decrypt(decoded[:13], decoded[13:], None).decode("utf-8")

inp = json.loads(sys.argv[1])
def out(x):
    sys.stdout.write(json.dumps(x))
`;

/** JSON with every non-ASCII character escaped, so argv decoding in Python cannot matter. */
const asciiJson = (v: unknown): string => JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Run a Python snippet (after PRELUDE) with `inp` = input; its JSON output. */
async function py<T = any>(code: string, input: unknown): Promise<T> {
  const r = await run(PY, ['-c', `${PRELUDE}\n${code}`, asciiJson(input)], { timeoutMs: 120_000, env: { ...process.env, PYTHONIOENCODING: 'utf-8' } });
  if (r.code !== 0) throw new Error(`python3 failed (exit ${String(r.code)}):\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

const basic = (user: string, secret: string): string => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
const bearer = (token: string): string => `Bearer ${token}`;
const dbOf = (r: TestRegistry): Database.Database => (r.reg.store as unknown as { db: Database.Database }).db;

async function tokenFor(r: TestRegistry, authorization: string | null, scopes: readonly string[], service = HOST): Promise<string> {
  const q = new URLSearchParams({ service });
  for (const s of scopes) q.append('scope', s);
  const res = await r.req({ path: `/v2/auth?${q.toString()}`, headers: authorization ? { authorization } : {} });
  if (res.status !== 200) throw new Error(`/v2/auth: ${res.status} ${res.text()}`);
  return res.json().token as string;
}

const SECRETS = ['12345', '256', 'a1b2c3d4-e5f6-4789-8abc-def012345678', 'plain text secret'];
const VALUES = ['', 'robot-token-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu', 'x', 'héllo wörld ✓ 😀', 'a'.repeat(300)];

// ------------------------------------------------------------------ (a) encrypted columns

t.test("secret keys: our convertSecretKey equals the Python port of Quay's convert_secret_key", async (t) => {
  const secrets = [
    ...SECRETS,
    '0',
    '-5',
    ' 42 ',
    '+7',
    '1_000',
    '007',
    '340282366920938463463374607431768211457' /* 2**128+1: 17 bytes */,
    '123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890' /* > 32 bytes */,
    '{A1B2C3D4-E5F6-4789-8ABC-DEF012345678}',
    'urn:uuid:a1b2c3d4-e5f6-4789-8abc-def012345678',
    'a1b2c3d4e5f647898abcdef012345678',
    'not-a-uuid-0000-0000-000000000000',
    'ÿé latin-1',
    'k',
    'a secret longer than thirty-two characters, which is cut',
  ];
  const keys = await py<string[]>('out([convert_secret_key(s).hex() for s in inp])', secrets);
  secrets.forEach((s, i) => t.equal(convertSecretKey(s).toString('hex'), keys[i], `key of ${JSON.stringify(s)}`));
  t.equal(keys[0], Buffer.alloc(32, Buffer.from('3039', 'hex')).toString('hex'), '"12345" is the int 0x3039');
  t.equal(keys[1], Buffer.alloc(32, Buffer.from('256')).toString('hex'), '"256" (0x100, odd hex) falls through to its characters');
  t.equal(keys[2], Buffer.alloc(32, Buffer.from('a1b2c3d4e5f647898abcdef012345678', 'hex')).toString('hex'), 'a UUID is its 16 bytes');
});

t.test("secret keys read by Python's int() beyond ASCII digits and spaces", async (t) => {
  // Python's int() takes any Unicode decimal digit and strips any Unicode whitespace (U+0085 included);
  // Quay then derives the key from the number. Each of these configures a different key in Quay than here.
  const secrets = ['12\u0085', '\u0085 42', '\uff11\uff12' /* fullwidth 12 */, '\u0661\u0662\u0663' /* Arabic-Indic 123 */];
  const keys = await py<string[]>('out([convert_secret_key(s).hex() for s in inp])', secrets);
  secrets.forEach((s, i) => {
    let ours: string;
    try {
      ours = convertSecretKey(s).toString('hex');
    } catch (e) {
      ours = `threw: ${(e as Error).message}`;
    }
    t.equal(ours, keys[i], `key of ${JSON.stringify(s)} as Quay derives it`);
  });
});

t.test("encrypted fields: ours decrypt in Python, Python's decrypt with ours", async (t) => {
  for (const secret of SECRETS) {
    const enc = new FieldEncrypter(secret);
    const ours = VALUES.map((v) => enc.encrypt(v));
    for (const c of ours) t.match(c, /^v0\$\$[A-Za-z0-9+/]+=*$/, 'v0$$ + standard base64');
    const res = await py<{ plain: string[]; theirs: string[]; wrongKey: string[] }>(
      String.raw`
plain = [decrypt_value(inp["secret"], c) for c in inp["ours"]]
theirs = [encrypt_value(inp["secret"], v) for v in inp["values"]]
wrong = []
for c in inp["ours"]:
    try:
        decrypt_value(inp["secret"] + "x", c)
        wrong.append("decrypted")
    except Exception as e:
        wrong.append(type(e).__name__)
out({"plain": plain, "theirs": theirs, "wrongKey": wrong})
`,
      { secret, ours, values: VALUES },
    );
    t.same(res.plain, VALUES, `${JSON.stringify(secret)}: Python decrypts ours`);
    t.same(
      res.theirs.map((c) => enc.decrypt(c)),
      VALUES,
      `${JSON.stringify(secret)}: we decrypt Python's`,
    );
    for (const c of res.theirs) {
      t.ok(enc.matches(c, enc.decrypt(c)), 'matches() on a Python value');
      t.notOk(enc.matches(c, 'something else'), 'and not on another candidate');
      const raw = Buffer.from(c.slice(4), 'base64');
      t.equal(raw.length, 13 + Buffer.byteLength(enc.decrypt(c)) + 16, 'nonce 13 + ciphertext + tag 16');
    }
    t.same(
      res.wrongKey,
      VALUES.map(() => 'InvalidTag'),
      'Python refuses ours under another key',
    );
    const other = new FieldEncrypter(`${secret}x`);
    for (const c of res.theirs) t.throws(() => other.decrypt(c), DecryptionFailure, "we refuse Python's under another key");
  }
});

t.test('encrypted fields: tampering is detected on both sides', async (t) => {
  const enc = new FieldEncrypter('plain text secret');
  const theirs = await py<string>('out(encrypt_value(inp, "robot-token"))', 'plain text secret');
  const raw = Buffer.from(theirs.slice(4), 'base64');
  raw[20] = raw[20]! ^ 1; // a ciphertext byte (the nonce is bytes 0–12)
  t.throws(() => enc.decrypt(`v0$$${raw.toString('base64')}`), DecryptionFailure);
  t.throws(() => enc.decrypt(`v1$$${theirs.slice(4)}`), DecryptionFailure, 'unknown version');
  const ours = Buffer.from(enc.encrypt('robot-token').slice(4), 'base64');
  ours[15] = ours[15]! ^ 1;
  const verdict = await py<string>(
    String.raw`
try:
    decrypt_value("plain text secret", inp)
    out("decrypted")
except Exception as e:
    out(type(e).__name__)
`,
    `v0$$${ours.toString('base64')}`,
  );
  t.equal(verdict, 'InvalidTag');
});

// ------------------------------------------------------------------ (b) bcrypt

t.test("bcrypt: Python's hashes verify with ours, ours with Python's", async (t) => {
  const passwords = ['correct horse battery staple', 'pässwörd ✓', 'p'.repeat(72), 'x'];
  const candidates = (pw: string): string[] => [pw, `${pw}!`, 'wrong'];
  const theirs = await py<{ b: string[]; a: string[]; verdicts: boolean[][] }>(
    String.raw`
import bcrypt
b = [bcrypt.hashpw(p.encode("utf-8"), bcrypt.gensalt(4)).decode() for p in inp]
a = [bcrypt.hashpw(p.encode("utf-8"), bcrypt.gensalt(4, prefix=b"2a")).decode() for p in inp]
verdicts = [[bcrypt.checkpw(c.encode("utf-8"), h.encode()) for c in (p, p + "!", "wrong")] for p, h in zip(inp, b)]
out({"b": b, "a": a, "verdicts": verdicts})
`,
    passwords,
  );
  for (const [i, pw] of passwords.entries()) {
    const label = JSON.stringify(pw.length > 20 ? `${pw.slice(0, 20)}…` : pw);
    t.match(theirs.b[i], /^\$2b\$04\$/);
    t.match(theirs.a[i], /^\$2a\$04\$/);
    t.equal(await verifyPassword(pw, theirs.b[i]!), true, `$2b$ from Python verifies: ${label}`);
    t.equal(await verifyPassword(pw, theirs.a[i]!), true, `$2a$ from Python verifies: ${label}`);
    t.equal(await verifyPassword('wrong', theirs.b[i]!), false, `a wrong password does not: ${label}`);
    const ours = await Promise.all(candidates(pw).map((c) => verifyPassword(c, theirs.b[i]!)));
    t.same(ours, theirs.verdicts[i], `same verdicts as Python for the right, an extended (past 72 bytes bcrypt ignores it) and a wrong password: ${label}`);
  }
  const ours = await Promise.all(passwords.map((p) => hashPassword(p, 4)));
  for (const h of ours) t.match(h, /^\$2[aby]\$04\$/);
  const checked = await py<{ right: boolean[]; wrong: boolean[] }>(
    String.raw`
import bcrypt
out({"right": [bcrypt.checkpw(p.encode("utf-8"), h.encode()) for p, h in zip(inp["pw"], inp["h"])],
     "wrong": [bcrypt.checkpw(b"wrong", h.encode()) for h in inp["h"]]})
`,
    { pw: passwords, h: ours },
  );
  t.same(
    checked.right,
    passwords.map(() => true),
    'ours verify in Python',
  );
  t.same(
    checked.wrong,
    passwords.map(() => false),
    'and a wrong password does not',
  );
  t.equal(await verifyPassword('anything', null), false, 'no hash (robots, orgs): never');
});

// ------------------------------------------------------------------ (c) and (d): tokens, robots, app tokens over HTTP

for (const secret of SECRETS) {
  t.test(`DATABASE_SECRET_KEY ${JSON.stringify(secret)}: robot and app-token secrets encrypted by Python log in`, async (t) => {
    const r = await startTestRegistry(t, { auth: { mode: 'database', serverHostname: HOST, databaseSecretKey: secret } });
    const robotToken = `ROBOT${secret.replace(/\W/g, '')}0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh`.slice(0, 64);
    const appPrefix = 'app0123456789'.padEnd(60, 'p');
    const appSecret = 'sec0123456789'.padEnd(60, 's');
    const enc = await py<{ robot: string; app: string }>('out({"robot": encrypt_value(inp["s"], inp["robot"]), "app": encrypt_value(inp["s"], inp["app"])})', {
      s: secret,
      robot: robotToken,
      app: appSecret,
    });
    const alice = await r.reg.authStore.createUser({ username: 'alice', email: 'alice@example.com', passwordHash: await hashPassword('pw', 4) }, Date.now());
    const repo = await r.reg.store.createRepository('alice', 'private', 'private', Date.now());
    const robot = await r.reg.authStore.createRobot('alice+py', enc.robot, 'made by Python', Date.now());
    await r.reg.authStore.setRepositoryPermission(repo.id, { userId: robot.id }, 'read');
    await r.reg.authStore.createAppToken(alice.id, { uuid: randomUUID(), title: 'py', prefix: appPrefix, encryptedSecret: enc.app, expirationMs: null }, Date.now());

    const jwt = await tokenFor(r, basic('alice+py', robotToken), ['repository:alice/private:pull']);
    t.same((decodeJwt(jwt) as any).access, [{ type: 'repository', name: 'alice/private', actions: ['pull'] }], 'robot token from Python: pull granted');
    t.equal((await r.req({ path: '/v2/alice/private/tags/list', headers: { authorization: bearer(jwt) } })).status, 200);
    const wrong = await r.req({
      path: `/v2/auth?service=${HOST}&scope=repository:alice/private:pull`,
      headers: { authorization: basic('alice+py', `${robotToken.slice(0, -1)}X`) },
    });
    t.equal(wrong.status, 401, 'a wrong robot token: 401');

    const appJwt = await tokenFor(r, basic('$app', appPrefix + appSecret), ['repository:alice/private:push,pull']);
    t.same([...(decodeJwt(appJwt) as any).access[0].actions].sort(), ['pull', 'push'], "app token from Python: alice's rights");
    t.equal(
      (await r.req({ path: `/v2/auth?service=${HOST}&scope=repository:alice/private:pull`, headers: { authorization: basic('$app', `${appPrefix}${appSecret.slice(0, -1)}X`) } }))
        .status,
      401,
    );
  });
}

t.test("tokens: ours verify in PyJWT, PyJWT's verify here", async (t) => {
  const r = await startTestRegistry(t, { auth: { mode: 'database', serverHostname: HOST, databaseSecretKey: 'plain text secret' } });
  const [aliceHash, bobHash] = await py<string[]>('import bcrypt\nout([bcrypt.hashpw(p.encode(), bcrypt.gensalt(4)).decode() for p in inp])', ['alice-pw', 'bob-pw']);
  const alice = await r.reg.authStore.createUser({ username: 'alice', email: 'alice@example.com', passwordHash: aliceHash! }, Date.now());
  await r.reg.authStore.createUser({ username: 'bob', email: 'bob@example.com', passwordHash: bobHash! }, Date.now());
  await r.reg.store.createRepository('alice', 'private', 'private', Date.now());
  await r.reg.store.createRepository('alice', 'public', 'public', Date.now());
  await r.reg.store.createRepository('alice', 'app', 'private', Date.now());

  const row = dbOf(r)
    .prepare('SELECT k.jwk, k.service, a.approval_type FROM servicekey k JOIN servicekeyapproval a ON a.id = k.approval_id WHERE k.kid = ?')
    .get(r.reg.instanceKey.kid) as { jwk: string; service: string; approval_type: string } | undefined;
  t.ok(row, 'the instance key has a servicekey row');
  t.equal(row?.service, 'quay');
  t.equal(row?.approval_type, 'Automatic');

  t.test("(c) a token from our /v2/auth verifies in PyJWT with Quay's claims", async (t) => {
    // (bob, not alice: a failed login holds the user's next attempt back for a while)
    t.equal(
      (await r.req({ path: `/v2/auth?service=${HOST}&scope=repository:bob/x:pull`, headers: { authorization: basic('bob', 'wrong') } })).status,
      401,
      'a wrong password against a hash Python made: 401',
    );
    const user = await tokenFor(r, basic('alice', 'alice-pw'), ['repository:alice/private:push,pull', 'repository:alice/public:pull']);
    const anon = await tokenFor(r, null, ['repository:alice/public:pull']);
    const otherAud = await tokenFor(r, basic('alice', 'alice-pw'), ['repository:alice/private:pull'], 'other');
    const res = await py<any>(
      String.raw`
import jwt
from jwt.algorithms import RSAAlgorithm
jwk = json.loads(inp["jwk"])
key = RSAAlgorithm.from_jwk(json.dumps(jwk))
thumb = base64.urlsafe_b64encode(hashlib.sha256(json.dumps({"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]}, separators=(",", ":"), sort_keys=True).encode()).digest()).rstrip(b"=").decode()
def verify(tok, aud):
    try:
        return {"header": jwt.get_unverified_header(tok),
                "claims": jwt.decode(tok, key, algorithms=["RS256"], audience=aud, issuer="quay", leeway=30,
                                     options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]})}
    except Exception as e:
        return {"error": type(e).__name__}
out({"thumbprint": thumb,
     "user": verify(inp["user"], inp["aud"]), "anon": verify(inp["anon"], inp["aud"]),
     "otherAud": verify(inp["otherAud"], inp["aud"]), "wrongAud": verify(inp["user"], "elsewhere")})
`,
      { jwk: row!.jwk, user, anon, otherAud, aud: HOST },
    );
    t.equal(res.thumbprint, r.reg.instanceKey.kid, 'kid is the RFC 7638 thumbprint of the JWK');
    t.notOk(res.user.error, `PyJWT verifies the user token (${String(res.user.error)})`);
    t.same(res.user.header, { alg: 'RS256', kid: r.reg.instanceKey.kid, typ: 'JWT' });
    const c = res.user.claims;
    t.equal(c.iss, 'quay');
    t.equal(c.aud, HOST);
    t.equal(c.sub, 'alice');
    t.equal(c.nbf, c.iat);
    t.equal(c.exp - c.iat, 3600);
    t.same(c.access, [
      { type: 'repository', name: 'alice/private', actions: ['push', 'pull'] },
      { type: 'repository', name: 'alice/public', actions: ['pull'] },
    ]);
    t.equal(c.context.version, 2);
    t.equal(c.context.entity_kind, 'user');
    t.equal(c.context.entity_reference, alice.uuid);
    t.equal(c.context.kind, 'user');
    t.equal(c.context.user, 'alice');
    t.equal(c.context['com.apostille.root'], '$disabled');
    t.same(c.context['com.apostille.roots'], { 'alice/private': '$disabled', 'alice/public': '$disabled' });
    t.notOk(res.anon.error, 'PyJWT verifies the anonymous token');
    t.equal(res.anon.claims.sub, '(anonymous)');
    t.notOk('entity_kind' in res.anon.claims.context, 'as Quay: an anonymous token has no auth context');
    t.same(res.anon.claims.access, [{ type: 'repository', name: 'alice/public', actions: ['pull'] }]);
    t.equal(res.otherAud.error, 'InvalidAudienceError', 'a token asked for service=other fails in Python too');
    t.equal(res.wrongAud.error, 'InvalidAudienceError');
  });

  t.test('(d) a token minted by PyJWT under a registered servicekey is accepted, under another service refused', async (t) => {
    const minted = await py<{ jwk: string; pull: string; push: string; other: string; unregistered: string; aud: string; long: string }>(
      String.raw`
import jwt
from jwt.algorithms import RSAAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
now = int(time.time())
def mint(kid, access, aud=inp["aud"], life=3600):
    claims = {"iss": "quay", "aud": aud, "nbf": now, "iat": now, "exp": now + life, "sub": "alice", "access": access,
              "context": {"version": 2, "entity_kind": "user", "entity_reference": inp["uuid"], "kind": "user", "user": "alice",
                          "com.apostille.roots": {}, "com.apostille.root": "$disabled"}}
    return jwt.encode(claims, priv, algorithm="RS256", headers={"kid": kid})
pull = [{"type": "repository", "name": "alice/private", "actions": ["pull"]}]
out({"jwk": RSAAlgorithm.to_jwk(priv.public_key()),
     "pull": mint("python-quay-key", pull),
     "push": mint("python-quay-key", [{"type": "repository", "name": "alice/app", "actions": ["push", "pull"]}]),
     "other": mint("python-other-service-key", pull),
     "unregistered": mint("python-unregistered-key", pull),
     "aud": mint("python-quay-key", pull, aud="elsewhere"),
     "long": mint("python-quay-key", pull, life=7200)})
`,
      { aud: HOST, uuid: alice.uuid },
    );
    const jwk = JSON.parse(minted.jwk) as Record<string, unknown>;
    const exp = Date.now() + 3600_000;
    const path = '/v2/alice/private/tags/list';

    await r.reg.authStore.registerServiceKey({ kid: 'python-quay-key', service: 'quay', name: 'python', jwk, expirationMs: exp }, Date.now());
    await r.reg.authStore.registerServiceKey({ kid: 'python-other-service-key', service: 'not-quay', name: 'python', jwk, expirationMs: exp }, Date.now());

    const pull = await r.req({ path, headers: { authorization: bearer(minted.pull) } });
    t.equal(pull.status, 200, 'a PyJWT token under a servicekey of service quay: accepted');
    t.same(pull.json(), { name: 'alice/private', tags: [] });
    const unregistered = await r.req({ path, headers: { authorization: bearer(minted.unregistered) } });
    t.equal(unregistered.status, 401, 'the same key under a kid nobody registered: 401');
    const other = await r.req({ path, headers: { authorization: bearer(minted.other) } });
    t.equal(other.status, 401, 'a key registered only for another service: 401');
    t.match(other.header('www-authenticate'), /scope="repository:alice\/private:pull"/);
    const aud = await r.req({ path, headers: { authorization: bearer(minted.aud) } });
    t.equal(aud.status, 401, 'PyJWT token for another audience: 401');
    const long = await r.req({ path, headers: { authorization: bearer(minted.long) } });
    t.equal(long.status, 401, 'PyJWT token living longer than 3660 s: 401');

    const catalog = await r.req({ path: '/v2/_catalog', headers: { authorization: bearer(minted.push) } });
    t.equal(catalog.status, 200);
    t.same(catalog.json().repositories, ['alice/app', 'alice/private', 'alice/public'], 'the PyJWT context names alice: her catalog');

    // Push and pull with the Python-minted push token.
    const push = { authorization: bearer(minted.push) };
    const config = Buffer.from('{"os":"linux","architecture":"amd64"}');
    const up = await r.req({
      method: 'POST',
      path: `/v2/alice/app/blobs/uploads/?digest=${sha256(config)}`,
      body: config,
      headers: { ...push, 'content-type': 'application/octet-stream' },
    });
    t.equal(up.status, 201, 'blob pushed with a PyJWT token');
    const manifest = imageManifest(sha256(config), config.length, []);
    t.equal((await r.req({ method: 'PUT', path: '/v2/alice/app/manifests/py', body: manifest, headers: { ...push, 'content-type': OCI } })).status, 201, 'manifest pushed');
    t.same((await r.req({ path: '/v2/alice/app/manifests/py', headers: push })).body, manifest, 'and pulled back');
  });
});
