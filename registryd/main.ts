/**
 * `registryd serve --data-dir DIR [--listen HOST:PORT]`: the /v2 registry on
 * its own, until the `quay` runtime (mirror/standalone/full modes) lands.
 * Exit codes: 0 after a clean shutdown, 2 on a usage error, 1 on a failure.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../switchboard/log.js';
import { splitHostPort } from '../switchboard/config/host-port.js';
import { resolve } from 'node:path';
import { formatProblem, loadQuayConfig } from '../quay/config.js';
import { startRuntime } from '../quay/runtime.js';

export const USAGE = `Usage: registryd serve --data-dir DIR [--listen HOST:PORT] [--stale-upload-hours N]

Serves Quay's /v2 registry API on Quay's table layout (SQLite at DIR/quay.db)
and storage layout (DIR/storage). Anonymous; repositories are created on push.
Upload sessions older than --stale-upload-hours are removed at start and every
hour (Quay's blobuploadcleanupworker). SIGTERM or SIGINT stops accepting
connections and exits once requests finish.

  --data-dir DIR            where the database and blobs live (created if missing)
  --listen HOST:PORT        default 127.0.0.1:5000
  --stale-upload-hours N    default 48 (Quay's BLOBUPLOAD_DELETION_DATE_THRESHOLD, 2 days)`;

export async function run(argv: string[]): Promise<number> {
  let values: { 'data-dir'?: string; listen?: string; 'stale-upload-hours'?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv, allowPositionals: true,
      options: {
        'data-dir': { type: 'string' }, listen: { type: 'string' }, 'stale-upload-hours': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    process.stderr.write(`registryd: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) { process.stdout.write(USAGE + '\n'); return 0; }
  if (positionals[0] !== 'serve' || positionals.length !== 1 || !values['data-dir']) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let listen: { host: string; port: number };
  try {
    listen = splitHostPort(values.listen ?? '127.0.0.1:5000');
  } catch {
    process.stderr.write(`registryd: --listen ${values.listen} is not HOST:PORT\n`);
    return 2;
  }
  const staleHours = Number(values['stale-upload-hours'] ?? 48);
  if (!(staleHours > 0)) { process.stderr.write(`registryd: --stale-upload-hours must be a positive number\n`); return 2; }
  const log = createLogger({ component: 'registryd' });
  // The quay runtime in mirror mode with its presets (anonymous, SQLite, local storage), plain HTTP, no admin listener.
  const cfg = loadQuayConfig('', { mode: 'mirror', dataDir: resolve(values['data-dir']) });
  if (!cfg.ok) throw new Error(cfg.problems.map((p) => formatProblem(p)).join('\n'));
  const rt = await startRuntime({ config: cfg.config, log, listen, tls: null, adminListen: null, staleUploadHours: staleHours, metrics: false });
  log.info('registryd listening', { listen: `${rt.address.host}:${rt.address.port}`, data_dir: values['data-dir'] });
  await new Promise<void>((resolve) => {
    const stop = (): void => { log.info('registryd stopping'); resolve(); };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await rt.stop();
  return 0;
}
