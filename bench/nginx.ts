/**
 * bench/nginx — what the rendered front door's owner decision costs nginx:
 * `switchboard nginx render` output against a plain nginx proxy_pass, same
 * upstream, same run.
 *
 *   npm run bench:nginx            (needs nginx and wrk: apt-get install -y nginx-light wrk)
 *
 * Both fronts are nginx with one worker, pinned to their own core when there
 * are two; the upstream is nginx `return 200` (so the front is the bottleneck).
 * Paths: a canary pull on /v2 (dispatch, row regexes, split_clients), the
 * last API row of the largest path group (the longest regex scan before the
 * dispatch on the last two segments), and a path no row matches (the rows
 * with parameters, then the family fallback). Both fronts run with
 * `pcre_jit on;`, as the rendered nginx.conf does.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { children, columns, freePort, plainProxyPass, nginxBin, startBenchNginx, taskset, waitFor, wrk, wrkBin, type WrkResult } from './lib/procs.js';
import { loadInventory } from '../owner-maps/index.js';
import { parseConfig } from '../switchboard/config/parse.js';
import { buildSnapshot } from '../switchboard/core/snapshot.js';
import { decide } from '../switchboard/core/decide.js';
import { parsePattern } from '../owner-maps/route-pattern.js';
import { samplePath } from '../owner-maps/route-table.js';
import { renderNginx } from '../switchboard/nginx/render.js';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
if (!nginxBin || !wrkBin) {
  console.error('bench:nginx needs nginx and wrk: apt-get install -y nginx-light wrk');
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'swb-bench-nginx-'));
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

// As the rendered nginx.conf: regexes compiled to machine code (no effect on the plain front, which has none).
const MAIN = 'pcre_jit on;';

function startNginx(name: string, http: string, cpu: string | null, main = ''): ChildProcess {
  return startBenchNginx(dir, name, http, cpu, main);
}

async function main(): Promise<void> {
  const upPort = await freePort();
  const plainPort = await freePort();
  const frontPort = await freePort();
  startNginx(
    'upstream',
    `server { listen 127.0.0.1:${upPort} backlog=4096; location / { default_type application/json; return 200 '${'x'.repeat(512)}'; } }`,
    taskset ? '0' : null,
  );

  const inv = loadInventory();
  const yaml = `MIGRATION:
  ROUTE_OWNER_DEFAULT: python
  ROUTE_OWNER_FAMILY_REGISTRY_V2: go
  ROUTE_OWNER_CAP_V2_PULL: canary
  ROUTE_CANARY_CAP_V2_PULL_PERCENT: 5
  ROUTE_CANARY_ORGS: [test-org]
  ROUTE_OWNER_FAMILY_API_V1: go
SWITCHBOARD:
  UPSTREAMS: {python: "http://127.0.0.1:${upPort}", go: "http://127.0.0.1:${upPort}"}
  ACCESS_LOG: "off"
`;
  const parsed = parseConfig(yaml, 'bench.yaml', inv, {});
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const snapshot = buildSnapshot(inv, parsed.config, 1, new Date());
  const rendered = renderNginx(snapshot, { part: 'http', listen: `127.0.0.1:${frontPort}`, accessLog: 'off' });
  // The last API row of the largest group (the longest scan before the dispatch).
  const biggest = [...rendered.model.groups].sort((a, b) => b.entries.length - a.entries.length)[0]!;
  const idOf = (v: string): string | undefined => /^ROUTE_\d{4}$/.exec(v)?.[0];
  const lastRow = [...biggest.entries].reverse().find((e) => {
    const id = idOf(e.value);
    return id !== undefined && inv.byId.get(id)!.family === 'API_V1';
  })!;
  const lastId = idOf(lastRow.value)!;
  const lastRoute = inv.byId.get(lastId)!;

  startNginx('plain', plainProxyPass(`127.0.0.1:${upPort}`, plainPort), taskset ? '1' : null, MAIN);
  startNginx('front', rendered.text, taskset ? '1' : null, MAIN);
  await waitFor(`http://127.0.0.1:${plainPort}/v2/`);
  await waitFor(`http://127.0.0.1:${frontPort}/v2/`);

  const paths: [string, string, string][] = [
    ['canary pull', 'GET', '/v2/acme/web/manifests/latest'],
    [`last row of /${biggest.segment} (${lastId})`, lastRoute.method, samplePath(parsePattern(lastRoute.pattern, lastRoute.id))],
    ['no row matches', 'GET', '/api/v1/no/such/thing'],
  ];
  console.log('bench/nginx — the rendered front door vs plain nginx proxy_pass, same upstream, same run');
  console.log(
    `${cpus().length} × ${cpus()[0]?.model ?? '?'}; ${taskset ? 'fronts pinned to cpu 1; wrk and upstream on cpu 0' : 'no CPU pinning'}; wrk -t1 -c${CONNECTIONS}, ${DURATION}s per front in alternating halves`,
  );
  console.log(
    `rendered: ${rendered.model.summary.join('; ')}; ${[...rendered.model.groups, rendered.model.otherGroup].reduce((n, g) => n + g.entries.length, 0)} map entries in ${rendered.model.groups.length + 1} groups`,
  );
  console.log('');
  const rows: string[][] = [['request', 'decide() says', 'front door req/s', 'plain nginx req/s', 'ratio', 'p99 front', 'p99 plain']];
  const ratios: number[] = [];
  for (const [label, method, path] of paths) {
    const d = decide(snapshot, { method, path, clientAddress: '127.0.0.1' });
    const extra = method === 'GET' ? [] : ['-s', join(dir, `${method}.lua`)];
    if (method !== 'GET') writeFileSync(join(dir, `${method}.lua`), `wrk.method = "${method}"\n`);
    const run = (port: number, secs: number): WrkResult => wrk(`http://127.0.0.1:${port}${path}`, secs, CONNECTIONS, extra);
    run(frontPort, 2);
    run(plainPort, 2);
    const f: WrkResult[] = [];
    const p: WrkResult[] = [];
    for (let i = 0; i < 2; i++) {
      p.push(run(plainPort, DURATION / 2));
      f.push(run(frontPort, DURATION / 2));
    }
    const avg = (xs: WrkResult[], k: 'rps' | 'p99ms'): number => xs.reduce((x, y) => x + y[k], 0) / xs.length;
    const ratio = avg(f, 'rps') / avg(p, 'rps');
    ratios.push(ratio);
    rows.push([
      `${label}: ${method} ${path}`,
      `${d.owner} (${d.reason})`,
      avg(f, 'rps').toFixed(0),
      avg(p, 'rps').toFixed(0),
      `${ratio.toFixed(2)}×`,
      `${avg(f, 'p99ms').toFixed(2)} ms`,
      `${avg(p, 'p99ms').toFixed(2)} ms`,
    ]);
  }
  console.log(columns(rows));
  console.log('');
  console.log(`verdict: the rendered front door runs at ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}× plain nginx's requests/s`);
}

await main();
process.exit(0);
