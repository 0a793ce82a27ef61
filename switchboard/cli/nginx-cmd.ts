/** `switchboard nginx render`: the owner decisions as an nginx front door. */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadInventory } from '../../owner-maps/index.js';
import { FileSnapshotProvider } from '../snapshots/provider.js';
import { resolveStateDir } from '../config/kill-switch.js';
import type { Snapshot } from '../core/snapshot.js';
import { SwitchboardError } from '../errors.js';
import { createLogger } from '../../lib/log.js';
import { installNginxConfig, type InstallResult } from '../nginx/install.js';
import { renderNginx, type NginxPart, type Rendered } from '../nginx/render.js';
import { loadTls } from '../../lib/tls.js';
import { args, configPath, json, loadSnapshot, resolveIn, EXIT_FAIL, EXIT_OK, type Io } from './common.js';
import { errorText } from '../../lib/cli-errors.js';

export const NGINX_USAGE = `Usage: switchboard nginx render [--config FILE] [--out FILE] [options]

Renders the owner decisions of the config snapshot as an nginx configuration:
upstreams for python and go, the route inventory as ordered regex maps (grouped
by family, commented with route ids and capabilities), canary org/repo/user
lists, the sticky percent as split_clients on the subject the switchboard
hashes, the kill switch, upload pins, and registry proxy settings. The same
snapshot always renders the same bytes. Where nginx cannot decide as the
switchboard does (users from bearer tokens), the output and stderr say so.

  --out FILE          write FILE (atomically) instead of stdout
  --http-only         only the http{} contents, for an include in an existing nginx.conf
  --listen HOST:PORT  the server's listener (default SWITCHBOARD.LISTEN)
  --runtime-dir DIR   pid, error log and temp files under DIR, created if missing
                      (default: nginx's own)
  --access-log PATH   the access log (JSON lines), or off (default SWITCHBOARD.ACCESS_LOG:
                      stdout and stderr become /dev/stdout and /dev/stderr)
  --check             test the result with nginx before writing --out
  --nginx BIN         the nginx binary for tests (default: nginx on PATH)
  --test-cmd CMD      test by running CMD after installing (e.g. "nginx -t"); the old file is put back on failure
  --reload-cmd CMD    run CMD after a new configuration is installed (e.g. "nginx -s reload")
  --watch             keep running: re-render on every new snapshot, test, install, reload;
                      a configuration that fails its test is kept as FILE.rejected and the
                      running one stays (needs --out)
  --json              print what was rendered (warnings, route counts, outcome) as JSON

Exit codes: 0 rendered (or watching until SIGTERM), 1 invalid config or the
result failed its test, 2 usage error.`;

interface Flags {
  readonly out: string | null;
  readonly part: NginxPart;
  readonly listen: string | undefined;
  readonly runtimeDir: string | null;
  readonly accessLog: string | undefined;
  readonly nginx: string;
  readonly testCmd: string | undefined;
  readonly reloadCmd: string | undefined;
}

async function render(s: Snapshot, file: string, f: Flags, io: Io): Promise<Rendered> {
  const t = s.settings.TLS;
  let tls: { cert: string; key: string } | null = null;
  if (t === 'self-signed') {
    // The same certificate `switchboard serve` makes and reuses, in the same STATE_DIR.
    const stateDir = resolveStateDir({ configFile: file, cwd: io.cwd, env: io.env });
    const m = await loadTls({ kind: 'self-signed' }, stateDir, [], createLogger({ component: 'switchboard' }));
    tls = { cert: m!.certFile, key: resolve(stateDir, 'tls', 'key.pem') };
  } else if (t !== 'off') tls = { cert: resolve(io.cwd, t.CERT_FILE), key: resolve(io.cwd, t.KEY_FILE) };
  return renderNginx(s, { part: f.part, listen: f.listen, runtimeDir: f.runtimeDir, accessLog: f.accessLog, tls });
}

function install(text: string, f: Flags, test: boolean, reloadIfUnchanged: boolean): Promise<InstallResult> {
  return installNginxConfig(text, { out: f.out!, part: f.part, nginx: f.nginx, testCmd: f.testCmd, reloadCmd: f.reloadCmd, test, reloadIfUnchanged });
}

export async function nginxCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '-h' || sub === '--help' || sub === 'help') {
    io.out(NGINX_USAGE);
    return EXIT_OK;
  }
  if (sub !== 'render') {
    throw new SwitchboardError('SWB_CLI_USAGE', `${sub === undefined ? 'nginx: give a subcommand: render' : `nginx: unknown subcommand "${sub}" (use render)`}\n\n${NGINX_USAGE}`);
  }
  const a = args(
    rest,
    {
      config: { type: 'string' },
      out: { type: 'string' },
      'http-only': { type: 'boolean' },
      listen: { type: 'string' },
      'runtime-dir': { type: 'string' },
      'access-log': { type: 'string' },
      check: { type: 'boolean' },
      nginx: { type: 'string' },
      'test-cmd': { type: 'string' },
      'reload-cmd': { type: 'string' },
      watch: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    NGINX_USAGE,
  );
  if (a.values.help) {
    io.out(NGINX_USAGE);
    return EXIT_OK;
  }
  if (a.positionals.length) throw new SwitchboardError('SWB_CLI_USAGE', `unexpected argument "${a.positionals[0]}"\n\n${NGINX_USAGE}`);
  const v = a.values as Record<string, string | boolean | undefined>;
  const f: Flags = {
    out: typeof v.out === 'string' ? resolveIn(io, v.out) : null,
    part: v['http-only'] ? 'http' : 'full',
    listen: v.listen as string | undefined,
    runtimeDir: typeof v['runtime-dir'] === 'string' ? resolveIn(io, v['runtime-dir']) : null,
    accessLog: typeof v['access-log'] === 'string' ? (v['access-log'] === 'off' ? 'off' : resolveIn(io, v['access-log'])) : undefined,
    nginx: (v.nginx as string | undefined) ?? 'nginx',
    testCmd: v['test-cmd'] as string | undefined,
    reloadCmd: v['reload-cmd'] as string | undefined,
  };
  if ((v.watch || v.check || f.testCmd || f.reloadCmd) && !f.out) {
    throw new SwitchboardError('SWB_CLI_USAGE', `--watch, --check, --test-cmd and --reload-cmd need --out FILE\n\n${NGINX_USAGE}`);
  }
  // nginx creates none of its runtime directories: the pid file (opened even by nginx -t) needs DIR.
  if (f.runtimeDir) {
    try {
      mkdirSync(f.runtimeDir, { recursive: true });
    } catch (e) {
      throw new SwitchboardError('SWB_CLI_USAGE', `--runtime-dir ${f.runtimeDir}: cannot create it: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const file = configPath(v.config as string | undefined, io);
  if (v.watch) return watch(file, f, io);

  const loaded = loadSnapshot(file, io);
  const r = await render(loaded.snapshot, file, f, io);
  for (const w of r.model.warnings) io.err(`switchboard: nginx: warning: ${w}`);
  if (!f.out) {
    if (v.json) json(io, { warnings: r.model.warnings, summary: r.model.summary, config: r.text });
    else io.out(r.text.trimEnd());
    return EXIT_OK;
  }
  const res = await install(r.text, f, Boolean(v.check || f.testCmd), true);
  if (v.json) json(io, { out: f.out, ...res, warnings: r.model.warnings, summary: r.model.summary });
  if (res.outcome === 'rejected') {
    io.err(
      errorText(
        'switchboard',
        'SWB_NGINX_REJECTED',
        `nginx: the rendered configuration failed its test; ${f.out} is unchanged (the rejected one is in ${res.rejectedFile}):\n${res.error}`,
      ),
    );
    return EXIT_FAIL;
  }
  if (!v.json) io.err(`switchboard: nginx: ${res.outcome === 'unchanged' ? `${f.out} is up to date` : `wrote ${f.out}`} (${r.model.summary.join('; ')})`);
  if (res.reloadError !== null) {
    io.err(errorText('switchboard', 'SWB_NGINX_RELOAD_FAILED', `nginx: ${f.reloadCmd} failed:\n${res.reloadError}`));
    return EXIT_FAIL;
  }
  return EXIT_OK;
}

/** --watch: every new snapshot is rendered, tested and installed, one at a time, until SIGTERM. */
async function watch(file: string, f: Flags, io: Io): Promise<number> {
  const log = createLogger({ component: 'switchboard-nginx' });
  // The kill switch's state file reaches nginx too (a broken config.yaml cannot hold it back).
  const provider = await FileSnapshotProvider.start({
    file,
    inventory: loadInventory(),
    env: io.env,
    log,
    stateDir: resolveStateDir({ configFile: file, cwd: io.cwd, env: io.env }),
  });
  let chain: Promise<void> = Promise.resolve();
  // At start nobody knows whether nginx runs what is on disk; after a failed reload it does not.
  let reloadPending = true;
  const apply = (s: Snapshot): void => {
    chain = chain.then(async () => {
      const fields = { snapshot_version: s.version, config_digest: s.source.digest, out: f.out };
      if (s.hard_failure) {
        // Never replace a working front door with the everything-to-python-without-upstreams fallback.
        log.error('no valid config loaded yet; nothing rendered', { ...fields, config: file });
        return;
      }
      try {
        const r = await render(s, file, f, io);
        for (const w of r.model.warnings) log.warn(w, fields);
        const res = await install(r.text, f, true, reloadPending);
        if (res.outcome === 'rejected') {
          log.error('rendered nginx config failed its test; the running config is kept', { ...fields, error: res.error, rejected_file: res.rejectedFile });
          return;
        }
        reloadPending = res.reloadError !== null;
        if (res.reloadError !== null)
          log.error(`nginx config ${res.outcome}${res.outcome === 'installed' ? '' : ' on disk'} but the reload command failed; it is retried with the next snapshot`, {
            ...fields,
            reload_cmd: f.reloadCmd,
            error: res.reloadError,
          });
        else if (res.outcome === 'unchanged') log.info('nginx config unchanged', { ...fields, reloaded: res.reloaded });
        else log.info('nginx config installed', { ...fields, reloaded: res.reloaded, summary: r.model.summary.join('; ') });
      } catch (e) {
        log.error('could not render the nginx config; the running config is kept', { ...fields, error: (e as Error).message });
      }
    });
  };
  provider.onChange(apply);
  apply(provider.current());
  log.info('watching for new snapshots', { config: file, out: f.out });
  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      done();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await provider.close();
  await chain;
  return EXIT_OK;
}
