/**
 * The snapshot provider: turns config.yaml into snapshots and keeps one in force.
 *
 * - Watches the file (chokidar, which follows editors' write-and-rename) AND
 *   polls it every POLL_INTERVAL_SECONDS (1–15, default 5), so a missed event
 *   costs at most one interval. Propagation target: under 2 s on a watch event.
 * - Whole configurations only: a new snapshot replaces the old one atomically.
 * - A file that does not parse or validate keeps the last-known-good snapshot;
 *   the failure is counted, logged with every issue, and readable via stats().
 * - If no valid config was ever loaded (hard failure), the snapshot in force
 *   sends everything to python.
 * - `version` increases by one per installed snapshot; unchanged content
 *   (same digest) installs nothing.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'chokidar';
import type { Inventory } from '../../owner-maps/index.js';
import { buildSnapshot, hardFailureSnapshot, type Snapshot } from '../core/snapshot.js';
import { parseConfig, formatIssue, type ConfigIssue, type Env } from './parse.js';
import { silentLogger, type Logger } from '../log.js';

export interface ReloadError {
  readonly at: string;
  readonly issues: readonly ConfigIssue[];
}

export interface ProviderStats {
  readonly version: number;
  readonly updated_at: string;
  readonly file: string;
  readonly digest: string | null;
  readonly hard_failure: boolean;
  readonly reloads_total: number;
  readonly reload_failures_total: number;
  readonly last_error: ReloadError | null;
  readonly last_check_at: string | null;
}

export interface ProviderOptions {
  readonly file: string;
  readonly inventory: Inventory;
  readonly env?: Env;
  /** Overrides SWITCHBOARD.POLL_INTERVAL_SECONDS. */
  readonly pollSeconds?: number;
  /** Set false to rely on polling only (tests of the poll path). */
  readonly watch?: boolean;
  readonly log?: Logger;
  readonly now?: () => Date;
}

export type ReloadOutcome = 'installed' | 'unchanged' | 'failed';

export class FileSnapshotProvider {
  private snapshot: Snapshot;
  private version = 0;
  private everLoaded = false;
  private lastDigest: string | null = null;
  private lastFailedDigest: string | null = null;
  private reloads = 0;
  private failures = 0;
  private lastError: ReloadError | null = null;
  private lastCheck: string | null = null;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private pollMs = 5000;
  private polling = false;
  private running: Promise<ReloadOutcome> | null = null;
  private again = false;
  private readonly listeners = new Set<(s: Snapshot) => void>();
  private readonly log: Logger;
  private readonly now: () => Date;

  private constructor(private readonly opts: ProviderOptions) {
    this.log = opts.log ?? silentLogger;
    this.now = opts.now ?? (() => new Date());
    // Version 0: nothing loaded yet (hard failure until the first valid config).
    this.snapshot = hardFailureSnapshot(opts.inventory, opts.file, this.version, this.now());
  }

  /** Loads the file once (a failure leaves the hard-failure snapshot in force), then watches and polls. */
  static async start(opts: ProviderOptions): Promise<FileSnapshotProvider> {
    const p = new FileSnapshotProvider(opts);
    await p.reload('start');
    if (opts.watch !== false) {
      // Watch the directory, not the file: editors and config management replace
      // the file by rename, and Kubernetes ConfigMaps swap a symlinked directory;
      // a watch on the old inode would miss both. Any event re-reads the file
      // (cheap; unchanged content installs nothing).
      p.watcher = watch(dirname(resolve(opts.file)), { ignoreInitial: true, depth: 0, awaitWriteFinish: false });
      p.watcher.on('all', () => p.debouncedReload());
      p.watcher.on('error', (err) => p.log.warn('config watch error', { file: opts.file, error: String(err) }));
      const w = p.watcher;
      // Edits made right after start() must not be missed: wait until the watch is armed.
      await new Promise<void>((resolve) => { w.once('ready', () => resolve()); });
    }
    p.polling = true;
    p.schedulePoll();
    return p;
  }

  private debounce: NodeJS.Timeout | null = null;

  /** Bursts of events (write + rename + chmod) become one reload shortly after the last. */
  private debouncedReload(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => { this.debounce = null; if (this.polling) void this.reload('watch'); }, 25);
  }

  current(): Snapshot {
    return this.snapshot;
  }

  /** Called with every newly installed snapshot. Returns an unsubscribe function. */
  onChange(fn: (s: Snapshot) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  stats(): ProviderStats {
    return {
      version: this.snapshot.version,
      updated_at: this.snapshot.updated_at,
      file: this.opts.file,
      digest: this.snapshot.source.digest,
      hard_failure: this.snapshot.hard_failure,
      reloads_total: this.reloads,
      reload_failures_total: this.failures,
      last_error: this.lastError,
      last_check_at: this.lastCheck,
    };
  }

  /** Re-reads the file now. Concurrent calls coalesce into one more read. */
  reload(trigger: string): Promise<ReloadOutcome> {
    if (this.running) { this.again = true; return this.running; }
    this.running = (async () => {
      let outcome: ReloadOutcome;
      do {
        this.again = false;
        outcome = await this.reloadOnce(trigger);
      } while (this.again);
      this.running = null;
      return outcome;
    })();
    return this.running;
  }

  private async reloadOnce(trigger: string): Promise<ReloadOutcome> {
    this.lastCheck = this.now().toISOString();
    let text: string;
    try {
      text = await readFile(this.opts.file, 'utf8');
    } catch (e) {
      return this.fail(`unreadable:${(e as NodeJS.ErrnoException).code ?? 'error'}`, [{
        code: 'SWB_CONFIG_UNREADABLE', key: '', file: this.opts.file,
        message: `cannot read ${this.opts.file}: ${(e as Error).message}`,
      }], trigger);
    }
    const rawDigest = createHash('sha256').update(text).digest('hex');
    if (this.everLoaded && rawDigest === this.lastDigest) { this.lastFailedDigest = null; return 'unchanged'; }
    const result = parseConfig(text, this.opts.file, this.opts.inventory, this.opts.env ?? {});
    if (!result.ok) return this.fail(rawDigest, result.issues, trigger);
    const next = buildSnapshot(this.opts.inventory, result.config, ++this.version, this.now());
    const previous = this.snapshot;
    this.snapshot = next;
    this.everLoaded = true;
    this.lastDigest = rawDigest;
    this.lastFailedDigest = null;
    this.reloads++;
    this.log.info('config snapshot installed', {
      snapshot_version: next.version, previous_version: previous.version, file: this.opts.file, trigger,
      digest: next.source.digest, force_python: next.owner_map.forcePython.value,
    });
    this.schedulePoll();
    for (const fn of this.listeners) {
      try { fn(next); } catch (e) { this.log.error('snapshot listener failed', { error: String(e) }); }
    }
    return 'installed';
  }

  private fail(failDigest: string, issues: readonly ConfigIssue[], trigger: string): ReloadOutcome {
    // A file stays broken across many polls: count and log each distinct failure once.
    if (failDigest === this.lastFailedDigest) return 'failed';
    this.lastFailedDigest = failDigest;
    this.failures++;
    this.lastError = { at: this.now().toISOString(), issues };
    this.log.error(this.everLoaded ? 'config reload failed; keeping last-known-good snapshot' : 'no valid config loaded; sending everything to python', {
      file: this.opts.file, trigger, snapshot_version: this.snapshot.version, hard_failure: !this.everLoaded,
      errors: issues.map(formatIssue),
    });
    return 'failed';
  }

  private schedulePoll(): void {
    if (!this.polling) return;
    const seconds = this.opts.pollSeconds ?? this.snapshot.settings.POLL_INTERVAL_SECONDS;
    const ms = Math.round(seconds * 1000);
    if (this.timer && ms === this.pollMs) return;
    this.pollMs = ms;
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => { void this.reload('poll'); }, ms);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.polling = false;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.watcher?.close();
    this.watcher = null;
    if (this.running) await this.running;
  }
}
