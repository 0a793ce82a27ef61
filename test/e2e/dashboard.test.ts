/**
 * The dashboard in a real browser (playwright-core driving Debian's chromium)
 * against a real `switchboard serve` in front of two echo upstreams:
 * log in, ramp V2_PULL from 0 to 25 %, see the preview of the routes that
 * move, apply, see the new snapshot version and the audit entry, check that
 * requests through the proxy now follow it (each owner equal to decide() on
 * the written config); then the kill switch puts everything on python.
 * Also: a stale page gets a conflict, read-only users cannot change
 * anything, forged forms and anonymous calls are refused, no secret is shown.
 * Screenshots of the main pages go to test-output/screenshots/.
 */
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadInventory } from '../../owner-maps/index.js';
import { parseConfig } from '../../switchboard/config/parse.js';
import { buildSnapshot } from '../../switchboard/core/snapshot.js';
import { decide } from '../../switchboard/core/decide.js';
import { request, requireBinaries, ROOT, runOk, tempDir, waitFor } from '../lib/proc.js';
import { startEcho } from '../lib/nginx.js';
import { buildSwitchboard, startSwitchboard, type Switchboard } from '../lib/switchboard.js';

t.setTimeout(300_000);
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
requireBinaries([CHROMIUM]);
await buildSwitchboard();

const SHOTS = join(ROOT, 'test-output', 'screenshots');
mkdirSync(SHOTS, { recursive: true });
const TOKEN = 'dashboard-admin-token-0123456789';
const inv = loadInventory();

const dir = tempDir(t, 'swb-dashboard-');
writeFileSync(join(dir, 'admin.token'), `${TOKEN}\n`);
// The users file is made with the command operators use.
const userLine = async (name: string, role: string, password: string): Promise<string> =>
  (await runOk(process.execPath, [join(ROOT, 'bin/switchboard.js'), 'dashboard', 'user', name, '--role', role, '--password-env', 'DASH_PW'], { env: { ...process.env, DASH_PW: password } })).stdout;
writeFileSync(join(dir, 'users.yaml'), (await userLine('olga', 'operator', 'olga-password')) + (await userLine('rita', 'read-only', 'rita-password')));
// (Thrown, not asserted: a top-level assertion before the servers start would end the root test early.)
if (/olga-password|rita-password/.test(readFileSync(join(dir, 'users.yaml'), 'utf8'))) throw new Error('a password reached the users file');
const python = await startEcho(t, 'python');
const go = await startEcho(t, 'go');
const sb: Switchboard = await startSwitchboard(t, dir, { python: `http://127.0.0.1:${python.port}`, go: `http://127.0.0.1:${go.port}` }, {
  migration: { ROUTE_OWNER_DEFAULT: 'python', ROUTE_OWNER_CAP_V2_TAGS: 'go' },
  settings: { DEBUG_HEADERS: true, DASHBOARD: { ADMIN_TOKEN_FILE: 'admin.token', USERS_FILE: 'users.yaml' } },
});
const admin = `http://127.0.0.1:${sb.adminPort}`;

const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
t.teardown(() => browser.close());

async function login(page: Page, name: string, password: string): Promise<void> {
  await page.goto(`${admin}/dashboard`);
  t.match(page.url(), /\/dashboard\/login$/, 'an anonymous visitor is sent to the login page');
  await page.fill('input[name=name]', name);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(`${admin}/dashboard`), page.click('button:has-text("Log in")')]);
}

/** The owner each namespace's manifest pull reaches through the proxy, and what decide() says on the config file now. */
async function pulls(): Promise<{ ns: string; got: string; want: string }[]> {
  const parsed = parseConfig(readFileSync(sb.configFile, 'utf8'), sb.configFile, inv, {});
  if (!parsed.ok) throw new Error('config became invalid');
  const snap = buildSnapshot(inv, parsed.config, 1, new Date());
  const out: { ns: string; got: string; want: string }[] = [];
  for (let i = 0; i < 60; i++) {
    const path = `/v2/team-${i}/app/manifests/latest`;
    const r = await request(sb.port, { path });
    out.push({ ns: `team-${i}`, got: r.header('x-echo-owner'), want: decide(snap, { method: 'GET', path, clientAddress: '127.0.0.1' }).owner });
  }
  return out;
}

t.test('an operator ramps V2_PULL to 25 % and the proxy follows', async (t) => {
  const page = await browser.newPage();
  await login(page, 'olga', 'olga-password');
  await t.resolveMatch(page.textContent('#snapshot-version'), 'v1');
  t.match(await page.textContent('#cap-V2_PULL'), /python/, 'V2_PULL starts on python');
  t.match(await page.textContent('#live'), /requests\/s/, 'live figures per owner are shown');
  t.notMatch(await page.content(), new RegExp(`${TOKEN}|127\\.0\\.0\\.1:${python.port}|127\\.0\\.0\\.1:${go.port}`), 'no token or upstream URL in the page');
  await page.screenshot({ path: join(SHOTS, 'owners.png'), fullPage: true });

  const before = await pulls();
  t.ok(before.every((p) => p.got === 'python'), 'before: every pull on python');

  await Promise.all([page.waitForURL(/\/dashboard\/capability\/V2_PULL$/), page.click('a[href="/dashboard/capability/V2_PULL"]')]);
  await page.fill('input[aria-label="percent for CAP_V2_PULL"]', '25');
  await Promise.all([page.waitForURL(/\/dashboard\/preview$/), page.click('button[data-test="ramp-typed-CAP_V2_PULL"]')]);
  const changes = await page.textContent('#changes');
  t.match(changes, /ROUTE_OWNER_CAP_V2_PULL[\s\S]*null[\s\S]*"canary"/, 'preview: the capability goes to canary');
  t.match(changes, /ROUTE_CANARY_CAP_V2_PULL_PERCENT[\s\S]*null[\s\S]*25/, 'preview: at 25 %');
  t.match(await page.textContent('#moving'), /^4 routes change owner/, 'preview: the 4 V2_PULL routes move');
  t.match(await page.textContent('#routes'), /ROUTE_0016[\s\S]*python → canary 25%/);
  await page.screenshot({ path: join(SHOTS, 'preview.png'), fullPage: true });
  await page.fill('input[name=reason]', 'ramp pulls to 25% (change 1234)');
  await Promise.all([page.waitForURL(/\/dashboard\?applied=2$/), page.click('#apply')]);
  t.match(await page.textContent('#applied'), /snapshot v2 is in force/, 'the new snapshot version is shown');
  await t.resolveMatch(page.textContent('#snapshot-version'), 'v2');
  t.match(await page.textContent('#cap-V2_PULL'), /canary 25%/);

  const cfg = readFileSync(sb.configFile, 'utf8');
  t.match(cfg, /ROUTE_OWNER_CAP_V2_PULL: canary\n\s+ROUTE_CANARY_CAP_V2_PULL_PERCENT: 25\n/, 'written into config.yaml');
  const after = await pulls();
  t.same(after.filter((p) => p.got !== p.want), [], 'every pull reaches the owner decide() names on the new config');
  const onGo = after.filter((p) => p.got === 'go').length;
  t.ok(onGo > 0 && onGo < after.length, `some namespaces are on go now (${onGo} of ${after.length})`);

  await page.goto(`${admin}/dashboard/history`);
  const history = await page.textContent('#history');
  t.match(history, /olga[\s\S]*dashboard[\s\S]*ROUTE_CANARY_CAP_V2_PULL_PERCENT[\s\S]*null → 25[\s\S]*ramp pulls to 25% \(change 1234\)/, 'the audit entry: who, via, key, old → new, why');
  await page.screenshot({ path: join(SHOTS, 'history.png'), fullPage: true });

  await page.goto(`${admin}/dashboard/capability/V2_PULL?method=GET&path=${encodeURIComponent('/v2/team-1/app/manifests/latest')}`);
  t.match(await page.textContent('#decision'), /GET \/v2\/team-1\/app\/manifests\/latest → (python|go) \(canary_(percent|miss), ROUTE_0016, snapshot v2\)/, 'the decision trace for a typed request');
  t.match(await page.textContent('#trace'), /capability[\s\S]*ROUTE_OWNER_CAP_V2_PULL[\s\S]*"canary"/);
  await page.screenshot({ path: join(SHOTS, 'capability.png'), fullPage: true });
  await page.close();
});

t.test('a stale page gets a conflict, not a silent overwrite', async (t) => {
  const page = await browser.newPage();
  await login(page, 'olga', 'olga-password');
  await page.goto(`${admin}/dashboard/capability/V2_PULL`);
  await page.fill('input[aria-label="percent for CAP_V2_PULL"]', '50');
  await Promise.all([page.waitForURL(/\/dashboard\/preview$/), page.click('button[data-test="ramp-typed-CAP_V2_PULL"]')]);
  // Meanwhile a script changes something else.
  const r = await request(sb.adminPort, {
    method: 'POST', path: '/api/v1/apply', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'owner', scope: 'CAP_V2_PUSH', value: 'python', expected_version: await sb.version(), reason: 'pin pushes explicitly' }),
  });
  t.equal(r.status, 200, 'the API change lands', { body: r.text() });
  await page.fill('input[name=reason]', 'ramp to 50');
  await page.click('#apply');
  await page.waitForSelector('#error');
  t.match(await page.textContent('#error'), /the configuration changed since you looked \(snapshot v2 → v3\): nothing written/);
  t.match(readFileSync(sb.configFile, 'utf8'), /ROUTE_CANARY_CAP_V2_PULL_PERCENT: 25\n/, 'the file still says 25');
  await page.close();
});

t.test('read-only users look but cannot change; forged and anonymous requests are refused', async (t) => {
  const page = await browser.newPage();
  await login(page, 'rita', 'rita-password');
  t.equal(await page.locator('button[data-test^="ramp-"]').count(), 0, 'no action buttons for a read-only user');
  t.equal(await page.locator('#kill-switch').count(), 0, 'no kill switch either');
  const cookie = (await page.context().cookies()).find((c) => c.name === 'sb_session')!;
  t.ok(cookie.httpOnly && cookie.sameSite === 'Strict', 'the session cookie is HttpOnly and SameSite=Strict');
  const post = await request(sb.adminPort, { method: 'POST', path: '/dashboard/preview', headers: { cookie: `sb_session=${cookie.value}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'action=kill&on=true' });
  t.equal(post.status, 403, 'a read-only session cannot post changes');
  await page.close();

  const olga = await browser.newPage();
  await login(olga, 'olga', 'olga-password');
  const oc = (await olga.context().cookies()).find((c) => c.name === 'sb_session')!;
  const forged = await request(sb.adminPort, { method: 'POST', path: '/dashboard/apply', headers: { cookie: `sb_session=${oc.value}`, 'content-type': 'application/x-www-form-urlencoded' }, body: `changes=${encodeURIComponent(JSON.stringify([{ key: 'MIGRATION_FORCE_PYTHON', value: true }]))}&expected_version=3&reason=x` });
  t.equal(forged.status, 400, 'an operator session without the CSRF token is refused');
  t.match(forged.text(), /CSRF/);
  const crossSite = await request(sb.adminPort, { method: 'POST', path: '/dashboard/login', headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=olga&password=olga-password' });
  t.equal(crossSite.status, 403, 'a login posted from another site is refused (login CSRF)');
  t.notOk(crossSite.header('set-cookie'), 'and gets no session');
  const big = await request(sb.adminPort, { method: 'POST', path: '/api/v1/plan', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ action: 'kill', on: true, pad: 'x'.repeat(200_000) }) });
  t.equal(big.status, 413, 'an oversized body gets 413, not a reset');
  // The session cookie is the dashboard's: the proxy never passes it to an owner.
  await request(sb.port, { path: '/v2/team-1/app/tags/list', headers: { cookie: `theme=dark; sb_session=${oc.value}` } });
  const seenCookies = [...go.cookies, ...python.cookies];
  t.equal(go.cookies[go.cookies.length - 1], 'theme=dark', 'the owner (go, by V2_TAGS) got the other cookies, not sb_session');
  t.notOk(seenCookies.some((c) => c.includes('sb_session')), 'no owner ever saw a dashboard session');
  // Logging out ends the session on the server: the old cookie no longer works.
  await Promise.all([olga.waitForURL(/\/dashboard\/login$/), olga.click('button:has-text("Log out")')]);
  t.equal((await request(sb.adminPort, { path: '/api/v1/state', headers: { cookie: `sb_session=${oc.value}` } })).status, 401, 'a logged-out cookie is refused');
  await olga.close();

  t.equal((await request(sb.adminPort, { path: '/api/v1/state' })).status, 401, 'anonymous API: 401');
  t.equal((await request(sb.adminPort, { path: '/api/v1/state', headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, 401, 'a wrong token: 401');
  const bad = await request(sb.adminPort, { method: 'POST', path: '/dashboard/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=olga&password=nope' });
  t.equal(bad.status, 401, 'a wrong password: 401');
  t.notMatch(readFileSync(sb.configFile, 'utf8'), /MIGRATION_FORCE_PYTHON/, 'nothing was written');
});

t.test('the kill switch puts everything on python', async (t) => {
  const page = await browser.newPage();
  await login(page, 'olga', 'olga-password');
  await Promise.all([page.waitForURL(/\/dashboard\/preview$/), page.click('#kill-switch')]);
  t.match(await page.textContent('#preview'), /Kill switch: false → true/);
  t.match(await page.textContent('#moving'), /routes? change owner/);
  await page.fill('input[name=reason]', 'incident 42: go registry misbehaving');
  await Promise.all([page.waitForURL(/\/dashboard\?applied=\d+$/), page.click('#apply')]);
  await page.waitForSelector('#kill-banner');
  t.match(await page.textContent('#kill-banner'), /KILL SWITCH ON/);
  await page.screenshot({ path: join(SHOTS, 'kill-switch.png'), fullPage: true });
  const all = await pulls();
  t.ok(all.every((p) => p.got === 'python' && p.want === 'python'), 'every pull on python');
  const tags = await request(sb.port, { path: '/v2/team-1/app/tags/list' });
  t.equal(tags.header('x-echo-owner'), 'python', 'V2_TAGS (go by its switch) is on python too');
  t.ok(await waitFor(async () => (await request(sb.adminPort, { path: '/api/v1/history', headers: { authorization: `Bearer ${TOKEN}` } })).json().entries[0]?.key === 'MIGRATION_FORCE_PYTHON', 5000), 'the API history starts with the kill switch');
  await page.close();
});
