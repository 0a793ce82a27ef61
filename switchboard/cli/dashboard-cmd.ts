/** `switchboard dashboard user NAME`: a line for SWITCHBOARD.DASHBOARD.USERS_FILE. */
import { readFileSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import { SwitchboardError } from '../errors.js';
import { args, EXIT_OK, type Io } from './common.js';

export const DASHBOARD_USAGE = `Usage: switchboard dashboard user NAME --role operator|read-only (--password-stdin | --password-env VAR)

Prints the YAML line for NAME in SWITCHBOARD.DASHBOARD.USERS_FILE, with the
password hashed by bcrypt (cost 12). Append it to the file: the dashboard
re-reads the file on its next request. The password is never printed.`;

export async function dashboardCommand(argv: string[], io: Io, stdin: () => string = () => readFileSync(0, 'utf8')): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '-h' || sub === '--help' || sub === 'help') {
    io.out(DASHBOARD_USAGE);
    return EXIT_OK;
  }
  if (sub !== 'user') {
    throw new SwitchboardError(
      'SWB_CLI_USAGE',
      `${sub === undefined ? 'dashboard: give a subcommand: user' : `dashboard: unknown subcommand "${sub}" (use user)`}\n\n${DASHBOARD_USAGE}`,
    );
  }
  const a = args(rest, { role: { type: 'string' }, 'password-stdin': { type: 'boolean' }, 'password-env': { type: 'string' } }, DASHBOARD_USAGE);
  if (a.values.help) {
    io.out(DASHBOARD_USAGE);
    return EXIT_OK;
  }
  const name = a.positionals[0];
  if (a.positionals.length !== 1 || !name || !/^[A-Za-z0-9._@-]+$/.test(name))
    throw new SwitchboardError('SWB_CLI_USAGE', `give one NAME (letters, digits, . _ @ -)\n\n${DASHBOARD_USAGE}`);
  const role = a.values.role as string | undefined;
  if (role !== 'operator' && role !== 'read-only') throw new SwitchboardError('SWB_CLI_USAGE', `--role operator or --role read-only\n\n${DASHBOARD_USAGE}`);
  const envName = a.values['password-env'] as string | undefined;
  let password: string;
  if (a.values['password-stdin']) password = stdin().replace(/\r?\n$/, '');
  else if (envName) password = io.env[envName] ?? '';
  else throw new SwitchboardError('SWB_CLI_USAGE', `give the password with --password-stdin or --password-env VAR (never on the command line)\n\n${DASHBOARD_USAGE}`);
  if (password.length < 8) throw new SwitchboardError('SWB_CONFIG_BAD_VALUE', 'the password must be at least 8 characters');
  io.out(`- {name: ${JSON.stringify(name)}, role: ${role}, password_bcrypt: ${JSON.stringify(await bcrypt.hash(password, 12))}}`);
  return EXIT_OK;
}
