/** The admin listener's access settings: defaults, values, and auth without the dashboard's credentials. */
import t from 'tap';
import { loadInventory } from '../../../owner-maps/index.js';
import { parseConfig } from '../../config/parse.js';
import { switchboardSectionSchema } from '../../config/schema.js';
import { restartOnlyChanges } from '../../config/restart-only.js';

const inv = loadInventory();
const parse = (lines: string[]) => parseConfig(lines.join('\n') + '\n', 'config.yaml', inv, {});

t.test('defaults: no extra names, /status and /metrics open', async (t) => {
  const s = switchboardSectionSchema.parse({});
  t.same([s.ADMIN_ALLOWED_HOSTS, s.ADMIN_STATUS_AUTH, s.ADMIN_METRICS_AUTH], [[], false, false]);
});

t.test('values: names normalised, auth with the dashboard', async (t) => {
  const r = parse([
    'SWITCHBOARD:',
    '  ADMIN_ALLOWED_HOSTS: [Switchboard-Admin.Internal, " scrape.example "]',
    '  ADMIN_STATUS_AUTH: true',
    '  ADMIN_METRICS_AUTH: yes',
    '  DASHBOARD: {ADMIN_TOKEN_FILE: admin.token}',
  ]);
  t.ok(r.ok, JSON.stringify(!r.ok && r.issues));
  if (!r.ok) return;
  t.same(r.config.settings.ADMIN_ALLOWED_HOSTS, ['switchboard-admin.internal', 'scrape.example']);
  t.equal(r.config.settings.ADMIN_STATUS_AUTH, true);
  t.equal(r.config.settings.ADMIN_METRICS_AUTH, true, 'YAML 1.1 yes');
  const base = switchboardSectionSchema.parse({});
  t.same(restartOnlyChanges(base, r.config.settings, false), ['SWITCHBOARD.DASHBOARD'], 'the three apply on reload (DASHBOARD is restart-only)');
});

t.test('status or metrics auth without SWITCHBOARD.DASHBOARD is an error naming the key and its line', async (t) => {
  const r = parse([
    'SWITCHBOARD:', //               1
    '  LISTEN: 0.0.0.0:8080', //     2
    '  ADMIN_STATUS_AUTH: true', //  3
    '  ADMIN_METRICS_AUTH: true', // 4
  ]);
  t.notOk(r.ok);
  if (r.ok) return;
  t.match(r.issues, [
    {
      code: 'SWB_CONFIG_BAD_VALUE',
      key: 'SWITCHBOARD.ADMIN_STATUS_AUTH',
      line: 3,
      message: /^SWITCHBOARD\.ADMIN_STATUS_AUTH: needs SWITCHBOARD\.DASHBOARD \(ADMIN_TOKEN_FILE or USERS_FILE\)/,
    },
    { code: 'SWB_CONFIG_BAD_VALUE', key: 'SWITCHBOARD.ADMIN_METRICS_AUTH', line: 4, message: /needs SWITCHBOARD\.DASHBOARD/ },
  ]);
  t.equal(r.issues.length, 2);
  t.ok(parse(['SWITCHBOARD:', '  ADMIN_STATUS_AUTH: false']).ok, 'off needs nothing');
});

t.test('bad values are refused with their key', async (t) => {
  for (const [value, why] of [
    ['["admin.internal:9180"]', /host name without scheme or port/],
    ['[https://admin.internal]', /host name without scheme or port/],
    ['admin.internal', /must be a list of host names/],
    ['[""]', /host name/],
  ] as const) {
    const r = parse(['SWITCHBOARD:', `  ADMIN_ALLOWED_HOSTS: ${value}`]);
    t.notOk(r.ok, value);
    if (!r.ok) t.match(r.issues[0], { key: /^SWITCHBOARD\.ADMIN_ALLOWED_HOSTS/, message: why }, value);
  }
  const r = parse(['SWITCHBOARD:', '  ADMIN_STATUS_AUTH: maybe']);
  t.notOk(r.ok);
  if (!r.ok) t.match(r.issues[0], { key: 'SWITCHBOARD.ADMIN_STATUS_AUTH' });
});
