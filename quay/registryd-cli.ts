/**
 * `registryd serve --data-dir DIR [--listen HOST:PORT]`: the go runtime in
 * mirror mode with its presets (`quay serve --mode mirror` without TLS or an
 * admin listener), kept for the scripts that run it by that name.
 * Exit codes: 0 after a clean shutdown, 2 on a usage error, 1 on a failure,
 * 70 on an internal error; errors as `registryd: message [REG_CODE]`.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../lib/log.js';
import { splitHostPort } from '../lib/host-port.js';
import { resolve } from 'node:path';
import { formatProblem, loadQuayConfig } from './config.js';
import { startRuntime } from './runtime.js';
import { openSnapshots } from './snapshots.js';
import { RegError, regCode } from '../domain/errors.js';
import { VERSION } from '../lib/version.js';
import { errorText, internalErrorText, parseArgsMessage, EXIT_FAIL, EXIT_INTERNAL, EXIT_USAGE } from '../lib/cli-errors.js';

export const USAGE = `Usage: registryd serve --data-dir DIR [--listen HOST:PORT] [--stale-upload-hours N]

Serves Quay's /v2 registry API on Quay's table layout (SQLite at DIR/quay.db)
and storage layout (DIR/storage). Anonymous; repositories are created on push.
Upload sessions older than --stale-upload-hours are removed at start and every
hour (Quay's blobuploadcleanupworker). SIGTERM or SIGINT stops accepting
connections and exits once requests finish.

  --data-dir DIR            where the database and blobs live (created if missing)
  --listen HOST:PORT        default 127.0.0.1:5000
  --stale-upload-hours N    default 48 (Quay's BLOBUPLOAD_DELETION_DATE_THRESHOLD, 2 days)
  --version                 print the version`;

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const out = (s: string): void => {
    process.stdout.write(s + '\n');
  };
  const err = (s: string): void => {
    process.stderr.write(s + '\n');
  };
  const usage = (message: string): number => {
    err(errorText('registryd', 'REG_CLI_USAGE', message, USAGE));
    return EXIT_USAGE;
  };
  let values: { 'data-dir'?: string; listen?: string; 'stale-upload-hours'?: string; help?: boolean; version?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'data-dir': { type: 'string' },
        listen: { type: 'string' },
        'stale-upload-hours': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    }));
  } catch (e) {
    return usage(parseArgsMessage(e));
  }
  if (values.version) {
    out(VERSION);
    return 0;
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  if (positionals.length === 0) {
    // The usage on stdout, as for --help; the error line (and exit 2) say it was not asked for.
    err(errorText('registryd', 'REG_CLI_USAGE', 'give a command: serve'));
    out(USAGE);
    return EXIT_USAGE;
  }
  if (positionals[0] !== 'serve') return usage(`unknown command ${positionals[0]} (use serve)`);
  if (positionals.length !== 1) return usage('serve takes no arguments');
  if (!values['data-dir']) return usage('serve needs --data-dir DIR');
  let listen: { host: string; port: number };
  try {
    listen = splitHostPort(values.listen ?? '127.0.0.1:5000');
  } catch {
    return usage(`--listen ${values.listen} is not HOST:PORT`);
  }
  const staleHours = Number(values['stale-upload-hours'] ?? 48);
  if (!(staleHours > 0)) return usage('--stale-upload-hours must be a positive number');
  try {
    return await serve(resolve(values['data-dir']), listen, staleHours);
  } catch (e) {
    const code = regCode(e);
    if (code !== null) {
      err(errorText('registryd', code, (e as Error).message));
      return EXIT_FAIL;
    }
    err(internalErrorText('registryd', 'REG_INTERNAL', e, env));
    return EXIT_INTERNAL;
  }
}

async function serve(dataDir: string, listen: { host: string; port: number }, staleHours: number): Promise<number> {
  const log = createLogger({ component: 'registryd' });
  // The quay runtime in mirror mode with its presets (anonymous, SQLite, local storage), plain HTTP, no admin listener.
  const cfg = loadQuayConfig('', { mode: 'mirror', dataDir });
  if (!cfg.ok) throw new RegError('REG_CONFIG_INVALID', `mirror-mode presets:\n${cfg.problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
  // No config file: no MIGRATION section, so the stale-upload clean-up is given to go here (nothing else runs it).
  const snapshots = await openSnapshots({ configFile: undefined, env: { WORKER_OWNER_BLOBUPLOADCLEANUPWORKER: 'go' }, cwd: process.cwd(), log });
  const rt = await startRuntime({ config: cfg.config, log, listen, tls: null, adminListen: null, staleUploadHours: staleHours, metrics: false, snapshots }).catch((e: unknown) => {
    throw new RegError(regCode(e) ?? 'REG_START_FAILED', `cannot start: ${(e as Error).message}`, { cause: e });
  });
  log.info('registryd listening', { listen: `${rt.address.host}:${rt.address.port}`, data_dir: dataDir });
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      log.info('registryd stopping');
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await rt.stop();
  return 0;
}
