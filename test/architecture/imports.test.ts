/**
 * The import rules of the code base, read from the sources by
 * scripts/package-graph.mjs (the same graph `node scripts/package-graph.mjs`
 * prints): no cycle between packages (directories), each component imports
 * only the components below it, and within a component no package imports one
 * above it. Tests are outside the graph.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../lib/proc.js';

interface Graph {
  readonly packages: readonly { readonly package: string; readonly imports: readonly { readonly package: string; readonly files: readonly string[] }[] }[];
  readonly cycles: readonly { readonly packages: readonly string[] }[];
}

function graph(level: 'package' | 'component'): Graph {
  return JSON.parse(execFileSync(process.execPath, [join(ROOT, 'scripts/package-graph.mjs'), '--json', `--level=${level}`], { encoding: 'utf8' })) as Graph;
}

/** What each component may import: the layers, bottom up. The go side's composition root (quay) may import everything. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  lib: [],
  native: [],
  'owner-maps': ['lib'],
  switchboard: ['lib', 'owner-maps', 'native'],
  dal: ['lib'],
  domain: ['lib', 'dal'],
  storage: ['lib', 'domain'],
  registryd: ['lib', 'native', 'owner-maps', 'dal', 'domain', 'storage'],
  api: ['lib', 'owner-maps', 'dal', 'domain', 'storage'],
  // decideWorker on the live snapshot: the one thing the go side takes from the switchboard.
  workers: ['lib', 'owner-maps', 'dal', 'domain', 'storage', 'switchboard'],
  quay: ['lib', 'native', 'owner-maps', 'switchboard', 'dal', 'domain', 'storage', 'registryd', 'api', 'workers'],
};

/** Within a component, the packages bottom up: a package imports only packages on lower rungs. */
const RUNGS: Readonly<Record<string, readonly (readonly string[])[]>> = {
  switchboard: [
    ['switchboard'],
    ['switchboard/config'],
    ['switchboard/core'],
    ['switchboard/snapshots'],
    ['switchboard/contract'],
    ['switchboard/nginx', 'switchboard/proxy', 'switchboard/control'],
    ['switchboard/admin'],
    ['switchboard/cli'],
  ],
  registryd: [['registryd/oci', 'registryd/metrics', 'registryd/content', 'registryd/upload'], ['registryd/auth'], ['registryd/service'], ['registryd/http'], ['registryd']],
  lib: [['lib/passwords'], ['lib']],
  dal: [['dal/schema', 'dal/model'], ['dal/sqlite', 'dal/postgres', 'dal/portable'], ['dal']],
  api: [['api/wire'], ['api/auth'], ['api/call'], ['api/resources'], ['api/http'], ['api']],
  domain: [['domain'], ['domain/auth']],
};

t.test('no cycle between packages or components', async (t) => {
  for (const level of ['package', 'component'] as const) {
    t.same(
      graph(level).cycles.map((c) => c.packages.join(' <-> ')),
      [],
      `${level} level: run node scripts/package-graph.mjs --level=${level} to see the imports that close each cycle`,
    );
  }
});

t.test('each component imports only the components below it', async (t) => {
  const g = graph('component');
  for (const p of g.packages) {
    const allowed = ALLOWED[p.package];
    if (!allowed) {
      t.fail(`${p.package}: a component the rules do not know; add it to ALLOWED`);
      continue;
    }
    for (const i of p.imports)
      t.ok(allowed.includes(i.package), `${p.package} -> ${i.package}${allowed.includes(i.package) ? '' : `: not allowed (${i.files.slice(0, 3).join('; ')})`}`);
  }
});

t.test('within a component, no package imports one above it', async (t) => {
  const g = graph('package');
  for (const [component, rungs] of Object.entries(RUNGS)) {
    const rung = new Map(rungs.flatMap((names, i) => names.map((n) => [n, i] as const)));
    for (const p of g.packages.filter((x) => x.package === component || x.package.startsWith(`${component}/`))) {
      const mine = rung.get(p.package);
      if (mine === undefined) {
        t.fail(`${p.package}: not placed on a rung of ${component}; add it to RUNGS`);
        continue;
      }
      for (const i of p.imports) {
        const theirs = rung.get(i.package);
        if (theirs === undefined) continue; // another component: the rule above
        t.ok(theirs < mine, `${p.package} -> ${i.package}${theirs < mine ? '' : `: upward or sideways (${i.files.slice(0, 3).join('; ')})`}`);
      }
    }
  }
});

t.test('the rules can fail: a graph with a cycle and an upward import is caught', async (t) => {
  // The same checks over a made-up graph, so a rule that passes is known to be able to fail.
  const fake: Graph = { packages: [{ package: 'switchboard', imports: [{ package: 'registryd', files: ['x'] }] }], cycles: [{ packages: ['a', 'b'] }] };
  t.notOk(ALLOWED.switchboard!.includes(fake.packages[0]!.imports[0]!.package), 'switchboard -> registryd is refused');
  t.equal(fake.cycles.length, 1);
  const rungs = RUNGS.switchboard!;
  const at = (n: string): number => rungs.findIndex((r) => r.includes(n));
  t.ok(at('switchboard/core') < at('switchboard/cli'), 'cli may import core');
  t.notOk(at('switchboard/cli') < at('switchboard/control'), 'control may not import cli');
});
