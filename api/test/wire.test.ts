/**
 * The wire pieces /api/v1 shares with Python Quay, checked against the
 * Python libraries Quay runs on (Debian's, as the real-Quay fixture uses):
 * Fernet page tokens (cryptography), Flask session cookies (Flask's
 * SecureCookieSessionInterface), format_date (email.utils), Python's int(),
 * scope parsing and capping.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { PageTokens, DEFAULT_PAGE_TOKEN_KEY } from '../wire/page-tokens.js';
import { FlaskSessionCodec, flaskJson, taggedDate, untagDate } from '../auth/flask-session.js';
import { formatDate } from '../../domain/quay-dates.js';
import { pyInt, truthyBool, parseArgs } from '../call/params.js';
import { capRepoRole, capTeamRole, capUserRole, DIRECT_LOGIN, EmptyScopeSet, scopesFromString } from '../auth/scopes.js';
import { avatar } from '../../domain/avatar.js';
import { Abort } from '../wire/errors.js';

function python(code: string, input = ''): string {
  const r = spawnSync('/usr/bin/python3', ['-c', code], { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python3 failed (scripts/test.sh installs Quay's Debian packages): ${r.stderr}`);
  return r.stdout.trim();
}

t.test('page tokens: Python reads ours, we read Python’s; anything else is no token', async (t) => {
  const pages = new PageTokens();
  const ours = pages.encrypt({ start_index: 12, page_number: 1, is_datetime: false, offset_val: 0 });
  const read = python(
    `import sys, json\nfrom cryptography.fernet import Fernet\nprint(Fernet(b"${DEFAULT_PAGE_TOKEN_KEY}").decrypt(sys.stdin.read().strip().encode(), ttl=172800).decode())`,
    ours,
  );
  t.equal(read, '{"start_index": 12, "page_number": 1, "is_datetime": false, "offset_val": 0}', "Python's Fernet decrypts ours to Python's json.dumps");
  const theirs = python(
    `import json\nfrom cryptography.fernet import Fernet\nprint(Fernet(b"${DEFAULT_PAGE_TOKEN_KEY}").encrypt(json.dumps({"start_index": "2026-01-02T03:04:05Z", "tti": 1}).encode()).decode())`,
  );
  t.same(pages.decrypt(theirs), { start_index: '2026-01-02T03:04:05Z', tti: 1 });
  t.equal(pages.decrypt(theirs, Date.now() + 3 * 86400_000), null, 'older than two days');
  t.equal(pages.decrypt(pages.encrypt({ a: 1 }, Date.now() + 120_000)), null, 'from more than a minute in the future');
  const other = new PageTokens('bXlvd25rZXlteW93bmtleW15b3dua2V5bXlvd25rZXk=');
  t.equal(other.decrypt(ours), null, 'another key');
  for (const bad of ['', 'garbage', 'gAAAAABhZGVm', `${ours.slice(0, -6)}AAAA==`]) t.equal(pages.decrypt(bad), null, `garbage: ${JSON.stringify(bad).slice(0, 20)}`);
});

t.test('session cookies: Flask reads ours (compressed or not), we read Flask’s', async (t) => {
  const key = 'quay-source-run-secret-key-0123456789';
  const codec = new FlaskSessionCodec(key);
  const data = { _user_id: '8dbe9b26-8c1f-4b0e-9c0f-5b5e07c2f2d1', _fresh: true, login_time: taggedDate(Date.UTC(2026, 0, 2, 3, 4, 5)), _permanent: true };
  const flask = `import sys\nfrom flask import Flask\nfrom flask.sessions import SecureCookieSessionInterface\napp = Flask("x")\napp.secret_key = "${key}"\ns = SecureCookieSessionInterface().get_signing_serializer(app)\n`;
  for (const extra of [{}, { _csrf_token: 'x'.repeat(400) }, { _csrf_token: 'a1b2c3d4e5f6g7h8i9j0'.split('').reverse().join('') }]) {
    const cookie = codec.encode({ ...data, ...extra });
    const back = python(
      `${flask}d = s.loads(sys.stdin.read().strip(), max_age=2678400)\nprint(d["_user_id"], d["_fresh"], d["login_time"].replace(tzinfo=None).isoformat(), len(d.get("_csrf_token", "")))`,
      cookie,
    );
    t.equal(
      back,
      `${data._user_id} True 2026-01-02T03:04:05 ${(extra as { _csrf_token?: string })._csrf_token?.length ?? 0}`,
      `Flask reads it (${cookie.startsWith('.') ? 'compressed' : 'plain'})`,
    );
  }
  const made = python(`${flask}import datetime\nprint(s.dumps({"_user_id": "u-1", "login_time": datetime.datetime(2026, 1, 2, 3, 4, 5), "_fresh": False}))`);
  const read = codec.decode(made);
  t.equal(read?._user_id, 'u-1');
  t.equal(read?._fresh, false);
  t.equal(untagDate(read?.login_time), Date.UTC(2026, 0, 2, 3, 4, 5));
  t.equal(codec.decode(made, Date.now() + 32 * 86400_000), null, 'older than SESSION_TIMEOUT');
  t.equal(new FlaskSessionCodec('another key').decode(made), null, 'another SECRET_KEY');
  t.equal(codec.decode(`${made.slice(0, -2)}xx`), null, 'a bad signature');
  // Remembered cookies: a change to one session read is not in the next read, a re-sign in another second is another cookie.
  read!._user_id = 'someone-else';
  t.equal(codec.decode(made)?._user_id, 'u-1', 'a remembered cookie gives a fresh copy');
  const at = Date.UTC(2026, 5, 1, 0, 0, 0);
  t.equal(codec.encode(data, at), codec.encode(data, at + 999), 'the same session in the same second: the same cookie');
  t.not(codec.encode(data, at), codec.encode(data, at + 1000), 'a second later: re-signed');
  t.not(codec.encode(data, at), codec.encode({ ...data, _fresh: false }, at), 'another session: another cookie');
  t.equal(codec.decode(codec.encode(data, at), at + 1000)?._user_id, data._user_id, 'ours read back');
  t.equal(flaskJson({ b: 1, a: { d: 'é', c: [true, null] } }), '{"a":{"c":[true,null],"d":"\\u00e9"},"b":1}', "Flask's JSON: compact, sorted, ASCII");
});

t.test("format_date is Python's formatdate of the UTC time", async (t) => {
  const ms = Date.UTC(2024, 0, 2, 3, 4, 5, 900);
  t.equal(formatDate(ms), python('from email.utils import formatdate\nprint(formatdate(1704164645))'));
  t.equal(formatDate(null), null);
});

t.test("query parameters as reqparse reads them: Python's int(), truthy_bool, the first value, help on errors", async (t) => {
  for (const [s, n] of [
    ['5', 5],
    [' 7 ', 7],
    ['+3', 3],
    ['-2', -2],
    ['1_000', 1000],
  ] as const)
    t.equal(pyInt(s), n, JSON.stringify(s));
  for (const s of ['', 'abc', '1.5', '1__0', '_1', '0x10']) t.throws(() => pyInt(s), JSON.stringify(s));
  t.same(['false', 'False', '0', 'FALSE', '', 'null'].map(truthyBool), [false, false, false, false, false, false]);
  t.same(['true', 'no', 'off', 'x'].map(truthyBool), [true, true, true, true]);
  const q = new URLSearchParams('limit=3&limit=9&flag=0');
  t.same(
    parseArgs(q, [
      { name: 'limit', help: 'h', type: 'int', default: 5 },
      { name: 'flag', help: 'f', type: 'bool', default: true },
      { name: 'missing', help: 'm' },
    ]),
    { limit: 3, flag: false, missing: null },
  );
  const err = t.throws(() => parseArgs(new URLSearchParams('limit=1&limit=x'), [{ name: 'limit', help: 'Limit (int)', type: 'int' }])) as unknown;
  t.ok(err instanceof Abort && err.status === 400, 'a bad value among several is refused');
  t.same((err as Abort).body, { message: { limit: 'Limit (int)' } });
});

t.test('scopes: parsed as Quay does, roles capped by them', async (t) => {
  t.same([...scopesFromString('repo:read user:admin')], ['repo:read', 'user:admin']);
  t.same([...scopesFromString('repo:read,org:admin')], ['repo:read', 'org:admin']);
  t.equal(scopesFromString('repo:read  user:admin').size, 0, 'an empty part makes the set empty');
  t.equal(scopesFromString('repo:read nope').size, 0, 'an unknown part makes the set empty');
  t.equal(scopesFromString('').size, 0);
  const direct = new Set([DIRECT_LOGIN]);
  t.equal(capRepoRole(direct, 'admin'), 'admin');
  t.equal(capRepoRole(new Set(['repo:read']), 'admin'), 'read');
  t.equal(capRepoRole(new Set(['repo:write', 'repo:read']), 'admin'), 'write');
  t.equal(capRepoRole(new Set(['user:admin']), 'read'), null);
  t.equal(capTeamRole(new Set(['repo:create']), 'admin'), 'creator');
  t.equal(capTeamRole(new Set(['repo:admin']), 'member'), null, 'repo scopes give no organisation membership');
  t.equal(capUserRole(new Set(['user:read']), 'admin'), 'read');
  t.throws(() => capRepoRole(new Set(), 'read'), EmptyScopeSet);
});

t.test("avatars: Quay's hash and colour", async (t) => {
  const a = avatar('devtable', 'jschorr@devtable.com', 'user');
  t.same(a, { name: 'devtable', hash: '94adf3582e0c629956006b1d1f77926e26d998780448cff0340499bd27a3a064', color: '#393b79', kind: 'user' }, 'as real Quay answered for devtable');
  t.equal(avatar('x', null, 'team').hash, avatar('x', 'X ', 'team').hash, 'no e-mail: the name; stripped and lower-cased');
});
