/**
 * The `switchboard` command. Conventions: --help on every command, exit 0 on
 * success, 1 when the command ran and found a problem, 2 on a usage error,
 * data on stdout (--json where output is data), diagnostics on stderr, and
 * never a stack trace for bad input.
 */
import { isSwitchboardError } from '../errors.js';
import { Exit, EXIT_FAIL, EXIT_OK, EXIT_USAGE, type Io } from './common.js';
import { explainCommand } from './explain.js';
import { serveCommand } from './serve.js';
import { diffCommand, listCommand, workersCommand } from './owners.js';
import { setCommand, validateCommand, VALIDATE_USAGE } from './config-cmd.js';
import { nginxCommand } from './nginx-cmd.js';
import { dashboardCommand } from './dashboard-cmd.js';

const VERSION = '0.1.0';

export const USAGE = `Usage: switchboard <command> [options]

Moves a live Quay registry from its Python implementation to the new one, one
capability at a time. Commands:

  owners --explain [METHOD] PATH   why a request goes to python or go
  owners list                      who owns what, per capability (or --routes)
  owners workers                   who runs each background program
  owners diff OLD.yaml NEW.yaml    which routes a config change would move
  config validate [FILE]           check config.yaml's MIGRATION and SWITCHBOARD sections
  set KEY VALUE                    edit one switch in config.yaml (comments kept, audited)
  serve                            run the edge proxy (and its admin listener)
  nginx render [--out F] [--watch] the same decisions as an nginx front door
  dashboard user NAME --role R     a users-file line for the dashboard (bcrypt)

Every command takes --help. Config file: --config FILE, else $SWITCHBOARD_CONFIG,
else ./config.yaml. Environment variables named like switches override the file.`;

export async function run(argv: string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        io.out(USAGE);
        return cmd === undefined ? EXIT_USAGE : EXIT_OK;
      case '--version':
      case 'version':
        io.out(VERSION);
        return EXIT_OK;
      case 'owners': {
        const [sub, ...more] = rest;
        if (sub === 'list') return listCommand(more, io);
        if (sub === 'workers') return workersCommand(more, io);
        if (sub === 'diff') return diffCommand(more, io);
        if (rest.includes('--explain')) return explainCommand(rest, io);
        if (sub === undefined || sub === '-h' || sub === '--help') { io.out(USAGE); return sub === undefined ? EXIT_USAGE : EXIT_OK; }
        io.err(`switchboard: owners: unknown subcommand "${sub}" (use --explain, list, workers or diff) [SWB_CLI_USAGE]`);
        return EXIT_USAGE;
      }
      case 'config': {
        const [sub, ...more] = rest;
        if (sub === 'validate') return validateCommand(more, io);
        if (sub === '-h' || sub === '--help') { io.out(VALIDATE_USAGE); return EXIT_OK; }
        io.err(sub === undefined
          ? `switchboard: config: give a subcommand: validate [SWB_CLI_USAGE]\n\n${VALIDATE_USAGE}`
          : `switchboard: config: unknown subcommand "${sub}" (use validate) [SWB_CLI_USAGE]`);
        return EXIT_USAGE;
      }
      case 'set':
        return setCommand(rest, io);
      case 'serve':
        return await serveCommand(rest, io);
      case 'nginx':
        return await nginxCommand(rest, io);
      case 'dashboard':
        return await dashboardCommand(rest, io);
      default:
        io.err(`switchboard: unknown command "${cmd}" [SWB_CLI_USAGE]\n\n${USAGE}`);
        return EXIT_USAGE;
    }
  } catch (e) {
    if (e instanceof Exit) return e.code;
    if (isSwitchboardError(e)) {
      // The code goes on the first line; usage text, if any, after it.
      const [first, ...rest] = e.message.split('\n\n');
      io.err(`switchboard: ${first} [${e.code}]${rest.length ? `\n\n${rest.join('\n\n')}` : ''}`);
      return e.code === 'SWB_CLI_USAGE' || e.code === 'SWB_EXPLAIN_BAD_PATH' ? EXIT_USAGE : EXIT_FAIL;
    }
    io.err(`switchboard: internal error: ${(e as Error).message}${io.env.SWITCHBOARD_DEBUG ? `\n${(e as Error).stack}` : ' (set SWITCHBOARD_DEBUG=1 for a stack trace)'}`);
    return 70;
  }
}

export function processIo(): Io {
  // `switchboard … | head`: a closed pipe ends the command quietly, like other Unix tools.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  return {
    out: (t) => { process.stdout.write(t + '\n'); },
    err: (t) => { process.stderr.write(t + '\n'); },
    env: process.env,
    cwd: process.cwd(),
  };
}
