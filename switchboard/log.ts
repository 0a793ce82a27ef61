/**
 * Structured JSON logs, one object per line on stderr (stdout stays free for
 * command output). Field names follow the shared vocabulary: owner, route_id,
 * capability, family, reason, snapshot_version.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(
  base: Record<string, unknown> = {},
  opts: { level?: Level; write?: (line: string) => void } = {},
): Logger {
  const min = RANK[opts.level ?? ((process.env.SWITCHBOARD_LOG_LEVEL as Level | undefined) ?? 'info')] ?? RANK.info;
  const write = opts.write ?? ((line: string) => { process.stderr.write(line + '\n'); });
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>): void => {
    if (RANK[level] < min) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, ...base, msg, ...fields }));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (f) => createLogger({ ...base, ...f }, opts),
  };
}

/** A URL with any password (and user) in it replaced by ***: for logs and status pages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1***@');
}

/** A logger that drops everything (CLI commands that print their own output). */
export const silentLogger: Logger = createLogger({}, { write: () => {} });
