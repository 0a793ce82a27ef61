/**
 * The kill switch's state file: the one way in that works whatever state
 * config.yaml is in (broken YAML, invalid values, deleted, unreadable, on a
 * read-only file system).
 *
 *   STATE_DIR/force-python.json   present = everything to python
 *     {"on": true, "since": ISO-8601, "actor": "...", "via": "cli|dashboard|api", "reason": "..."}
 *
 * `switchboard set MIGRATION_FORCE_PYTHON true`, the dashboard's and the API's
 * kill action write it; the snapshot provider checks it several times a second
 * and before every read of config.yaml, so turning it on needs nothing else to
 * parse. It stays until an operator turns the kill switch off (an audited
 * action like any other). A file that is there but cannot be read or parsed
 * counts as ON: when in doubt, python.
 *
 * STATE_DIR is found without trusting config.yaml to parse (resolveStateDir):
 * --state-dir or $SWITCHBOARD_STATE_DIR (relative to the working directory),
 * else SWITCHBOARD.STATE_DIR read leniently from the file, else `data`
 * (relative to the config file's directory, so every command finds the same one).
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isMap, parseDocument } from 'yaml';
import { QUAY_YAML } from '../../lib/yaml-lines.js';
import type { Env, Origin } from './parse.js';
import { writeFileAtomic } from '../../lib/files.js';
import { SwitchboardError } from '../errors.js';

export const KILL_FILE_NAME = 'force-python.json';
export const DEFAULT_STATE_DIR = 'data';
/** Written by a running `serve` (pid, admin URL, config), removed when it stops. */
export const RUNNING_FILE = 'switchboard.json';

export interface KillRecord {
  readonly on: true;
  readonly since: string;
  readonly actor: string;
  readonly via: string;
  readonly reason: string | null;
}

export type StateOrigin = Extract<Origin, { source: 'state' }>;

export function killFilePath(stateDir: string): string {
  return join(stateDir, KILL_FILE_NAME);
}

/** The kill file as a trace origin: null when there is none (off). */
export function readKill(file: string): StateOrigin | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    return { source: 'state', file, actor: '(unknown)', since: '', reason: `the kill file cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}): treated as on` };
  }
  try {
    const r = JSON.parse(text) as Partial<KillRecord>;
    return {
      source: 'state',
      file,
      actor: typeof r.actor === 'string' ? r.actor : '(unknown)',
      since: typeof r.since === 'string' ? r.since : '',
      reason: typeof r.reason === 'string' ? r.reason : null,
    };
  } catch {
    // A torn or hand-written file: its presence is the intent.
    return { source: 'state', file, actor: '(unknown)', since: '', reason: 'the kill file is not JSON: treated as on' };
  }
}

export interface Who {
  readonly actor: string;
  readonly via: string;
  readonly reason: string | null;
}

/** Turns the kill switch on: writes the state file atomically. Throws (with the path) when STATE_DIR cannot be written. */
export function writeKillOn(stateDir: string, who: Who, now = new Date()): KillRecord {
  const rec: KillRecord = { on: true, since: now.toISOString(), actor: who.actor, via: who.via, reason: who.reason };
  writeFileAtomic(killFilePath(stateDir), JSON.stringify(rec) + '\n', 0o644);
  return rec;
}

/** Removes the state file; returns what it said (null when it was not there). */
export function removeKill(stateDir: string): StateOrigin | null {
  const file = killFilePath(stateDir);
  const was = readKill(file);
  try {
    unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return was;
}

/** SWITCHBOARD.STATE_DIR from config text that may not parse: the YAML when it does, else the line itself. */
export function stateDirFromText(text: string): string | null {
  try {
    const doc = parseDocument(text, QUAY_YAML);
    if (doc.errors.length === 0 && isMap(doc.contents)) {
      const v = doc.getIn(['SWITCHBOARD', 'STATE_DIR']);
      return typeof v === 'string' && v.trim() ? v : null;
    }
  } catch {
    /* below */
  }
  // Broken YAML: find `STATE_DIR:` indented under a top-level `SWITCHBOARD:`.
  let inSection = false;
  for (const line of text.split(/\r?\n/)) {
    if (/^SWITCHBOARD\s*:/.test(line)) {
      inSection = true;
      continue;
    }
    if (/^\S/.test(line) && !line.startsWith('#')) inSection = false;
    const m = inSection ? /^\s+STATE_DIR\s*:\s*(?:"([^"]+)"|'([^']+)'|([^\s#]+))/.exec(line) : null;
    if (m) return m[1] ?? m[2] ?? m[3] ?? null;
  }
  return null;
}

/**
 * Where the switchboard keeps its state, found without needing config.yaml to
 * be valid. When the file cannot be read at all, its STATE_DIR is unknown:
 * `strict` callers (set) get an error asking for --state-dir rather than a
 * guess that could write the kill file where no switchboard looks; others
 * (serve) take the default.
 */
export function resolveStateDir(o: {
  readonly configFile: string;
  readonly cwd: string;
  readonly env: Env;
  readonly flag?: string | undefined;
  readonly strict?: boolean;
  /** The config's text when the caller has read it already. */
  readonly text?: string;
}): string {
  if (o.flag) return resolve(o.cwd, o.flag);
  const fromEnv = o.env.SWITCHBOARD_STATE_DIR;
  if (fromEnv && fromEnv.trim()) return resolve(o.cwd, fromEnv);
  let text = o.text ?? '';
  if (o.text === undefined)
    try {
      text = readFileSync(o.configFile, 'utf8');
    } catch (e) {
      if (o.strict) {
        throw new SwitchboardError(
          'SWB_CONFIG_UNREADABLE',
          `cannot read ${o.configFile} (${(e as NodeJS.ErrnoException).code ?? 'error'}) to find its STATE_DIR: give --state-dir DIR or $SWITCHBOARD_STATE_DIR (the running switchboard names it: state_dir in its start log and /status)`,
        );
      }
    }
  // Relative to the config file, so `serve` and `set` agree whatever directory each is run from.
  return resolve(o.cwd, dirname(o.configFile), stateDirFromText(text) ?? DEFAULT_STATE_DIR);
}
