// The control plane reports what the CLI reports (issue 13): warnings of the
// resulting config in planWrite, the API's POST /control/v1/plan and the
// dashboard's preview, and a did-you-mean for an unknown scope. A real
// ControlPlane on a node:http server on port 0, over a real snapshot provider.

import t from 'tap';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { loadInventory } from '../../../owner-maps/index.js';
import { FileSnapshotProvider } from '../../snapshots/provider.js';
import { parseConfig } from '../../config/parse.js';
import { buildSnapshot } from '../../core/snapshot.js';
import { parseScope, planAction } from '../../control/actions.js';
import { DashboardAuth } from '../../control/auth.js';
import { ControlPlane } from '../../control/dashboard.js';
import { LiveStats } from '../../control/stats.js';
import { planWrite } from '../../control/switches.js';
import { silentLogger } from '../../../lib/log.js';

const inv = loadInventory();
const TOKEN = 'plan-warnings-admin-token-0123456789';
const CONFIG = 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n  ROUTE_OWNER_CAP_V2_PULL: go\nSWITCHBOARD:\n  DASHBOARD: {ADMIN_TOKEN_FILE: admin.token}\n';
const PERCENT_WARNING = 'ROUTE_CANARY_CAP_V2_PULL_PERCENT has no effect until ROUTE_OWNER_CAP_V2_PULL is canary (it is go)';

const dir = mkdtempSync(join(tmpdir(), 'swb-plan-warnings-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'config.yaml');
writeFileSync(file, CONFIG);
writeFileSync(join(dir, 'admin.token'), `${TOKEN}\n`);

t.test('planWrite carries the warnings of the resulting config', async (t) => {
  const plan = planWrite(file, [{ key: 'ROUTE_CANARY_CAP_V2_PULL_PERCENT', value: 25 }], inv);
  t.same(
    plan.warnings.map((w) => [w.code, w.key, w.message]),
    [['SWB_CONFIG_NO_EFFECT', 'MIGRATION.ROUTE_CANARY_CAP_V2_PULL_PERCENT', PERCENT_WARNING]],
  );
  t.equal(plan.warnings[0]?.line, 4, 'at the line the key will have');
  t.same(
    planWrite(
      file,
      [
        { key: 'ROUTE_OWNER_CAP_V2_PULL', value: 'canary' },
        { key: 'ROUTE_CANARY_CAP_V2_PULL_PERCENT', value: 25 },
      ],
      inv,
    ).warnings,
    [],
    'none once the scope is canary',
  );
  t.equal(readFileSync(file, 'utf8'), CONFIG, 'planning writes nothing');
});

t.test('an unknown scope gets the same did-you-mean as the CLI', async (t) => {
  t.throws(() => parseScope('CAP_V2_PULLZ', inv), /unknown scope "CAP_V2_PULLZ" \(did you mean CAP_V2_PULL\?\): use global/);
  t.throws(() => parseScope('family_api_v1', inv), /\(did you mean FAMILY_API_V1\?\)/, 'case is ignored');
  t.throws(() => parseScope('Global', inv), /\(did you mean global\?\)/);
  let routeErr = '';
  try {
    parseScope('ROUTE_9999', inv);
  } catch (e) {
    routeErr = (e as Error).message;
  }
  t.match(routeErr, /^unknown scope "ROUTE_9999": use global/, 'no guess at route numbers');
  const r = parseConfig(CONFIG, file, inv, {});
  if (!r.ok) throw new Error('fixture invalid');
  t.throws(() => planAction({ action: 'owner', scope: 'CAP_V2_PULLZ', value: 'go' }, buildSnapshot(inv, r.config, 1, new Date())), /did you mean CAP_V2_PULL\?/);
});

t.test('the control API and the dashboard preview report warnings', async (t) => {
  const provider = await FileSnapshotProvider.start({ file, inventory: inv, watch: false, pollSeconds: 15 });
  t.teardown(() => provider.close());
  const control = new ControlPlane({
    provider,
    inventory: inv,
    file,
    env: {},
    log: silentLogger,
    stats: new LiveStats(new Registry()),
    stateDir: join(dir, 'state'),
    auth: new DashboardAuth({ tokenFile: join(dir, 'admin.token'), usersFile: null, sessionHours: 1 }),
  });
  const server: Server = createServer((req, res) => {
    void control.handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const post = (path: string, body: string, type: string): Promise<Response> =>
    fetch(base + path, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': type }, body });
  const plan = async (body: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await post('/control/v1/plan', JSON.stringify(body), 'application/json');
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  const percent = await plan({ changes: [{ key: 'ROUTE_CANARY_CAP_V2_PULL_PERCENT', value: 25 }] });
  t.equal(percent.status, 200);
  t.same(
    percent.json.warnings,
    [{ code: 'SWB_CONFIG_NO_EFFECT', key: 'MIGRATION.ROUTE_CANARY_CAP_V2_PULL_PERCENT', file, line: 4, message: PERCENT_WARNING }],
    'POST /control/v1/plan: a percent on a scope that is not canary is accepted and warned about',
  );
  const lists = await plan({ action: 'lists', scope: 'CAP_V2_PULL', selector: 'orgs', values: ['acme'] });
  t.match(
    lists.json.warnings,
    [{ key: 'MIGRATION.ROUTE_CANARY_CAP_V2_PULL_ORGS', message: /ROUTE_CANARY_CAP_V2_PULL_ORGS has no effect until ROUTE_OWNER_CAP_V2_PULL is canary/ }],
    'an action too',
  );
  const ramp = await plan({ action: 'ramp', scope: 'CAP_V2_PULL', percent: 25 });
  t.same(ramp.json.warnings, [], 'a ramp makes the scope canary: no warning');

  const typo = await plan({ action: 'owner', scope: 'CAP_V2_PULLZ', value: 'go' });
  t.equal(typo.status, 400);
  t.equal(typo.json.code, 'SWB_CLI_USAGE');
  t.match(typo.json.error, /unknown scope "CAP_V2_PULLZ" \(did you mean CAP_V2_PULL\?\)/, 'the unknown scope is answered with a suggestion');

  const preview = await post(
    '/dashboard/preview',
    new URLSearchParams({ action: 'lists', scope: 'CAP_V2_PULL', selector: 'orgs', values: 'acme' }).toString(),
    'application/x-www-form-urlencoded',
  );
  t.equal(preview.status, 200);
  const html = await preview.text();
  t.match(
    html,
    /<ul class="err" id="warnings"><li>Warning: ROUTE_CANARY_CAP_V2_PULL_ORGS has no effect until ROUTE_OWNER_CAP_V2_PULL is canary \(it is go\)<\/li><\/ul>/,
    'the preview page shows the warning',
  );
  const clean = await (
    await post('/dashboard/preview', new URLSearchParams({ action: 'ramp', scope: 'CAP_V2_PULL', percent: '25' }).toString(), 'application/x-www-form-urlencoded')
  ).text();
  t.notMatch(clean, /id="warnings"/, 'and none when there is nothing to warn about');
  t.equal(readFileSync(file, 'utf8'), CONFIG, 'nothing was written');
});
