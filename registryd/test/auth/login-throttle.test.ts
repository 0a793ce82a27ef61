/**
 * /v2/auth under a login flood, over real HTTP (issue 14): the limiter per
 * client address and per user name, Quay's back-off, a saturated password
 * checker, all answered as Quay answers TooManyLoginAttemptsException (429,
 * its text, Retry-After); every refusal logged with the client's address and
 * never the password; concurrent right passwords all get their token.
 *
 * Clients are told apart by X-Forwarded-For from 127.0.0.1, a trusted proxy
 * here (TRUSTED_PROXIES), as the switchboard in front would send it. The
 * clock is the registry's injected one: nothing sleeps, nothing is timed.
 */
import t, { type Test } from 'tap';
import { startTestRegistry, type TestRegistry } from '../lib/server.js';
import { hashPassword, retryAfterMs } from '../../../lib/passwords/passwords.js';
import { FieldEncrypter } from '../../../domain/auth/field-crypto.js';
import { sharedBcryptPool } from '../../../lib/passwords/bcrypt-pool.js';
import type { AuthSettings } from '../../auth/auth-service.js';
import type { LoginLimits } from '../../../lib/passwords/login-limiter.js';
import type { Reply } from '../../../test/lib/proc.js';

const HOST = 'registry.test:5000';
const SECRET = 'db-secret';
const PASSWORD = 'alice-password-9f3k';
const ROBOT_TOKEN = 'ROBOT0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv';
const THROTTLED = 'Too many login attempts. \nPlease reset your Quay password and try again.';

const basic = (user: string, secret: string): string => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;

interface Registry {
  r: TestRegistry;
  clock: { now: number };
}

async function registry(t: Test, o: { trusted?: boolean; limits?: LoginLimits } = {}): Promise<Registry> {
  const clock = { now: Date.UTC(2030, 0, 1, 12) };
  const auth: Partial<AuthSettings> = { mode: 'database', serverHostname: HOST, databaseSecretKey: SECRET, ...(o.limits ? { loginLimits: o.limits } : {}) };
  const r = await startTestRegistry(t, { auth, now: () => clock.now, ...(o.trusted === false ? {} : { trustedProxies: ['127.0.0.1'] }) });
  await r.reg.authStore.createUser({ username: 'alice', email: 'alice@example.com', passwordHash: await hashPassword(PASSWORD, 4), verified: true }, clock.now);
  await r.reg.authStore.createRobot('alice+ci', new FieldEncrypter(SECRET).encrypt(ROBOT_TOKEN), 'ci', clock.now);
  return { r, clock };
}

/** GET /v2/auth with Basic credentials, from `client` (X-Forwarded-For; none: the peer itself). */
function login(r: TestRegistry, user: string, secret: string, client?: string): Promise<Reply> {
  return r.req({ path: `/v2/auth?service=${encodeURIComponent(HOST)}`, headers: { authorization: basic(user, secret), ...(client ? { 'x-forwarded-for': client } : {}) } });
}

/** Quay's throttled answer: 429, its text, a Retry-After. */
function throttled(t: Test, res: Reply, retryAfter?: (s: number) => boolean): void {
  t.equal(res.status, 429, '429');
  t.equal(res.text(), THROTTLED, "Quay's body");
  t.match(res.header('retry-after'), /^\d+$/, 'Retry-After in whole seconds');
  if (retryAfter) t.ok(retryAfter(Number(res.header('retry-after'))), `Retry-After ${res.header('retry-after')}`);
}

interface LogLine {
  msg: string;
  user: string;
  kind: string;
  client_address: string;
  forwarded_for?: string;
  reason: string;
  by?: string;
}

function refusals(r: TestRegistry): LogLine[] {
  return r.logs.map((l) => JSON.parse(l) as LogLine).filter((l) => l.msg === 'registry login refused');
}

t.test('per client: a flood of failed logins from one address is refused, other clients are not', async (t) => {
  const { r } = await registry(t);
  for (let i = 0; i < 100; i++) t.equal((await login(r, `nobody-${i}`, `guess-${i}`, '198.51.100.7')).status, 401, `failure ${i + 1}`);
  throttled(t, await login(r, 'alice', PASSWORD, '198.51.100.7'), (s) => s >= 1 && s <= 300);
  t.equal((await login(r, 'alice', PASSWORD, '198.51.100.8')).status, 200, 'another client logs in');
  t.equal((await login(r, 'alice+ci', ROBOT_TOKEN, '198.51.100.7')).status, 200, 'robot tokens are not limited (nothing to guess)');
  const lines = refusals(r);
  t.equal(lines.length, 101, 'every refusal logged');
  t.ok(
    lines.every((l) => l.client_address === '198.51.100.7'),
    'with the client address',
  );
  t.same(
    lines.slice(0, 100).map((l) => [l.user, l.reason]),
    Array(100).fill(['(unknown name)', 'unknown_name']),
    'an unknown name is not spelled out',
  );
  t.match(lines[100], { user: '(unknown name)', reason: 'rate_limited', by: 'address' });
  t.ok(
    r.logs.every((l) => !l.includes('guess-') && !l.includes(PASSWORD) && !l.includes(ROBOT_TOKEN)),
    'no password or token in any log line',
  );
});

t.test("per name: Quay's back-off refuses at once, and the name limit holds past it", async (t) => {
  const { r, clock } = await registry(t, { limits: { windowSeconds: 300, perName: 3, perAddress: 100, exemptNames: [] } });
  const fail = async (i: number): Promise<void> => {
    const u = (await r.reg.authStore.userByName('alice'))!;
    if (u.invalidLoginAttempts > 0) clock.now = retryAfterMs(u.invalidLoginAttempts, u.lastInvalidLoginMs) + 1;
    t.equal((await login(r, 'alice', `wrong-${i}`, `203.0.113.${i}`)).status, 401, `failure ${i + 1}, from its own address`);
  };
  await fail(0);
  for (let i = 0; i < 5; i++) throttled(t, await login(r, 'alice', `wrong-again-${i}`, '203.0.113.50'), (s) => s === 0);
  t.equal((await r.reg.authStore.userByName('alice'))!.invalidLoginAttempts, 1, 'refused attempts are neither checked nor counted');
  await fail(1);
  await fail(2);
  const u = (await r.reg.authStore.userByName('alice'))!;
  clock.now = retryAfterMs(u.invalidLoginAttempts, u.lastInvalidLoginMs) + 1;
  const byName = await login(r, 'alice', PASSWORD, '203.0.113.99');
  throttled(t, byName, (s) => s > 200 && s <= 300);
  t.match(refusals(r).at(-1), { user: 'alice', reason: 'rate_limited', by: 'name', client_address: '203.0.113.99' }, 'the back-off is over; the name limit is not');
  t.ok(
    r.logs.every((l) => !l.includes('wrong-') && !l.includes(PASSWORD)),
    'no password in any log line',
  );
});

t.test('an untrusted local proxy hides its clients: limits count per name only, the log keeps X-Forwarded-For', async (t) => {
  const { r } = await registry(t, { trusted: false });
  for (let i = 0; i < 101; i++) t.equal((await login(r, `nobody-${i}`, 'x', `198.51.100.${i % 200}`)).status, 401);
  t.equal((await login(r, 'alice', PASSWORD, '198.51.100.1')).status, 200, 'not every client of the proxy locked out at once');
  const last = refusals(r).at(-1)!;
  t.equal(last.client_address, '127.0.0.1', 'the address the registry can vouch for');
  t.equal(last.forwarded_for, '198.51.100.100', 'and what the proxy said, for the operator');
  t.equal((await login(r, 'nobody', 'x')).status, 401);
  t.equal(refusals(r).at(-1)!.forwarded_for, undefined, 'a direct client: no X-Forwarded-For logged');
});

t.test('16 right passwords at once all get a token', async (t) => {
  const { r } = await registry(t);
  const replies = await Promise.all(Array.from({ length: 16 }, (_, i) => login(r, 'alice', PASSWORD, `192.0.2.${i}`)));
  t.same(
    replies.map((x) => x.status),
    Array(16).fill(200),
  );
  t.same(refusals(r), [], 'nothing refused');
});

// Last: it wedges the process's bcrypt pool, then closes it.
t.test('a saturated password checker answers 429 at once; robots still log in', async (t) => {
  const { r } = await registry(t);
  t.equal((await login(r, 'alice', PASSWORD, '192.0.2.1')).status, 200, 'before: fine');
  const pool = sharedBcryptPool();
  // Cost 31: 2^31 rounds, checks that outlast the test.
  const endless = '$2b$31$' + 'A'.repeat(22) + 'B'.repeat(31);
  const wedged = Array.from({ length: pool.size + pool.maxQueue }, () => pool.compare('x', endless).catch(() => 'closed'));
  t.equal(pool.saturated, true, 'every worker busy, the queue full');
  throttled(t, await login(r, 'alice', PASSWORD, '192.0.2.1'), (s) => s === 1);
  t.match(refusals(r).at(-1), { user: 'alice', reason: 'rate_limited', by: 'busy', client_address: '192.0.2.1' });
  t.equal((await login(r, 'alice+ci', ROBOT_TOKEN, '192.0.2.1')).status, 200, 'a robot needs no bcrypt: not refused');
  t.equal((await r.reg.authStore.userByName('alice'))!.invalidLoginAttempts, 0, 'a refusal for load is no failure');
  await pool.close();
  t.same(await Promise.all(wedged), Array(wedged.length).fill('closed'));
});
