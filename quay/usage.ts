/**
 * The `quay` command's help texts: the overview and one per command, so that
 * `quay <command> [<subcommand>] --help` shows the options of what was typed.
 */

const COMMON = `Common options:
  --mode mirror|standalone|full   presets (default mirror)
  --config FILE                   config.yaml (default $QUAY_CONFIG; none = presets only)
  --data-dir DIR                  database, storage, keys (default $QUAY_DATA_DIR or ./data/quay)
  -h, --help

Environment: QUAY_DB_PREPARED_STATEMENTS=false stops the API's PostgreSQL prepared
statements (behind PgBouncer before 1.21 in transaction mode).`;

export const USAGE = `Usage: quay <command> [options]

The new implementation of Quay (registry /v2 today), on Quay's database and
storage layout, configured by Quay's config.yaml keys.

Commands:
  serve                         run the registry
  config validate               check a config.yaml for a mode; every problem with its key and line
  config print [--json]         the effective config (mode presets applied, secrets redacted)
  config generate [--hostname H] [--output FILE]
                                a starter config.yaml for the mode (fresh DATABASE_SECRET_KEY)
  user create NAME --email E (--password-stdin | --password-env VAR)
                                a database user (bcrypt password), e.g. the first admin
  org create NAME --owner USER  an organisation owned by USER (team "owners", role admin)
  robot create NS+NAME [--description D] [--json]
                                a robot account of NS; prints its token once
  app-token create USER --title T [--json]
                                an app-specific token (log in as "$app" with it)
  repo create NS/NAME [--public]
  repo grant NS/NAME (--user U | --team ORG/TEAM) --role read|write|admin
  worker --list [--json]        Quay's background programs, their owner now, which the TS side has
  worker PROGRAM [--once] [--admin-listen HOST:PORT]
                                run one program while the live config gives it to go

Every command takes --help; --version prints the version.

${COMMON}

quay serve options:
  --listen HOST:PORT              default 0.0.0.0:8443 with TLS, 0.0.0.0:8080 without
  --admin-listen HOST:PORT        /metrics /healthz /readyz (default 127.0.0.1:9092)
  --tls off|self-signed|CERT,KEY  default self-signed in mirror mode, off otherwise
  --stale-upload-hours N          upload sessions older than this are removed (default 48)`;

/** What follows a usage error about an unknown command: the overview is long. */
export const COMMANDS_HINT = 'Commands: serve, config, user, org, robot, app-token, repo, worker (see quay --help)';

const SERVE = `Usage: quay serve [--mode M] [--config FILE] [--data-dir DIR] [--listen HOST:PORT]
                  [--admin-listen HOST:PORT] [--tls off|self-signed|CERT,KEY] [--stale-upload-hours N]

Runs the registry (/v2, /v2/auth) with an admin listener (/metrics, /healthz,
/readyz) until SIGTERM or SIGINT.

  --listen HOST:PORT              default 0.0.0.0:8443 with TLS, 0.0.0.0:8080 without
  --admin-listen HOST:PORT        default 127.0.0.1:9092
  --tls off|self-signed|CERT,KEY  default self-signed in mirror mode (kept in DIR/tls), off otherwise
  --stale-upload-hours N          upload sessions older than this are removed (default 48)

${COMMON}`;

const CONFIG_VALIDATE = `Usage: quay config validate [--mode M] [--config FILE] [--json]

Checks config.yaml for the mode and prints every problem with its key and line
(on stdout: the problems are the output). Exit 0 when valid, 1 when not.

${COMMON}`;

const CONFIG_PRINT = `Usage: quay config print [--mode M] [--config FILE] [--json]

Prints the effective config: the mode's presets with the file's keys over them,
secrets redacted.

${COMMON}`;

const CONFIG_GENERATE = `Usage: quay config generate [--mode M] [--hostname H] [--output FILE]

Prints (or writes to FILE, never over an existing one, mode 0600) a starter
config.yaml for the mode with a fresh DATABASE_SECRET_KEY.

  --hostname H     SERVER_HOSTNAME (default localhost:8443)
  --output FILE    write FILE instead of stdout

${COMMON}`;

const CONFIG = `Usage: quay config validate|print|generate [options]

  config validate [--json]                          check config.yaml for the mode
  config print [--json]                             the effective config, secrets redacted
  config generate [--hostname H] [--output FILE]    a starter config.yaml

Each takes --help.

${COMMON}`;

const USER_CREATE = `Usage: quay user create NAME --email E (--password-stdin | --password-env VAR) [--json]

Creates a database user with a bcrypt password, e.g. the first admin. The
password is read from stdin or from the environment variable VAR, never from
the command line, and is at least 8 characters.

${COMMON}`;

const ORG_CREATE = `Usage: quay org create NAME --owner USER [--json]

Creates an organization owned by USER (team "owners", role admin).

${COMMON}`;

const ROBOT_CREATE = `Usage: quay robot create NS+NAME [--description D] [--json]

Creates a robot account of the namespace NS and prints its token once
(stored encrypted under DATABASE_SECRET_KEY).

${COMMON}`;

const APP_TOKEN_CREATE = `Usage: quay app-token create USER --title T [--json]

Creates an app-specific token for USER and prints it once; log in as "$app"
with it.

${COMMON}`;

const REPO_CREATE = `Usage: quay repo create NS/NAME [--public]

Creates a repository in the namespace NS (private unless --public).

${COMMON}`;

const REPO_GRANT = `Usage: quay repo grant NS/NAME (--user U | --team ORG/TEAM) --role read|write|admin

Gives a user, robot or team a role on the repository.

${COMMON}`;

const REPO = `Usage: quay repo create NS/NAME [--public]
       quay repo grant NS/NAME (--user U | --team ORG/TEAM) --role read|write|admin

Each takes --help.

${COMMON}`;

const WORKER = `Usage: quay worker --list [--config FILE] [--json]
       quay worker PROGRAM [--config FILE] [--once] [--admin-listen HOST:PORT]

--list shows every one of Quay's background programs (owner-maps/workers.tsv)
with its owner now (WORKER_OWNER_<PROGRAM> in the live config, the kill switch),
its kind and queue, and whether the TS side has it.

PROGRAM runs one program in this process while the live config gives it to go:
it claims nothing while python owns it, starts within the config's propagation
time after a flip to go, and stops taking work after a flip back (an item in
flight finishes first). SIGTERM or SIGINT: the item in flight finishes, then it
exits 0.

  --once                   one pass now, then exit (nothing when python owns it); exit 1 if it failed
  --admin-listen HOST:PORT /metrics, /healthz, /readyz (default 127.0.0.1:9093)
  --json                   with --list: the rows as JSON

${COMMON}`;

const BY_COMMAND: Readonly<Record<string, string>> = {
  worker: WORKER,
  serve: SERVE,
  config: CONFIG,
  'config validate': CONFIG_VALIDATE,
  'config print': CONFIG_PRINT,
  'config generate': CONFIG_GENERATE,
  user: USER_CREATE,
  'user create': USER_CREATE,
  org: ORG_CREATE,
  'org create': ORG_CREATE,
  robot: ROBOT_CREATE,
  'robot create': ROBOT_CREATE,
  'app-token': APP_TOKEN_CREATE,
  'app-token create': APP_TOKEN_CREATE,
  repo: REPO,
  'repo create': REPO_CREATE,
  'repo grant': REPO_GRANT,
};

/** The help of the command the positionals name (the longest known prefix), or null for an unknown command. */
export function usageFor(positionals: readonly string[]): string | null {
  const two = positionals.slice(0, 2).join(' ');
  return BY_COMMAND[two] ?? BY_COMMAND[positionals[0] ?? ''] ?? null;
}
