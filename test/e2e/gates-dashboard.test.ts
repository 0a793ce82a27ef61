/**
 * The cutover gates on the dashboard, in Chromium (playwright-core, Debian's
 * chromium), against a real `switchboard serve`: a 25 % canary of V2_PULL
 * whose go owner starts failing a fifth of its manifest GETs rolls itself
 * back; the capability page shows why (the failed windows with both owners'
 * figures, the rollback's reason); a ramp's preview shows the failing gates
 * and needs the override; after the cool-down an operator re-arms it from the
 * page and the gate passes. Screenshots go to test-output/screenshots/.
 */
import t from 'tap';
import http from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { chromium, type Browser } from 'playwright-core';
import { request, requireBinaries, ROOT, runOk, tempDir, waitFor } from '../lib/proc.js';
import { startEcho } from '../lib/nginx.js';
import { buildSwitchboard, startSwitchboard } from '../lib/switchboard.js';

t.setTimeout(180_000);
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
requireBinaries([CHROMIUM]);
await buildSwitchboard();
const SHOTS = join(ROOT, 'test-output', 'screenshots');
mkdirSync(SHOTS, { recursive: true });

const dir = tempDir(t, 'swb-gates-ui-');
const users = (
  await runOk(process.execPath, [join(ROOT, 'bin/switchboard.js'), 'dashboard', 'user', 'olga', '--role', 'operator', '--password-env', 'DASH_PW'], {
    env: { ...process.env, DASH_PW: 'olga-password' },
  })
).stdout;
writeFileSync(join(dir, 'users.yaml'), users);

/** go: implements V2_PULL (its readiness document), and fails every fifth manifest GET while `failing`. */
const goState = { failing: false, n: 0 };
const goServer = http.createServer((req, res) => {
  req.resume();
  const doc = req.url === '/.well-known/switchboard';
  const fail = !doc && goState.failing && /\/manifests\//.test(req.url ?? '') && ++goState.n % 5 === 0;
  const body = doc ? JSON.stringify({ service: 'e2e-go', version: '1.0.0', mode: 'mirror', capabilities: ['V2_PULL'] }) : JSON.stringify({ owner: 'go' });
  res.writeHead(fail ? 500 : 200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-echo-owner': 'go' });
  res.end(body);
});
await new Promise<void>((r) => goServer.listen(0, '127.0.0.1', () => r()));
t.teardown(
  () =>
    new Promise<void>((r) => {
      goServer.closeAllConnections();
      goServer.close(() => r());
    }),
);
const python = await startEcho(t, 'python');
const sb = await startSwitchboard(
  t,
  dir,
  { python: `http://127.0.0.1:${python.port}`, go: `http://127.0.0.1:${(goServer.address() as { port: number }).port}` },
  {
    migration: {
      ROUTE_OWNER_CAP_V2_PULL: 'canary',
      ROUTE_CANARY_CAP_V2_PULL_PERCENT: 25,
      GATE_WINDOW_SECONDS: 1,
      GATE_MIN_REQUESTS: 10,
      GATE_FAILED_WINDOWS: 2,
      GATE_COOLDOWN_SECONDS: 5,
      GATE_P99_ALLOWANCE_MS: 5000,
    },
    settings: { DASHBOARD: { USERS_FILE: 'users.yaml' } },
  },
);
const admin = `http://127.0.0.1:${sb.adminPort}`;
const browser: Browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--headless=new', '--disable-background-networking', '--disable-component-update'],
});
t.teardown(() => browser.close());

/** Pulls of 400 namespaces, four at a time, until stopped. */
let pulling = true;
const pullers = Promise.all(
  [0, 1, 2, 3].map(async (k) => {
    for (let i = k; pulling; i += 4) await request(sb.port, { path: `/v2/ns${i % 400}/app/manifests/latest` }).catch(() => undefined);
  }),
);
t.teardown(async () => {
  pulling = false;
  await pullers;
});

t.test('a failing canary rolls back; the page says why; an operator re-arms it', async (t) => {
  const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
  await page.goto(`${admin}/dashboard/login`);
  await page.fill('input[name=name]', 'olga');
  await page.fill('input[name=password]', 'olga-password');
  await Promise.all([page.waitForURL(`${admin}/dashboard`), page.click('button:has-text("Log in")')]);
  const capPage = `${admin}/dashboard/capability/V2_PULL`;
  const status = async (gate: string): Promise<string | null> => {
    await page.goto(capPage);
    return page.locator(`#gate-lines tr[data-gate="${gate}"]`).getAttribute('class');
  };
  t.ok(await waitFor(async () => (await status('canary_health')) === 'gate-pass', 20_000, 300), 'the healthy canary passes its health gate');
  t.match(await page.textContent('#gates-verdict'), /Gates pass: a ramp step is allowed/);
  t.match(await page.textContent('#gate-lines tr[data-gate="readiness"]'), /lists V2_PULL/);
  await page.screenshot({ path: join(SHOTS, 'gates-healthy.png'), fullPage: true });

  goState.failing = true;
  t.ok(await waitFor(() => YAML.parse(readFileSync(sb.configFile, 'utf8')).MIGRATION.ROUTE_OWNER_CAP_V2_PULL === 'python', 20_000, 100), 'rolled back by itself');
  const rolledAt = Date.now();
  await page.goto(capPage);
  t.match(await page.textContent('#gate-rollback'), /Rolled back to python automatically .*2 consecutive failed windows.*go error rate/);
  t.equal(await page.locator('#gate-lines tr[data-gate="auto_rollback"]').getAttribute('class'), 'gate-fail');
  t.match(await page.textContent('#gates-verdict'), /Gates failing: .*auto_rollback/);
  const failRows = await page.locator('#gate-windows tr.gate-fail').count();
  t.ok(failRows >= 2, 'the failed windows are listed');
  t.match(await page.textContent('#gate-windows tr.gate-fail >> nth=0'), /go error rate \d+\.\d+%/);
  await page.screenshot({ path: join(SHOTS, 'gates-rolled-back.png'), fullPage: true });

  // The history shows the rollback, by auto-rollback.
  await page.goto(`${admin}/dashboard/history`);
  t.match(await page.textContent('#history'), /auto-rollback/);

  // A ramp's preview names the failing gates and offers the override.
  await page.goto(capPage);
  await Promise.all([page.waitForURL(`${admin}/dashboard/preview`), page.click('[data-test="ramp-next-CAP_V2_PULL"]')]);
  t.match(await page.textContent('#gates-failing'), /Cutover gates failing:.*V2_PULL: .*auto_rollback \(disarmed/);
  t.equal(await page.locator('#force').count(), 1, 'the override box is offered');
  await page.screenshot({ path: join(SHOTS, 'gates-preview.png'), fullPage: true });
  await page.fill('input[name=reason]', 'without the override');
  await page.click('#apply');
  t.match(await page.textContent('#error'), /the cutover gates do not pass/);

  // Re-arm: after the cool-down, from the page, with a reason.
  await new Promise((r) => setTimeout(r, Math.max(0, rolledAt + 5500 - Date.now())));
  goState.failing = false;
  await page.goto(capPage);
  await page.fill('#arm-form input[name=reason]', 'go fixed in 1.0.1');
  await Promise.all([page.waitForURL(/armed=1/), page.click('#arm')]);
  t.equal(await page.locator('#gate-lines tr[data-gate="auto_rollback"]').getAttribute('class'), 'gate-pass', 're-armed');
  t.equal(await page.locator('#arm-form').count(), 0);
  const audit = readFileSync(join(dir, 'switchboard-audit.log'), 'utf8');
  t.match(audit, /"actor":"olga","via":"dashboard","action":"arm","key":"gates V2_PULL"/);
  await page.close();
});
