/**
 * `switchboard contract run CAP`, `contract record CAP`, `contract list`:
 * the contract runner's command line (switchboard/contract/). Results go to
 * STATE_DIR/contracts/<CAP>.json, where the `contract` gate reads them.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import YAML from 'yaml';
import { writeFileAtomic } from '../../lib/files.js';
import { SwitchboardError } from '../errors.js';
import { redactUrl } from '../../lib/log.js';
import { readContractResult, writeContractResult } from '../contract/result-file.js';
import { loadSequences, parseSequenceFile, recordedDir, shippedCapabilities, type Sequence } from '../contract/sequence.js';
import { readIdentities, runContract, type ContractResult, type Identity } from '../contract/runner.js';
import { args, configPath, EXIT_FAIL, EXIT_OK, json, loadSnapshot, resolveIn, table, usageFor, type Io } from './common.js';

export const CONTRACT_USAGE = `Usage: switchboard contract run CAPABILITY [options]
       switchboard contract record CAPABILITY --access-log FILE [--limit N] [options]
       switchboard contract list [options]

run     Replays the capability's request sequences (shipped ones, and those recorded
        into STATE_DIR/contracts/recorded/) as every identity of
        SWITCHBOARD.CONTRACT.IDENTITIES_FILE, against python twice and go once
        (SWITCHBOARD.UPSTREAMS), and compares status, an allow-list of headers and
        the normalized body. What differs between python's own two answers is
        noise, not a regression. The result goes to STATE_DIR/contracts/CAP.json
        (the "contract" cutover gate). Exit 0 when go matches, 1 when it does not.
record  Adds the capability's safe requests (GET, HEAD) from a switchboard access
        log (SWITCHBOARD.ACCESS_LOG) as sequences of their own (at most --limit
        new paths, default 20).
list    The capabilities with sequences, and their last result.

Options:
  --config FILE      config.yaml (default $SWITCHBOARD_CONFIG, else ./config.yaml)
  --access-log FILE  record: the access log to read
  --limit N          record: new paths to add (default 20)
  --json             print the result as JSON
  -h, --help         this help

Progress goes to stderr, one line per compared request.
`;

/** Accept header sent with recorded manifest requests: what registry clients send. */
const MANIFEST_ACCEPT =
  'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json';

export async function contractCommand(argv: string[], io: Io): Promise<number> {
  const a = args(argv, { config: { type: 'string' }, 'access-log': { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } }, CONTRACT_USAGE);
  if (a.values.help) {
    io.out(usageFor(CONTRACT_USAGE, a.positionals[0]));
    return EXIT_OK;
  }
  const [sub, cap, ...extra] = a.positionals;
  if (extra.length) throw new SwitchboardError('SWB_CLI_USAGE', `unexpected ${extra.join(' ')}\n\n${CONTRACT_USAGE}`);
  const file = configPath(a.values.config as string | undefined, io);
  const { snapshot, stateDir, inventory } = loadSnapshot(file, io);
  const known = (c: string | undefined): string => {
    if (!c) throw new SwitchboardError('SWB_CLI_USAGE', `give a capability\n\n${CONTRACT_USAGE}`);
    if (!inventory.capabilities.includes(c)) throw new SwitchboardError('SWB_CLI_USAGE', `unknown capability ${c}`);
    return c;
  };
  if (sub === 'list') {
    const caps = [...new Set([...shippedCapabilities(), ...(existsSync(recordedDir(stateDir)) ? shippedCapabilities(recordedDir(stateDir)) : [])])].sort();
    const rows = caps.map((c) => {
      const r = readContractResult(stateDir, c);
      return {
        capability: c,
        sequences: loadSequences(c, stateDir).length,
        last: r ? { at: new Date(r.at).toISOString(), passed: r.passed, differences: r.differences, noise: r.noise } : null,
      };
    });
    if (a.values.json) json(io, rows);
    else
      io.out(
        table([
          ['CAPABILITY', 'SEQUENCES', 'LAST RUN', 'RESULT'],
          ...rows.map((r) => [r.capability, String(r.sequences), r.last?.at ?? 'never', r.last ? (r.last.passed ? 'pass' : `FAIL (${r.last.differences} differences)`) : '']),
        ]),
      );
    return EXIT_OK;
  }
  if (sub === 'record') {
    const c = known(cap);
    const log = a.values['access-log'] as string | undefined;
    if (!log) throw new SwitchboardError('SWB_CLI_USAGE', 'record: give --access-log FILE (SWITCHBOARD.ACCESS_LOG of a switchboard)');
    const limit = Number(a.values.limit ?? 20);
    if (!Number.isInteger(limit) || limit < 1) throw new SwitchboardError('SWB_CLI_USAGE', '--limit takes a whole number of paths, 1 or more');
    let text: string;
    try {
      text = readFileSync(resolveIn(io, log), 'utf8');
    } catch (e) {
      throw new SwitchboardError('SWB_CONFIG_UNREADABLE', `cannot read ${log}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const out = join(recordedDir(stateDir), `${c}.yaml`);
    const existing: Sequence[] = existsSync(out) ? parseSequenceFile(readFileSync(out, 'utf8'), out).sequences : [];
    const seen = new Set(existing.map((s) => `${s.steps[0]!.method} ${s.steps[0]!.path}`));
    const added: Sequence[] = [];
    for (const line of text.split('\n')) {
      if (added.length >= limit) break;
      let r: { method?: unknown; path?: unknown; capability?: unknown; status?: unknown };
      try {
        r = JSON.parse(line) as typeof r;
      } catch {
        continue;
      }
      if (r.capability !== c || (r.method !== 'GET' && r.method !== 'HEAD') || typeof r.path !== 'string' || !r.path.startsWith('/') || r.path.startsWith('//')) continue;
      const key = `${r.method} ${r.path}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const manifest = /\/manifests\//.test(r.path);
      added.push({ name: `recorded: ${key}`, steps: [{ method: r.method, path: r.path, ...(manifest ? { headers: { accept: MANIFEST_ACCEPT } } : {}) }] });
    }
    mkdirSync(dirname(out), { recursive: true });
    writeFileAtomic(out, YAML.stringify({ capability: c, sequences: [...existing, ...added] }), 0o644);
    if (a.values.json) json(io, { capability: c, file: out, added: added.length, total: existing.length + added.length });
    else io.out(`${c}: ${added.length} new request${added.length === 1 ? '' : 's'} recorded into ${out} (${existing.length + added.length} in all)`);
    return EXIT_OK;
  }
  if (sub !== 'run')
    throw new SwitchboardError(
      'SWB_CLI_USAGE',
      sub === undefined ? `give a subcommand: run, record or list\n\n${CONTRACT_USAGE}` : `unknown subcommand ${sub} (use run, record or list)`,
    );
  const c = known(cap);
  const ups = snapshot.settings.UPSTREAMS;
  if (!ups?.python || !ups.go) throw new SwitchboardError('SWB_CLI_USAGE', 'contract run needs both SWITCHBOARD.UPSTREAMS.python and .go (the owners it compares)');
  const cfg = snapshot.settings.CONTRACT;
  const identities: Identity[] = cfg?.IDENTITIES_FILE ? readIdentities(resolve(dirname(file), cfg.IDENTITIES_FILE), io.env) : [{ name: 'anonymous' }];
  const sequences = loadSequences(c, stateDir);
  if (sequences.length === 0)
    throw new SwitchboardError('SWB_CLI_USAGE', `no sequences for ${c}: record some from an access log (switchboard contract record ${c} --access-log FILE)`);
  io.err(
    `contract ${c}: ${sequences.length} sequence${sequences.length === 1 ? '' : 's'} × ${identities.length} identit${identities.length === 1 ? 'y' : 'ies'}, python ${redactUrl(ups.python)} (twice) vs go ${redactUrl(ups.go)}`,
  );
  const result = await runContract({
    capability: c,
    sequences,
    identities,
    vars: cfg?.VARS ?? {},
    owners: { python: redactUrl(ups.python), go: redactUrl(ups.go) },
    upstreams: { python: ups.python, go: ups.go },
    timeoutMs: (cfg?.TIMEOUT_SECONDS ?? 30) * 1000,
    ...(cfg?.HOST ? { host: cfg.HOST } : {}),
    progress: (l) => io.err(`  ${l}`),
  });
  writeContractResult(stateDir, result);
  if (a.values.json) json(io, result);
  else {
    io.out(
      `${c}: ${result.passed ? 'PASS' : 'FAIL'} — ${result.sequences} sequence${result.sequences === 1 ? '' : 's'}, ${result.requests} requests, ${result.differences} difference${result.differences === 1 ? '' : 's'}, ${result.noise} noise${result.skipped.length ? `, ${result.skipped.length} skipped (unset variables: ${[...new Set(result.skipped.flatMap((s) => s.missing))].join(', ')})` : ''}`,
    );
    for (const f of result.findings.filter((x) => x.regressions.length))
      for (const d of f.regressions) io.out(`  ${f.identity}  ${f.method} ${f.path}  ${d.where}: python ${JSON.stringify(d.python)} go ${JSON.stringify(d.go)}`.slice(0, 400));
  }
  return result.passed ? EXIT_OK : EXIT_FAIL;
}
