/**
 * The `switchboard` command. Conventions: --help on every command, exit 0 on
 * success, 1 when the command ran and found a problem, 2 on a usage error,
 * 70 on an internal error; data on stdout (--json where output is data),
 * diagnostics on stderr, every error as `switchboard: message [SWB_CODE]` on
 * its first line (lib/cli-errors.ts), and never a stack trace for bad input.
 */
import { isSwitchboardError } from '../errors.js';
import { VERSION } from '../../lib/version.js';
import { Exit, EXIT_FAIL, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, type Io } from './common.js';
import { errorText, internalErrorText } from '../../lib/cli-errors.js';
import { explainCommand } from './explain.js';
import { diffCommand, listCommand, workersCommand, OWNERS_USAGE } from './owners.js';
import { setCommand, validateCommand, VALIDATE_USAGE } from './config-cmd.js';

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
  gates [CAP]                      the cutover gates of each capability (running serve)
  gates arm CAP --reason R         re-arm automatic rollback after the gates rolled back
  contract run CAP                 replay a capability's requests against both owners, compared

Every command takes --help; --version prints the version. Config file: --config
FILE, else $SWITCHBOARD_CONFIG, else ./config.yaml. Environment variables named
like switches override the file.`;

const isHelp = (a: string | undefined): boolean => a === '-h' || a === '--help' || a === 'help';

function usageError(io: Io, message: string, usage?: string): number {
  io.err(errorText('switchboard', 'SWB_CLI_USAGE', message, usage));
  return EXIT_USAGE;
}

export async function run(argv: string[], io: Io): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined:
        // The usage on stdout, as for --help; the error line (and exit 2) say it was not asked for.
        io.err(errorText('switchboard', 'SWB_CLI_USAGE', 'give a command'));
        io.out(USAGE);
        return EXIT_USAGE;
      case '-h':
      case '--help':
      case 'help':
        io.out(USAGE);
        return EXIT_OK;
      case '--version':
      case 'version':
        io.out(VERSION);
        return EXIT_OK;
      case 'owners': {
        const [sub, ...more] = rest;
        if (sub === 'list') return await listCommand(more, io);
        if (sub === 'workers') return await workersCommand(more, io);
        if (sub === 'diff') return diffCommand(more, io);
        if (rest.includes('--explain')) return await explainCommand(rest, io);
        if (isHelp(sub)) {
          io.out(OWNERS_USAGE);
          return EXIT_OK;
        }
        return usageError(
          io,
          sub === undefined ? 'owners: give a subcommand: --explain, list, workers or diff' : `owners: unknown subcommand "${sub}" (use --explain, list, workers or diff)`,
          OWNERS_USAGE,
        );
      }
      case 'config': {
        const [sub, ...more] = rest;
        if (sub === 'validate') return await validateCommand(more, io);
        if (isHelp(sub)) {
          io.out(VALIDATE_USAGE);
          return EXIT_OK;
        }
        return usageError(io, sub === undefined ? 'config: give a subcommand: validate' : `config: unknown subcommand "${sub}" (use validate)`, VALIDATE_USAGE);
      }
      case 'set':
        return await setCommand(rest, io);
      // Loaded when used: the proxy, the embedded registry, nunjucks and bcrypt would double
      // the start-up time of every other command.
      case 'serve':
        return await (await import('./serve.js')).serveCommand(rest, io);
      case 'nginx':
        return await (await import('./nginx-cmd.js')).nginxCommand(rest, io);
      case 'contract':
        return await (await import('./contract-cmd.js')).contractCommand(rest, io);
      case 'gates':
        return await (await import('./gates-cmd.js')).gatesCommand(rest, io);
      case 'dashboard':
        return await (await import('./dashboard-cmd.js')).dashboardCommand(rest, io);
      default:
        return usageError(io, cmd.startsWith('-') ? `Unknown option '${cmd}'` : `unknown command "${cmd}"`, USAGE);
    }
  } catch (e) {
    if (e instanceof Exit) return e.code;
    if (isSwitchboardError(e)) {
      // The code goes on the first line; details and usage text, if any, after it.
      const [message, ...usage] = e.message.split('\n\n');
      io.err(errorText('switchboard', e.code, message!, usage.length ? usage.join('\n\n') : undefined));
      return e.code === 'SWB_CLI_USAGE' || e.code === 'SWB_EXPLAIN_BAD_PATH' ? EXIT_USAGE : EXIT_FAIL;
    }
    io.err(internalErrorText('switchboard', 'SWB_INTERNAL', e, io.env));
    return EXIT_INTERNAL;
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
    out: (t) => {
      process.stdout.write(t + '\n');
    },
    err: (t) => {
      process.stderr.write(t + '\n');
    },
    env: process.env,
    cwd: process.cwd(),
  };
}
