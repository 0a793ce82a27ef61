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
 * - With a state directory: the kill switch's state file (kill-switch.ts) is
 *   checked four times a second and before every read of the file, and beats
 *   it whatever state the file is in (broken, deleted, unreadable); each valid
 *   config is saved as STATE_DIR/last-good-config.yaml, which a process that
 *   starts with an invalid file serves instead (restoreLastGood).
 * - Every install is logged with what moved: the keys that changed, the routes
 *   that changed owner (by capability), and a warning when an owner that
 *   serves traffic loses or changes its upstream.
 */
import { readFile } from 'node:fs/promises';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'chokidar';
import type { Inventory } from '../../owner-maps/index.js';
import { buildSnapshot, hardFailureSnapshot, type Snapshot } from '../core/snapshot.js';
import { parseConfig, formatIssue, type ConfigIssue, type Env, type Origin, type SwitchConfig } from '../config/parse.js';
import { killFilePath, readKill, type StateOrigin } from '../config/kill-switch.js';
import { describeMoves, type Moves } from './moves.js';
import { configWarnings } from './warnings.js';
import { writeFileAtomic } from '../../lib/files.js';
import { redactUrl, silentLogger, type Logger } from '../../lib/log.js';

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
  /** The kill switch's state file, when it is on. */
  readonly kill_file: StateOrigin | null;
  /** Set when the file was invalid at start and the last good config saved in STATE_DIR is served instead. */
  readonly restored_from: string | null;
  readonly state_dir: string | null;
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
  /**
   * The switchboard's state directory: its kill file beats the config, and
   * each valid config is saved there as last-good-config.yaml.
   */
  readonly stateDir?: string | null;
  /** At start, serve STATE_DIR/last-good-config.yaml when the file is invalid (serve does; one-shot commands do not). */
  readonly restoreLastGood?: boolean;
  /** How often the kill file is checked, in ms (default 250). */
  readonly killCheckMs?: number;
}

export const LAST_GOOD_NAME = 'last-good-config.yaml';

export type ReloadOutcome = 'installed' | 'unchanged' | 'failed';

export interface InstallInfo {
  /** start, restore, watch, poll, kill_file, or the writer's via (cli, dashboard, api). */
  readonly trigger: string;
  readonly moves: Moves;
  readonly previous_digest: string | null;
  readonly previous_version: number;
}

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
  /** The last valid config (null until one loads): what a kill-file change is applied on top of. */
  private base: SwitchConfig | null = null;
  private kill: StateOrigin | null = null;
  /** MIGRATION_FORCE_PYTHON with a value that is not a boolean (`ture`, `"true"`): taken as on until fixed. */
  private badKill: Origin | null = null;
  private killStamp = '';
  private killTimer: NodeJS.Timeout | null = null;
  private restoredFrom: string | null = null;
  private savedDigest: string | null = null;
  private readonly killFile: string | null;
  private last: InstallInfo | null = null;

  private constructor(private readonly opts: ProviderOptions) {
    this.log = opts.log ?? silentLogger;
    this.now = opts.now ?? (() => new Date());
    this.killFile = opts.stateDir ? killFilePath(opts.stateDir) : null;
    this.kill = this.killFile ? readKill(this.killFile) : null;
    // Version 0: nothing loaded yet (hard failure until the first valid config).
    this.snapshot = hardFailureSnapshot(opts.inventory, opts.file, this.version, this.now(), this.kill);
  }

  /** Loads the file once (a failure leaves the hard-failure snapshot in force), then watches and polls. */
  static async start(opts: ProviderOptions): Promise<FileSnapshotProvider> {
    const p = new FileSnapshotProvider(opts);
    const first = await p.reload('start');
    if (first === 'failed' && opts.restoreLastGood) p.restoreLastGood();
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
      await new Promise<void>((resolve) => {
        w.once('ready', () => resolve());
      });
    }
    p.polling = true;
    p.schedulePoll();
    if (p.killFile) {
      // A stat a quarter second: the kill switch reaches every request within a second, whatever the watcher sees.
      // killStamp is the stamp of what the first reload read (refreshKill), not a new stat: a kill file written
      // while start() awaited the watcher would otherwise be stamped as seen and wait for the next poll.
      p.killTimer = setInterval(() => {
        void p.checkKillFile();
      }, opts.killCheckMs ?? 250);
      p.killTimer.unref();
    }
    return p;
  }

  private async checkKillFile(): Promise<void> {
    const stamp = statStamp(this.killFile!);
    if (stamp === this.killStamp) return;
    this.killStamp = stamp;
    if (this.polling) await this.reload('kill_file');
  }

  /** The file was invalid at start: serve the last good config this state directory saved, if any. */
  private restoreLastGood(): void {
    if (!this.opts.stateDir) return;
    const saved = join(this.opts.stateDir, LAST_GOOD_NAME);
    let text: string;
    try {
      text = readFileSync(saved, 'utf8');
    } catch {
      return;
    }
    const r = parseConfig(text, saved, this.opts.inventory, this.opts.env ?? {});
    if (!r.ok) {
      this.log.error('the saved last good config is invalid too; not used', { file: saved, errors: r.issues.map(formatIssue) });
      return;
    }
    this.restoredFrom = saved;
    this.savedDigest = r.config.digest;
    this.log.warn(`${this.opts.file} is invalid at start: serving the last good config saved in ${saved} until it is fixed`, { file: this.opts.file, restored_from: saved });
    this.install(r.config, 'restore');
  }

  private debounce: NodeJS.Timeout | null = null;

  /** Bursts of events (write + rename + chmod) become one reload shortly after the last. */
  private debouncedReload(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      if (this.polling) void this.reload('watch');
    }, 25);
  }

  current(): Snapshot {
    return this.snapshot;
  }

  /** How the snapshot in force was installed: its trigger, what moved, the snapshot before it. */
  lastInstall(): InstallInfo | null {
    return this.last;
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
      kill_file: this.kill,
      restored_from: this.restoredFrom,
      state_dir: this.opts.stateDir ?? null,
    };
  }

  /** Re-reads the file now. Concurrent calls coalesce into one more read. */
  reload(trigger: string): Promise<ReloadOutcome> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
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
    // The kill file first: it needs nothing else to parse.
    const killChanged = this.refreshKill();
    let text: string;
    try {
      text = await readFile(this.opts.file, 'utf8');
    } catch (e) {
      if (killChanged) this.install(this.base, trigger);
      return this.fail(
        `unreadable:${(e as NodeJS.ErrnoException).code ?? 'error'}`,
        [
          {
            code: 'SWB_CONFIG_UNREADABLE',
            key: '',
            file: this.opts.file,
            message: `cannot read ${this.opts.file}: ${(e as Error).message}`,
          },
        ],
        trigger,
      );
    }
    if (this.everLoaded && text.trim() === '') {
      // A file truncated for rewriting (`>`, writeFile) reads empty for a moment: never install "nothing set".
      if (killChanged) this.install(this.base, trigger);
      return this.fail(
        'empty',
        [{ code: 'SWB_CONFIG_UNREADABLE', key: '', file: this.opts.file, message: `${this.opts.file} is empty (being rewritten?): keeping the last good snapshot` }],
        trigger,
      );
    }
    const rawDigest = createHash('sha256').update(text).digest('hex');
    if (this.everLoaded && rawDigest === this.lastDigest) {
      this.lastFailedDigest = null;
      // Back to the content in force: a garbled kill value in between no longer holds.
      const badCleared = this.badKill !== null;
      this.badKill = null;
      if (!killChanged && !badCleared) return 'unchanged';
      this.install(this.base, trigger);
      return 'installed';
    }
    const result = parseConfig(text, this.opts.file, this.opts.inventory, this.opts.env ?? {});
    if (!result.ok) {
      // When in doubt, python: nobody writes a garbled kill switch meaning "off".
      const bad = result.issues.find((i) => i.key === 'MIGRATION.MIGRATION_FORCE_PYTHON' || i.key === 'MIGRATION_FORCE_PYTHON');
      const badKill: Origin | null = bad
        ? bad.file && bad.line !== undefined
          ? { source: 'file', file: bad.file, line: bad.line }
          : { source: 'env', name: 'MIGRATION_FORCE_PYTHON' }
        : null;
      const badChanged = JSON.stringify(badKill) !== JSON.stringify(this.badKill);
      if (badChanged && badKill)
        this.log.error('MIGRATION_FORCE_PYTHON has a value that is not true or false: the kill switch is ON until it is fixed', { error: formatIssue(bad!) });
      this.badKill = badKill;
      if (killChanged || badChanged) this.install(this.base, trigger);
      return this.fail(rawDigest, result.issues, trigger);
    }
    this.badKill = null;
    this.lastDigest = rawDigest;
    this.lastFailedDigest = null;
    this.restoredFrom = null;
    this.install(result.config, trigger);
    this.saveLastGood(text, result.config.digest);
    return 'installed';
  }

  /** Re-reads the kill file; true when it changed. */
  private refreshKill(): boolean {
    if (!this.killFile) return false;
    // The stamp of what is read here, so the quarter-second check sees any change after it (a watch event may read it first).
    this.killStamp = statStamp(this.killFile);
    const k = readKill(this.killFile);
    if (JSON.stringify(k) === JSON.stringify(this.kill)) return false;
    const was = this.kill;
    this.kill = k;
    if (k) this.log.warn('kill switch ON from its state file: everything goes to python', { kill_file: k.file, actor: k.actor, since: k.since, reason: k.reason });
    else this.log.warn('kill switch state file removed: the config decides again', { kill_file: this.killFile, was_set_by: was?.actor ?? null });
    return true;
  }

  /** Installs a snapshot of `config` (null: nothing valid yet) with the kill file on top, and tells the listeners. */
  private install(config: SwitchConfig | null, trigger: string): void {
    const previous = this.snapshot;
    const now = this.now();
    const next = config
      ? buildSnapshot(this.opts.inventory, config, ++this.version, now, this.kill ?? this.badKill)
      : hardFailureSnapshot(this.opts.inventory, this.opts.file, ++this.version, now, this.kill ?? this.badKill);
    this.snapshot = next;
    if (config) {
      this.base = config;
      this.everLoaded = true;
    }
    this.reloads++;
    const moves = describeMoves(previous, next);
    this.last = { trigger, moves, previous_digest: previous.source.digest, previous_version: previous.version };
    this.log.info('config snapshot installed', {
      snapshot_version: next.version,
      previous_version: previous.version,
      file: next.source.file,
      trigger,
      digest: next.source.digest,
      force_python: next.owner_map.forcePython.value,
      keys_changed: moves.keys,
      routes_changing_owner: moves.routes,
      routes_changing_owner_by_capability: moves.byCapability,
    });
    if (config && trigger !== 'kill_file') {
      for (const w of configWarnings(config, this.opts.inventory)) this.log.warn(w.message, { code: w.code, key: w.key, line: w.line ?? null, snapshot_version: next.version });
    }
    for (const u of moves.upstreams) {
      this.log.warn(`the upstream of ${u.owner}, which serves ${u.routes} route${u.routes === 1 ? '' : 's'}, ${u.after ? 'changed' : 'was removed'}`, {
        owner: u.owner,
        routes: u.routes,
        before: u.before ? redactUrl(u.before) : null,
        after: u.after ? redactUrl(u.after) : null,
        snapshot_version: next.version,
      });
    }
    this.schedulePoll();
    for (const fn of this.listeners) {
      try {
        fn(next);
      } catch (e) {
        this.log.error('snapshot listener failed', { error: String(e) });
      }
    }
  }

  /** Keeps a copy of the last valid file in STATE_DIR for a restart with a broken file. */
  private saveLastGood(text: string, digest: string): void {
    if (!this.opts.stateDir || !this.opts.restoreLastGood || digest === this.savedDigest) return;
    try {
      writeFileAtomic(join(this.opts.stateDir, LAST_GOOD_NAME), text, 0o600);
      this.savedDigest = digest;
    } catch (e) {
      this.savedDigest = digest; // warn once per config, not per poll
      this.log.warn('cannot save the last good config in STATE_DIR', { state_dir: this.opts.stateDir, error: (e as Error).message });
    }
  }

  private fail(failDigest: string, issues: readonly ConfigIssue[], trigger: string): ReloadOutcome {
    // A file stays broken across many polls: count and log each distinct failure once.
    if (failDigest === this.lastFailedDigest) return 'failed';
    this.lastFailedDigest = failDigest;
    this.failures++;
    this.lastError = { at: this.now().toISOString(), issues };
    this.log.error(this.everLoaded ? 'config reload failed; keeping last-known-good snapshot' : 'no valid config loaded; sending everything to python', {
      file: this.opts.file,
      trigger,
      snapshot_version: this.snapshot.version,
      hard_failure: !this.everLoaded,
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
    this.timer = setInterval(() => {
      void this.reload('poll');
    }, ms);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.polling = false;
    if (this.debounce) clearTimeout(this.debounce);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.killTimer) clearInterval(this.killTimer);
    this.killTimer = null;
    await this.watcher?.close();
    this.watcher = null;
    if (this.running) await this.running;
  }
}

/**
 * What identifies a version of the kill file without reading it: absent, or its
 * inode, size and mtime. Synchronous: one stat of a local file, as readKill reads it.
 */
function statStamp(file: string): string {
  try {
    const st = statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch (e) {
    return `absent:${(e as NodeJS.ErrnoException).code ?? ''}`;
  }
}
