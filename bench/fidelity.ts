/**
 * Fidelity report: the TS runtime (`quay serve`) against real Python Quay,
 * both on one database and one storage, per /v2 capability.
 *
 *   npm run fidelity                 (builds, then runs node dist/bench/fidelity.js)
 *   npm run fidelity -- --json       (one JSON document on stdout)
 *   npm run fidelity -- --only auth-users,cross-pull
 *
 * It starts real Quay (../shared/quay-python, $QUAY_PYTHON_DIR: Quay's own
 * source with initdb's test data) and `quay serve` on Quay's config.yaml, runs
 * the contract sequences of registryd/test/contract against both — the same
 * runner, expectation table and judge as registryd/test/contract/quay-oracle.test.ts
 * — and prints, per capability, how many sequences and steps ran, how many
 * came back identical, how many differ as expectations-quay.ts lists
 * (deliberate, bug, tier), how many differ otherwise, and the cross-reads
 * proven in each direction (written through one side, read back through the
 * other). Progress goes to stderr.
 *
 * Unlike the benchmarks beside it this is a check: it exits 1 when a
 * difference is not in the table or a listed one no longer occurs (the table
 * is stale), 2 on bad arguments or when the tier cannot start, 0 otherwise.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const USAGE = `Usage: npm run fidelity -- [--json] [--only SEQ[,SEQ...]] [--list]

Runs the /v2 contract sequences against real Python Quay and the TS runtime
(quay serve) sharing Quay's database and storage, and prints per capability:
sequences run, steps, identical, listed deviations, unlisted deviations and
cross-reads proven in each direction.

  --json         one JSON document on stdout instead of the table
  --only IDS     run only these sequences (comma-separated ids; see --list)
  --list         list the sequences and exit
  --api-only     only the /api/v1 sweep (every GET row as 11 identities)
  --no-api       only the /v2 sequences
  -h, --help     this text

Exit status: 0 all differences listed and none stale; 1 an unlisted or a stale
difference; 2 bad arguments, or the tier could not start (real Quay missing:
see ../shared/quay-python/RECIPE.md, or set QUAY_PYTHON_DIR).
`;

interface Options {
  readonly api: 'both' | 'only' | 'none';
  readonly json: boolean;
  readonly only: readonly string[] | null;
  readonly list: boolean;
}

function parseArgs(argv: readonly string[]): Options | string {
  let json = false;
  let list = false;
  let only: string[] | null = null;
  let api: Options['api'] = 'both';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') return USAGE;
    else if (a === '--json') json = true;
    else if (a === '--list') list = true;
    else if (a === '--api-only') api = 'only';
    else if (a === '--no-api') api = 'none';
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a === '--only' ? argv[++i] : a.slice('--only='.length);
      if (!v) return `--only needs sequence ids\n\n${USAGE}`;
      only = v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
    } else return `unknown argument ${a}\n\n${USAGE}`;
  }
  return { json, only, list, api: only ? 'none' : api };
}

/** The checkout: where package.json and bin/quay.js are, from bench/ or dist/bench/. */
function checkout(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'bin', 'quay.js'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('no checkout above this file');
    dir = up;
  }
  return dir;
}

/** Teardowns of what the run started (Quay and its redis, the TS runtime, temp dirs), run once, last first. */
class Teardowns {
  private readonly fns: (() => unknown)[] = [];
  private done = false;
  teardown(fn: () => unknown): void {
    this.fns.push(fn);
  }
  async run(): Promise<void> {
    if (this.done) return;
    this.done = true;
    for (const fn of this.fns.reverse()) {
      try {
        await fn();
      } catch {
        /* best effort */
      }
    }
  }
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  if (typeof opts === 'string') {
    const help = opts === USAGE;
    (help ? process.stdout : process.stderr).write(opts);
    return help ? 0 : 2;
  }
  // The fixture finds the recipe beside the checkout; from dist/ it would look beside dist/.
  const recipe = join(checkout(), '..', 'shared', 'quay-python');
  if (!process.env.QUAY_PYTHON_DIR && existsSync(recipe)) process.env.QUAY_PYTHON_DIR = recipe;
  const { ALL_SEQUENCES } = await import('../registryd/test/contract/all-sequences.js');
  const { appliesTo } = await import('../registryd/test/contract/runner.js');
  let sequences = ALL_SEQUENCES.filter((s) => appliesTo(s, 'quay'));
  if (opts.list) {
    process.stdout.write(sequences.map((s) => `${s.id.padEnd(26)} ${s.title}\n`).join(''));
    return 0;
  }
  if (opts.only) {
    const unknown = opts.only.filter((id) => !sequences.some((s) => s.id === id));
    if (unknown.length > 0) {
      process.stderr.write(`unknown sequence ids: ${unknown.join(', ')} (--list shows them)\n`);
      return 2;
    }
    sequences = sequences.filter((s) => opts.only!.includes(s.id));
  }
  const { runFidelity, formatFidelity } = await import('../registryd/test/contract/fidelity.js');
  const { startQuayTier } = await import('../registryd/test/contract/quay-tier.js');
  const progress = (line: string): void => {
    process.stderr.write(`fidelity: ${line}\n`);
  };
  const t = new Teardowns();
  const stop = (): void => {
    void t.run().then(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    let tier;
    try {
      tier = await startQuayTier(t, { progress });
    } catch (e) {
      process.stderr.write(`fidelity: the tier did not start: ${(e as Error).message}\n`);
      return 2;
    }
    let failed = false;
    const docs: Record<string, unknown> = {};
    if (opts.api !== 'only') {
      const report = await runFidelity(tier, sequences, progress, opts.only === null);
      docs.v2 = report;
      if (!opts.json) process.stdout.write(formatFidelity(report));
      failed ||= report.unlisted.length > 0 || report.stale.length > 0;
    }
    if (opts.api !== 'none') {
      const { runApiFidelity, formatApiFidelity } = await import('./lib/api-fidelity.js');
      const report = await runApiFidelity(t, progress);
      docs.api = report;
      if (!opts.json) process.stdout.write(formatApiFidelity(report));
      failed ||= report.unlisted.length > 0;
    }
    if (opts.json) process.stdout.write(`${JSON.stringify(docs, null, 2)}\n`);
    return failed ? 1 : 0;
  } finally {
    await t.run();
  }
}

process.exitCode = await main();
