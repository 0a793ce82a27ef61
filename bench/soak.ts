/**
 * bench/soak — issue 14's proof: normal traffic through the real `switchboard
 * serve` keeps its latency, and no owner is charged an error, while hostile
 * clients hammer the proxy and its admin listener.
 *
 *   npm run bench:soak                         (about a minute)
 *   npm run bench:soak -- --seconds 60         (longer phases; --help lists the rest)
 *
 * Layout: two owners (python, go), plain node:http servers answering a small
 * JSON document; `switchboard serve` in front, pinned alone to cpu 1 when there
 * are two cores or more; its admin listener on loopback with the dashboard (an
 * admin token file and one user, bcrypt cost 10). Normal traffic: --clients
 * keep-alive clients (undici) at --rate requests/s in all, cycling through a
 * manifest GET and a 4 KiB upload PATCH (owner go) and a repository GET and
 * PUT on /api/v1 (owner python), each answer checked to come from its owner;
 * a latency counts from when the request was due, so a stall is charged to
 * every request it held up. Beside it, one client straight to the python owner
 * (the control: what the machine itself does to latency). Two phases:
 *
 *   idle     normal traffic alone, --seconds
 *   attack   the same, while a separate process (cpu 0, nice 10) runs
 *            - --slow connections declaring a 1 MiB body and sending one byte every
 *              5 s, half to the go upload PATCH, half to the python API PUT,
 *              reconnecting when the proxy cuts one;
 *            - a login flood: wrong Basic credentials, login-form posts and
 *              admin-token guesses on the admin listener, from --flood-addresses
 *              loopback source addresses, --flood-concurrency each, as fast as
 *              the answers come (--flood-rate paces it);
 *            - malformed requests in a loop (bench/lib/hostile-clients.ts, MALFORMED).
 *            --attacks slow|flood|malformed runs one alone: what costs what.
 *
 * A second run puts the embedded registry in as the go owner
 * (AUTHENTICATION_TYPE: Database, users from `quay user create`, bcrypt cost 12)
 * and floods /v2/auth as well; its go traffic is GET /v2/ with a bearer token.
 *
 * Reported per run: p50/p99 idle and under attack and their ratio (target: p99
 * within 2.0×), failed normal requests (target 0), switchboard_upstream_errors_total
 * moved per owner from before the idle phase to after the attackers left (target
 * 0), what the attackers got, the edge's refusal counters and login failures.
 * A report, not a test: it exits 0 whatever the figures.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { children, columns, freePort, taskset } from './lib/procs.js';
import { MALFORMED, floodAddresses, type FloodKind, type SlowTarget } from './lib/hostile-clients.js';
import {
  defaultMix,
  delta,
  edgeRefusals,
  loginFailures,
  percentile,
  runNormalTraffic,
  scrapeMetrics,
  clientAbortsByOwner,
  upstreamErrorsByKind,
  upstreamErrorsByOwner,
  type NormalRequest,
  type TrafficResult,
} from './lib/soak-traffic.js';
import { startAttacker, type AttackStats } from './lib/soak-attacker.js';
import { dashboardFiles, logLevels, startOwner, startServe, type FastOwner, type Serve } from './lib/soak-rig.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HELP = `Usage: npm run bench:soak -- [--seconds N] [--clients N] [--rate N] [--slow N] [--flood-addresses N]
       [--flood-concurrency N] [--flood-rate N] [--malformed-loops N] [--body-timeout SECONDS] [--attacks LIST] [--no-embedded]

  --seconds N            length of each phase (default 10)
  --clients N            normal-traffic keep-alive clients (default 8)
  --rate N               normal requests per second over all clients (default 400; 0: as fast as they go)
  --slow N               slow-body connections held open (default 300)
  --flood-addresses N    loopback source addresses of the login flood (default 8)
  --flood-concurrency N  flood requests in flight per address (default 8)
  --flood-rate N         flood requests per second in all (default 0: as fast as the answers come)
  --malformed-loops N    concurrent malformed-request loops (default 4)
  --body-timeout S       set SWITCHBOARD.REQUEST_BODY_TIMEOUT_SECONDS (default: the setting's own default)
  --attacks LIST         which attackers run: slow,flood,malformed (default all; one alone says what costs what)
  --no-embedded          skip the run with the embedded registry`;

// ---------------------------------------------------------------- one run

interface RunSpec {
  readonly title: string;
  readonly mix: readonly NormalRequest[];
  readonly slowTargets: readonly SlowTarget[];
  readonly floodKinds: readonly FloodKind[];
  readonly registry?: { readonly service: string; readonly user: string };
  /** Checks after the attack from 127.0.0.1 (which never flooded): label → status. */
  readonly afterwards: (s: Serve) => Promise<[string, number][]>;
}

interface RunResult {
  readonly idle: TrafficResult;
  readonly attack: TrafficResult;
  /** The same client machine straight to the python owner, no proxy: how much of a change is the machine's. */
  readonly control: { readonly idle: TrafficResult; readonly attack: TrafficResult };
  readonly before: string;
  readonly after: string;
  readonly stats: AttackStats;
  readonly owners: readonly FastOwner[];
  readonly afterwards: [string, number][];
  /** Lines `serve` logged while the attackers ran, by level. */
  readonly logLines: Map<string, number>;
}

async function run(spec: RunSpec, serve: Serve, owners: readonly FastOwner[], o: Options): Promise<RunResult> {
  const traffic = { clients: o.clients, seconds: o.seconds, rate: o.rate };
  const direct = Number(new URL(owners[0]!.url).port);
  const controlMix = spec.mix.filter((m) => m.owner === owners[0]!.name && m.method === 'GET');
  const phase = (): Promise<[TrafficResult, TrafficResult]> =>
    Promise.all([runNormalTraffic(serve.port, spec.mix, traffic), runNormalTraffic(direct, controlMix, { clients: 1, seconds: o.seconds, rate: 50 })]);
  await runNormalTraffic(serve.port, spec.mix, { ...traffic, seconds: 2 }); // warm-up: pools, JIT
  const before = await scrapeMetrics(serve.adminPort);
  const [idle, controlIdle] = await phase();
  for (const w of owners) {
    w.requests = 0;
    w.slowSeen = 0;
    w.probes.clear();
  }
  const logFrom = statSync(serve.logFile).size;
  const att = await startAttacker({
    proxyPort: serve.port,
    adminPort: serve.adminPort,
    slow: o.slow,
    slowTargets: spec.slowTargets,
    floodAddresses: floodAddresses(o.floodAddresses),
    floodConcurrency: o.floodConcurrency,
    floodKinds: spec.floodKinds,
    floodRate: o.floodRate,
    malformedLoops: o.malformedLoops,
    ...(spec.registry ? { registry: spec.registry } : {}),
  });
  await new Promise((r) => setTimeout(r, 1500)); // every slow connection open, the flood at full rate
  const [attack, controlAttack] = await phase();
  const stats = await att.stop();
  const logLines = logLevels(serve.logFile, logFrom);
  await new Promise((r) => setTimeout(r, 500)); // the proxy's close accounting for the connections the attackers dropped
  const after = await scrapeMetrics(serve.adminPort);
  return { idle, attack, control: { idle: controlIdle, attack: controlAttack }, before, after, stats, owners, logLines, afterwards: await spec.afterwards(serve) };
}

// ---------------------------------------------------------------- report

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '—');
const counts = (r: Record<string, number>): string =>
  Object.entries(r)
    .map(([k, v]) => `${k === '0' ? 'closed' : k === '-1' ? 'no answer' : k}×${v}`)
    .join(' ') || '—';
const moved = (m: Map<string, number>): string => (m.size ? [...m].map(([k, v]) => `${k} ${v > 0 ? '+' : ''}${v}`).join(', ') : 'none');

function report(spec: RunSpec, r: RunResult, o: Options): { text: string; verdict: string } {
  const p = (t: TrafficResult, q: number): number => percentile(t.latencies, q);
  const ratio = p(r.attack, 99) / p(r.idle, 99);
  const errs = delta(upstreamErrorsByOwner(r.before), upstreamErrorsByOwner(r.after));
  const byKind = delta(upstreamErrorsByKind(r.before), upstreamErrorsByKind(r.after));
  const aborts = delta(clientAbortsByOwner(r.before), clientAbortsByOwner(r.after));
  const pass = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
  const failed = r.attack.failed + r.idle.failed;
  const rows = [
    [spec.title, 'idle', 'under attack', 'ratio', 'target', ''],
    ['  requests (ok)', String(r.idle.ok), String(r.attack.ok), '', '', ''],
    ['  requests/s', (r.idle.ok / o.seconds).toFixed(0), (r.attack.ok / o.seconds).toFixed(0), `${(r.attack.ok / r.idle.ok || 0).toFixed(2)}×`, '', ''],
    ['  p50 ms', ms(p(r.idle, 50)), ms(p(r.attack, 50)), `${(p(r.attack, 50) / p(r.idle, 50)).toFixed(2)}×`, '', ''],
    ['  p99 ms', ms(p(r.idle, 99)), ms(p(r.attack, 99)), `${ratio.toFixed(2)}×`, '≤ 2.0×', pass(ratio <= 2)],
    ['  max ms', ms(p(r.idle, 100)), ms(p(r.attack, 100)), '', '', ''],
    ['  control p99 ms (no proxy)', ms(p(r.control.idle, 99)), ms(p(r.control.attack, 99)), `${(p(r.control.attack, 99) / p(r.control.idle, 99)).toFixed(2)}×`, '', ''],
    ['  failed', String(r.idle.failed), String(r.attack.failed), '', '0', pass(failed === 0)],
    ...(['python', 'go'] as const).flatMap((w) => {
      return [
        [`  upstream_errors_total Δ ${w}`, '', String(errs.get(w) ?? 0), '', '0', pass((errs.get(w) ?? 0) === 0)],
        [`    client_aborts_total Δ (no owner failure)`, '', String(aborts.get(w) ?? 0), '', '', ''],
      ];
    }),
  ];
  const s = r.stats;
  const cut = s.slow.cutAfterMs;
  const seenProbes = new Map(r.owners.flatMap((w) => [...w.probes].map(([k, v]) => [`${w.name}/${k}`, v] as [string, number])));
  const leaked = MALFORMED.filter((c) => c.kind === 'refused' && r.owners.some((w) => (w.probes.get(c.name) ?? 0) > 0)).map((c) => c.name);
  const lines = [
    columns(rows),
    ...(failed ? [`  failures: ${[...r.idle.failures, ...r.attack.failures].slice(0, 5).join('; ')}`] : []),
    `  upstream errors by owner/kind: ${moved(byKind)}`,
    `  slow bodies    ${s.slow.opened} opened (${o.slow} at a time); cut by the proxy: ${counts(s.slow.answered)}, closed without an answer ${s.slow.closedWithoutAnswer}` +
      `${cut.length ? `, after ${(percentile(cut, 50) / 1000).toFixed(1)} s median` : ''}; open when the attack stopped ${s.slow.openAtStop}`,
    `  login flood    ${s.flood.sent} sent (${(s.flood.sent / s.seconds).toFixed(0)}/s) from ${o.floodAddresses} addresses: ${Object.entries(s.flood.byKind)
      .map(([k, v]) => `${k} ${counts(v)}`)
      .join(' | ')}`,
    `  malformed      ${s.malformed.sent} sent (${(s.malformed.sent / s.seconds).toFixed(0)}/s): ${Object.entries(s.malformed.byCase)
      .map(([k, v]) => `${k} ${counts(v)}`)
      .join(', ')}`,
    `  owners saw     slow bodies ${r.owners.reduce((a, w) => a + w.slowSeen, 0)} (forwarded as they trickle in); malformed, by case: ${moved(seenProbes)}` +
      `; of the cases the edge must refuse: ${leaked.length ? leaked.join(', ') : 'none'}`,
    `  edge refusals  ${moved(delta(edgeRefusals(r.before), edgeRefusals(r.after)))}`,
    `  login failures ${moved(delta(loginFailures(r.before), loginFailures(r.after)))}`,
    `  serve's log    ${moved(r.logLines)} lines while the attackers ran (SWITCHBOARD_LOG_LEVEL default)`,
    `  afterwards     ${r.afterwards.map(([k, v]) => `${k}: ${v}`).join('; ')}`,
  ];
  const verdict =
    `${spec.title}: p99 ${ms(p(r.idle, 99))} → ${ms(p(r.attack, 99))} ms (${ratio.toFixed(2)}× idle, target ≤ 2.0×), ` +
    `${failed} failed, upstream errors Δ python ${errs.get('python') ?? 0} go ${errs.get('go') ?? 0}` +
    ` (client aborts ${(aborts.get('python') ?? 0) + (aborts.get('go') ?? 0)})${leaked.length ? `, ${leaked.join('/')} reached an owner` : ''} — ` +
    pass(ratio <= 2 && failed === 0 && (errs.get('python') ?? 0) === 0 && (errs.get('go') ?? 0) === 0 && leaked.length === 0);
  return { text: lines.join('\n'), verdict };
}

// ---------------------------------------------------------------- main

interface Options {
  seconds: number;
  clients: number;
  rate: number;
  slow: number;
  floodAddresses: number;
  floodConcurrency: number;
  floodRate: number;
  malformedLoops: number;
  bodyTimeout: number | null;
  embedded: boolean;
}

function options(): Options {
  const { values: v } = parseArgs({
    options: {
      seconds: { type: 'string' },
      clients: { type: 'string' },
      rate: { type: 'string' },
      slow: { type: 'string' },
      'flood-addresses': { type: 'string' },
      'flood-concurrency': { type: 'string' },
      'flood-rate': { type: 'string' },
      'malformed-loops': { type: 'string' },
      'body-timeout': { type: 'string' },
      attacks: { type: 'string' },
      'no-embedded': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    console.log(HELP);
    process.exit(0);
  }
  const num = (s: string | undefined, d: number): number => {
    const n = s === undefined ? d : Number(s);
    if (!Number.isFinite(n) || n < 0) {
      console.error(`bench:soak: not a number: ${String(s)}\n\n${HELP}`);
      process.exit(2);
    }
    return n;
  };
  const attacks = (v.attacks ?? 'slow,flood,malformed').split(',').filter(Boolean);
  const unknown = attacks.filter((a) => !['slow', 'flood', 'malformed'].includes(a));
  if (unknown.length) {
    console.error(`bench:soak: unknown attack ${unknown.join(', ')}\n\n${HELP}`);
    process.exit(2);
  }
  const on = (a: string, n: number): number => (attacks.includes(a) ? n : 0);
  return {
    seconds: num(v.seconds, 10),
    clients: num(v.clients, 8),
    rate: num(v.rate, 400),
    slow: on('slow', num(v.slow, 300)),
    floodAddresses: on('flood', num(v['flood-addresses'], 8)),
    floodConcurrency: num(v['flood-concurrency'], 8),
    floodRate: num(v['flood-rate'], 0),
    malformedLoops: on('malformed', num(v['malformed-loops'], 4)),
    bodyTimeout: v['body-timeout'] === undefined ? null : num(v['body-timeout'], 60),
    embedded: !v['no-embedded'],
  };
}

const basic = (name: string, password: string): string => `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;

async function status(port: number, path: string, headers: Record<string, string>): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { headers, redirect: 'manual' });
  await r.arrayBuffer();
  return r.status;
}

function settings(o: Options, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    ACCESS_LOG: 'off',
    DASHBOARD: { ADMIN_TOKEN_FILE: 'admin.token', USERS_FILE: 'users.yaml' },
    ...(o.bodyTimeout !== null ? { REQUEST_BODY_TIMEOUT_SECONDS: o.bodyTimeout } : {}),
    ...extra,
  };
}

/** Run 1: two node:http owners; the flood on the admin listener only. */
async function ownersRun(d: string, o: Options): Promise<{ text: string; verdict: string }> {
  const owners = [await startOwner('python'), await startOwner('go')] as const;
  const { token, user } = dashboardFiles(d);
  const port = await freePort();
  const adminPort = await freePort();
  writeFileSync(
    join(d, 'config.yaml'),
    YAML.stringify({
      MIGRATION: { ROUTE_OWNER_DEFAULT: 'python', ROUTE_OWNER_CAP_V2_PULL: 'go', ROUTE_OWNER_CAP_V2_UPLOAD: 'go' },
      SWITCHBOARD: settings(o, { LISTEN: `127.0.0.1:${port}`, ADMIN_LISTEN: `127.0.0.1:${adminPort}`, UPSTREAMS: { python: owners[0].url, go: owners[1].url } }),
    }),
  );
  const serve = await startServe(d, join(d, 'config.yaml'), port, adminPort);
  try {
    const mix = defaultMix();
    const spec: RunSpec = {
      title: 'run 1: two node:http owners',
      mix,
      slowTargets: [
        { method: 'PATCH', path: mix[1]!.path },
        { method: 'PUT', path: '/api/v1/repository/acme/app' },
      ],
      floodKinds: ['api-basic', 'dashboard-form', 'api-bearer'],
      afterwards: async (s) => [
        [`dashboard Basic ${user.name}`, await status(s.adminPort, '/control/v1/state', { authorization: basic(user.name, user.password) })],
        ['admin token', await status(s.adminPort, '/control/v1/state', { authorization: `Bearer ${token}` })],
      ],
    };
    return report(spec, await run(spec, serve, owners, o), o);
  } finally {
    serve.child.kill('SIGKILL');
    for (const w of owners) w.close();
  }
}

/** Run 2: the embedded registry as go, with Quay's database auth (users alice and bob); /v2/auth flooded too. */
async function embeddedRun(d: string, o: Options): Promise<{ text: string; verdict: string }> {
  const python = await startOwner('python');
  const { token } = dashboardFiles(d);
  const port = await freePort();
  const adminPort = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = join(d, 'config.yaml');
  writeFileSync(
    config,
    YAML.stringify({
      SERVER_HOSTNAME: host,
      PREFERRED_URL_SCHEME: 'http',
      AUTHENTICATION_TYPE: 'Database',
      DATABASE_SECRET_KEY: randomUUID(),
      MIGRATION: { ROUTE_OWNER_DEFAULT: 'python', ROUTE_OWNER_FAMILY_REGISTRY_V2: 'go', ROUTE_OWNER_CAP_V2_UPLOAD: 'python' },
      SWITCHBOARD: settings(o, { LISTEN: host, ADMIN_LISTEN: `127.0.0.1:${adminPort}`, UPSTREAMS: { python: python.url }, EMBEDDED_REGISTRY: { DATA_DIR: join(d, 'quay') } }),
    }),
  );
  for (const u of ['alice', 'bob']) {
    const c = spawnSync(
      process.execPath,
      [join(root, 'bin', 'quay.js'), 'user', 'create', u, '--email', `${u}@example.com`, '--password-stdin', '--config', config, '--data-dir', join(d, 'quay')],
      { input: `${u}-password\n`, encoding: 'utf8' },
    );
    if (c.status !== 0) throw new Error(`quay user create ${u}: ${c.stderr}`);
  }
  const serve = await startServe(d, config, port, adminPort);
  try {
    const login = async (u: string): Promise<Response> =>
      fetch(`http://${host}/v2/auth?account=${u}&service=${encodeURIComponent(host)}&scope=${encodeURIComponent(`repository:${u}/app:pull`)}`, {
        headers: { authorization: basic(u, `${u}-password`) },
      });
    const first = await login('bob');
    if (first.status !== 200) throw new Error(`bob's /v2/auth login: ${first.status} ${await first.text()}`);
    const bearer = ((await first.json()) as { token: string }).token;
    const base = defaultMix();
    const mix: NormalRequest[] = [
      { what: 'GET /v2/ (embedded registry, bearer)', method: 'GET', path: '/v2/', owner: 'go', headers: { authorization: `Bearer ${bearer}` }, checkUpstreamHeader: false },
      { ...base[1]!, owner: 'python' },
      base[2]!,
      base[3]!,
    ];
    const spec: RunSpec = {
      title: 'run 2: embedded registry (go, database auth) + python',
      mix,
      registry: { service: host, user: 'alice' },
      slowTargets: [
        { method: 'PATCH', path: base[1]!.path },
        { method: 'PUT', path: '/api/v1/repository/acme/app' },
      ],
      floodKinds: ['api-basic', 'dashboard-form', 'api-bearer', 'v2-auth-user', 'v2-auth-unknown', 'v2-auth-user'],
      afterwards: async (s) => [
        ['/v2/auth bob (never flooded)', (await login('bob')).status],
        ['/v2/auth alice (flooded)', (await login('alice')).status],
        ['admin token', await status(s.adminPort, '/control/v1/state', { authorization: `Bearer ${token}` })],
      ],
    };
    return report(spec, await run(spec, serve, [python], o), o);
  } finally {
    serve.child.kill('SIGKILL');
    python.close();
  }
}

async function main(): Promise<void> {
  const o = options();
  if (!existsSync(join(root, 'dist', 'switchboard', 'cli', 'main.js'))) throw new Error('run npm run build first');
  const dir = mkdtempSync(join(tmpdir(), 'swb-bench-soak-'));
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  process.on('SIGINT', () => process.exit(130));
  // The clients and owners on cpu 0 with the attacker; the proxy alone on cpu 1.
  if (taskset) spawnSync(taskset, ['-a', '-pc', '0', String(process.pid)], { stdio: 'ignore' });
  const load = loadavg()[0]!;
  console.log('bench/soak — normal traffic through switchboard serve, idle and under attack');
  console.log(
    `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${taskset ? 'switchboard pinned to cpu 1; clients, owners and attacker (nice 10) on cpu 0' : 'no CPU pinning'}`,
  );
  console.log(`load average at start ${load.toFixed(2)}${load > cpus().length / 2 ? ' — other work is running: latencies are noisy, compare only within this run' : ''}`);
  console.log(
    `normal traffic: ${o.rate ? `${o.rate} requests/s from ` : ''}${o.clients} keep-alive clients (undici), ${o.seconds} s per phase; manifest GET + 4 KiB upload PATCH (go), repository GET + PUT (python)` +
      `${o.rate ? '; latency from when each request was due' : ''}`,
  );
  console.log(
    `attack: ${o.slow} slow bodies (1 MiB declared, 1 byte / 5 s, reconnecting), login flood (${o.floodAddresses} addresses × ${o.floodConcurrency}${o.floodRate ? `, ${o.floodRate}/s` : ', unpaced'}), ` +
      `${o.malformedLoops} loops of ${MALFORMED.length} malformed requests; REQUEST_BODY_TIMEOUT_SECONDS ${o.bodyTimeout ?? '(default)'}`,
  );
  type Run = readonly [string, (d: string, o: Options) => Promise<{ text: string; verdict: string }>];
  const runs: Run[] = [['owners', ownersRun], ...(o.embedded ? [['embedded', embeddedRun] as Run] : [])];
  const verdicts: string[] = [];
  for (const [name, fn] of runs) {
    const d = join(dir, name);
    mkdirSync(d);
    const r = await fn(d, o);
    console.log(`\n${r.text}`);
    verdicts.push(r.verdict);
  }
  console.log('');
  for (const v of verdicts) console.log(`soak ${v}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`bench:soak failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
