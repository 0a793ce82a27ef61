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

export function createLogger(base: Record<string, unknown> = {}, opts: { level?: Level; write?: (line: string) => void } = {}): Logger {
  const min = RANK[opts.level ?? (process.env.SWITCHBOARD_LOG_LEVEL as Level | undefined) ?? 'info'] ?? RANK.info;
  const write =
    opts.write ??
    ((line: string) => {
      process.stderr.write(line + '\n');
    });
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

/**
 * One message that a flood can repeat (refused logins): at most `perWindow`
 * lines per window, and one summary line with the number left out when the
 * window ends, so an attacker cannot turn the log (and the event loop writing
 * it) into the bottleneck. The counters and metrics still see every event.
 */
export class LogSampler {
  private count = 0;
  private suppressed = 0;
  private windowStart = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Logger,
    private readonly msg: string,
    private readonly perWindow = 200,
    private readonly windowMs = 10_000,
  ) {}

  warn(fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.windowStart >= this.windowMs) {
      this.flush();
      this.windowStart = now;
      this.count = 0;
    }
    if (++this.count <= this.perWindow) {
      this.log.warn(this.msg, fields);
      return;
    }
    this.suppressed++;
    if (this.timer === null) {
      this.timer = setTimeout(() => this.flush(), Math.max(1, this.windowStart + this.windowMs - now));
      this.timer.unref();
    }
  }

  private flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.suppressed === 0) return;
    this.log.warn(`${this.msg}: more of the same not logged`, { suppressed: this.suppressed, window_seconds: this.windowMs / 1000, per_window: this.perWindow });
    this.suppressed = 0;
  }
}
