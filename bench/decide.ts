/**
 * Benchmark: ns per owner decision (DESIGN §3, §8).
 *
 *   npm run bench:decide
 *
 * Decides a deterministic, realistic stream of Quay requests (bench/lib/corpus.ts)
 * against the snapshot built from examples/config.yaml (V2_PULL on a 5% canary,
 * so pulls run the canary selectors, JWT `sub` decoding and murmur2 bucketing).
 *
 * Scenarios, each after a warm-up:
 *   realistic mix    the corpus as generated, with its natural repetition (the headline)
 *   cold             every blob/manifest digest unseen: a flood of distinct paths
 *   per category     the realistic mix split by request kind
 *   where the time   decide() without Authorization headers (same owners for this config), the
 *   goes             route table's match() with its cache (quay/router uses it; decide() walks the
 *                    trie) and the walk alone, and bearer-JWT user decoding alone
 *
 * Every timed call gets a request object built just before its batch (untimed)
 * whose path is a new string decoded from bytes, as node:http delivers it: a
 * reused string keeps its hash cached, which would flatter the match cache.
 *
 * This is a report, not a test: it exits 0 whether the target is met or not.
 */
import { readFileSync, existsSync } from 'node:fs';
import { cpus, arch, platform } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { loadInventory } from '../owner-maps/index.js';
import { parseConfig, formatIssue } from '../switchboard/config/parse.js';
import { buildSnapshot, type Snapshot } from '../switchboard/core/snapshot.js';
import { RouteTable } from '../owner-maps/route-table.js';
import { decide } from '../switchboard/core/decide.js';
import { userFromAuthorization } from '../switchboard/core/subject.js';
import type { Decision, DecisionRequest } from '../switchboard/core/types.js';
import { CATEGORIES, freshRequest, generateCorpus, type Category, type CorpusRequest } from './lib/corpus.js';
import { runBatches, summarize, table, timeMs, type Summary } from './lib/measure.js';

const TARGET_NS = 300;
const BATCH = 256;
const SEED = 0x5eed;
const CORPUS_SIZE = 1 << 17;
const FIRST_WARMUP_MS = 500;
const WARMUP_MS = 150;
const HEADLINE_MS = 1500;
const COLD_MS = 1000;
const CATEGORY_MS = 250;
const COMPONENT_MS = 250;

// A full GC before each timed run, so one scenario's garbage is not collected on the next one's clock.
setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;

function locate(rel: string): string {
  // Source tree (bench/decide.ts via tsx) and build tree (dist/bench/decide.js) both find it.
  for (const up of ['../', '../../']) {
    const p = fileURLToPath(new URL(up + rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error(`${rel} not found from ${fileURLToPath(import.meta.url)}`);
}

const fmtNs = (ns: number): string => (ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
const fmtMs = (ms: number): string => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
const pct = (n: number, of: number): string => `${((100 * n) / of).toFixed(1)}%`;

// ---------------------------------------------------------------- setup

const inventory = timeMs(() => loadInventory());
const inv = inventory.value;

const configFile = locate('examples/config.yaml');
const configText = readFileSync(configFile, 'utf8');
const parsed = timeMs(() => parseConfig(configText, configFile, inv, {}));
if (!parsed.value.ok) {
  for (const i of parsed.value.issues) console.error(formatIssue(i));
  throw new Error(`${configFile} does not parse`);
}
const config = parsed.value.config;
const librarySupport = config.quay.FEATURE_LIBRARY_SUPPORT;

const compileFirst = timeMs(() => RouteTable.compile(inv.routes, { librarySupport }));
let compileBest = Infinity;
for (let i = 0; i < 10; i++) compileBest = Math.min(compileBest, timeMs(() => RouteTable.compile(inv.routes, { librarySupport })).ms);
const snapFirst = timeMs(() => buildSnapshot(inv, config, 1, new Date(0)));
const snapshot: Snapshot = snapFirst.value;
let snapRebuildBest = Infinity;
for (let i = 0; i < 10; i++) snapRebuildBest = Math.min(snapRebuildBest, timeMs(() => buildSnapshot(inv, config, 2 + i, new Date(0))).ms);

const gen = timeMs(() => generateCorpus({ seed: SEED, requests: CORPUS_SIZE, namespaces: 300, repos: 2000, uniqueDigests: false }));
const corpus = gen.value;
const cold = generateCorpus({ seed: SEED + 1, requests: CORPUS_SIZE / 2, namespaces: 300, repos: 2000, uniqueDigests: true });

// ---------------------------------------------------------------- corpus check (untimed)

// Every category must land on the rows it is meant to exercise: a generator
// bug that sent pulls to "unknown route" would make the numbers meaningless.
const EXPECT: Record<Category, (d: Decision) => boolean> = {
  blob: (d) => d.route_id === 'ROUTE_0010' || d.route_id === 'ROUTE_0011',
  manifest: (d) => d.route_id === 'ROUTE_0013' || d.route_id === 'ROUTE_0016',
  'v2-misc': (d) => d.capability === 'V2_BASE' || d.capability === 'V2_AUTH' || d.capability === 'V2_TAGS',
  upload: (d) => d.capability === 'V2_UPLOAD' || d.capability === 'V2_PUSH',
  api: (d) => d.family === 'API_V1' && d.route_id !== null,
  web: (d) => d.family !== 'REGISTRY_V2' || d.route_id === null || d.capability === 'V2_CATALOG',
};

function check(snap: Snapshot, items: readonly CorpusRequest[]): { owners: Record<'python' | 'go', number>; reasons: Map<string, number> } {
  const reasons = new Map<string, number>();
  const owners = { python: 0, go: 0 };
  const bad: string[] = [];
  for (const r of items) {
    const { category } = r;
    const req = freshRequest(r);
    const d = decide(snap, req);
    if (!EXPECT[category](d) && bad.length < 5) bad.push(`${category}: ${req.method} ${req.path} → ${d.route_id ?? 'unknown'} (${d.reason})`);
    owners[d.owner]++;
    reasons.set(d.reason, (reasons.get(d.reason) ?? 0) + 1);
  }
  if (bad.length > 0) throw new Error(`corpus check failed:\n  ${bad.join('\n  ')}`);
  return { owners, reasons };
}

// ---------------------------------------------------------------- measurement

let sink = 0;

/**
 * Warm-up, then timed batches. Every batch decides request objects built just
 * before it (untimed) with new path strings, as the proxy would pass them.
 */
function measure(items: readonly CorpusRequest[], op: (r: DecisionRequest) => number, ms: number, warmMs = WARMUP_MS): Summary {
  sink += runBatches(items, freshRequest, op, BATCH, warmMs).sink;
  fullGc();
  const s = runBatches(items, freshRequest, op, BATCH, ms);
  sink += s.sink;
  return summarize(s);
}
const decideOn =
  (snap: Snapshot) =>
  (r: DecisionRequest): number =>
    decide(snap, r).owner.length;

// The realistic snapshot is measured first and alone, so decide() is only ever
// specialized for the real snapshot's shape while the headline is taken.
const { owners, reasons } = check(snapshot, corpus.requests);
const realistic = measure(corpus.requests, decideOn(snapshot), HEADLINE_MS, FIRST_WARMUP_MS);
const perCategory = CATEGORIES.map((c) => {
  const items = corpus.byCategory.get(c)!;
  return { c, n: items.length, s: measure(items, decideOn(snapshot), CATEGORY_MS) };
});

check(snapshot, cold.requests);
const coldSummary = measure(cold.requests, decideOn(snapshot), COLD_MS, 300);

// Where the time goes: the parts of decide(), called directly on the same requests.
// What-if first: the same mix with no Authorization headers. For this config
// every canary request has a namespace subject and no user list is set, so the
// owners are identical; the difference is what decoding bearer JWTs costs.
const noAuth: CorpusRequest[] = corpus.requests.map((r) => ({ ...r, req: { ...r.req, authorization: undefined } }));
const noAuthCheck = check(snapshot, noAuth);
const sameOwners = noAuthCheck.owners.go === owners.go && noAuthCheck.owners.python === owners.python;
const table0 = snapshot.owner_map.table;
const pulls = [...corpus.byCategory.get('blob')!, ...corpus.byCategory.get('manifest')!];
const components = [
  { name: `decide, Authorization removed (${sameOwners ? 'same owners' : 'OWNERS DIFFER'})`, s: measure(noAuth, decideOn(snapshot), COMPONENT_MS) },
  { name: 'route match(), cache on (realistic mix)', s: measure(corpus.requests, (r) => (table0.match(r.method, r.path) ? 1 : 0), COMPONENT_MS) },
  { name: 'route matchUncached(), trie walk (realistic mix)', s: measure(corpus.requests, (r) => (table0.matchUncached(r.method, r.path) ? 1 : 0), COMPONENT_MS) },
  { name: 'userFromAuthorization (blob+manifest)', s: measure(pulls, (r) => (userFromAuthorization(r.authorization) ?? '').length, COMPONENT_MS) },
];

// Harness overhead: the same loop with a trivial operation, measured last, when
// the loop's call site has seen every operation (an upper bound).
const overhead = measure(corpus.requests, (r) => r.path.length, 200);

// Match-cache hit rate in steady state, on a separate counting table (after all
// timing, so the patched instance never touches measured code): two passes to
// fill the cache, then count the trie walks of a third.
const countTable = RouteTable.compile(inv.routes, { librarySupport });
const walk = countTable.matchUncached.bind(countTable);
let walks = 0;
Object.defineProperty(countTable, 'matchUncached', {
  value: (m: string, p: string) => {
    walks++;
    return walk(m, p);
  },
});
for (let pass = 0; pass < 3; pass++) {
  if (pass === 2) walks = 0;
  for (const { req } of corpus.requests) sink += countTable.match(req.method, req.path) ? 1 : 0;
}
const hitRate = 1 - walks / corpus.requests.length;

// ---------------------------------------------------------------- report

const cpu = cpus()[0]?.model?.trim() || 'unknown';
const lines: string[] = [];
lines.push('bench/decide — ns per owner decision (DESIGN §3, §8)');
lines.push(`node ${process.version} ${platform()}/${arch()}, ${cpus().length} × ${cpu}`);
lines.push(`routes: ${inv.routes.length}   inventory load ${fmtMs(inventory.ms)}   route table compile ${fmtMs(compileFirst.ms)} first, ${fmtMs(compileBest)} warm`);
lines.push(
  `config: ${configFile.replace(process.cwd() + '/', '')}   parse ${fmtMs(parsed.ms)}   snapshot build ${fmtMs(snapFirst.ms)} first (compiles its table), ${fmtMs(snapRebuildBest)} rebuild (table reused)`,
);
lines.push(
  `corpus: ${corpus.requests.length} requests (seed 0x${SEED.toString(16)}), ${corpus.uniquePaths} distinct method+path (${pct(corpus.uniquePaths, corpus.requests.length)}), generated in ${fmtMs(gen.ms)}`,
);
lines.push(`        ${CATEGORIES.map((c) => `${c} ${pct(corpus.byCategory.get(c)!.length, corpus.requests.length)}`).join(', ')}`);
const total = corpus.requests.length;
lines.push(`owners: go ${pct(owners.go, total)}, python ${pct(owners.python, total)}   match() cache (not used by decide): ${(hitRate * 100).toFixed(1)}% hits in steady state`);
lines.push(
  `reasons: ${[...reasons]
    .sort((a, b) => b[1] - a[1])
    .map(([r, n]) => `${r} ${pct(n, total)}`)
    .join(', ')}`,
);
lines.push(`timing: batches of ${BATCH} requests with new path strings, median/p99 over batches; harness overhead ${overhead.medianNs.toFixed(1)} ns/call (included)`);
lines.push('');

const header = ['scenario', 'share', 'batches', 'median', 'p99', 'mean', 'calls/s'];
const row = (name: string, share: string, s: Summary): string[] => [
  name,
  share,
  String(s.batches),
  fmtNs(s.medianNs),
  fmtNs(s.p99Ns),
  fmtNs(s.meanNs),
  `${(1e3 / s.meanNs).toFixed(2)} M`,
];
const rows: string[][] = [header];
rows.push(row('realistic mix', '100%', realistic));
rows.push(row('cold: every digest unseen', '100%', coldSummary));
for (const { c, n, s } of perCategory) rows.push(row(`  ${c}`, pct(n, total), s));
rows.push(['where the time goes (per call)', '', '', '', '', '', '']);
for (const { name, s } of components) rows.push(row(`  ${name}`, '', s));
lines.push(table(rows, [false, true, true, true, true, true, true]));
lines.push('');
lines.push(`(sink ${sink})`);
const pass = realistic.medianNs < TARGET_NS;
lines.push(`decide: median ${realistic.medianNs.toFixed(0)} ns/decision (target < ${TARGET_NS} ns) — ${pass ? 'PASS' : 'FAIL'}`);
console.log(lines.join('\n'));
