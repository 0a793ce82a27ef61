/**
 * Puts a rendered configuration in place the way an operator would: test it
 * with nginx first, swap it in atomically, reload nginx; a configuration that
 * fails its test never replaces the running one (it is kept beside it as
 * `<out>.rejected` for inspection).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../../lib/files.js';
import type { NginxPart } from './render.js';

export interface InstallOptions {
  readonly out: string;
  readonly part: NginxPart;
  /** The nginx binary used for `nginx -t` when no test command is given. */
  readonly nginx: string;
  /** A shell command that tests the configuration as installed (e.g. `nginx -t`); on failure the old file is put back. */
  readonly testCmd?: string | undefined;
  /** A shell command run after a successful install (e.g. `nginx -s reload`). */
  readonly reloadCmd?: string | undefined;
  /** Skip testing (one-shot renders without --check). */
  readonly test: boolean;
  /** Run the reload command even when the file is already up to date (the last reload failed, or nobody knows). */
  readonly reloadIfUnchanged?: boolean;
}

export type InstallResult =
  | { readonly outcome: 'unchanged'; readonly reloaded: boolean; readonly reloadError: string | null }
  | { readonly outcome: 'installed'; readonly reloaded: boolean; readonly reloadError: string | null }
  | { readonly outcome: 'rejected'; readonly error: string; readonly rejectedFile: string };

interface CmdResult {
  readonly code: number;
  readonly output: string;
}

function runShell(cmd: string): Promise<CmdResult> {
  return runArgv('/bin/sh', ['-c', cmd]);
}

/**
 * Runs a command with its stdout and stderr going to one temp file, read back
 * as its output. Not a pipe: node's child pipes are socketpairs, and nginx
 * opens `access_log /dev/stdout` (the default ACCESS_LOG) even under `nginx -t`,
 * which fails on a socket (ENXIO) but works on a regular file, as on a terminal
 * or a container's log pipe.
 */
async function runArgv(bin: string, argv: readonly string[]): Promise<CmdResult> {
  const dir = mkdtempSync(join(tmpdir(), 'swb-nginx-run-'));
  const file = join(dir, 'output');
  const fd = openSync(file, 'w+', 0o600);
  try {
    const code = await new Promise<number | string>((resolve) => {
      const child = spawn(bin, argv, { stdio: ['ignore', fd, fd] });
      child.on('error', (e) => resolve(e.message));
      child.on('close', (c) => resolve(c ?? 1));
    });
    if (typeof code === 'string') return { code: 127, output: `${bin}: ${code}` };
    return { code, output: readFileSync(file, 'utf8').trim() };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `nginx -t` on a candidate file that is not installed yet. */
async function testCandidate(nginx: string, file: string, part: NginxPart): Promise<CmdResult> {
  if (part === 'full') return runArgv(nginx, ['-t', '-q', '-c', file]);
  // The http{} part alone is no configuration: test it inside a minimal one.
  const dir = mkdtempSync(join(tmpdir(), 'swb-nginx-test-'));
  try {
    const wrapper = join(dir, 'nginx.conf');
    writeFileSync(wrapper, `pid ${JSON.stringify(join(dir, 'nginx.pid'))};\nerror_log stderr;\nevents {}\nhttp {\n    include ${JSON.stringify(file)};\n}\n`);
    return await runArgv(nginx, ['-t', '-q', '-c', wrapper, '-p', dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function reload(cmd: string | undefined): Promise<{ reloaded: boolean; reloadError: string | null }> {
  if (!cmd) return { reloaded: false, reloadError: null };
  const r = await runShell(cmd);
  return { reloaded: r.code === 0, reloadError: r.code === 0 ? null : r.output || `${cmd} exited ${r.code}` };
}

export async function installNginxConfig(text: string, opts: InstallOptions): Promise<InstallResult> {
  // A symlinked --out (sites-enabled → sites-available) is written through, not replaced by a file.
  const o = existsSync(opts.out) ? { ...opts, out: realpathSync(opts.out) } : opts;
  const current = existsSync(o.out) ? readFileSync(o.out, 'utf8') : null;
  if (current === text) return { outcome: 'unchanged', ...(o.reloadIfUnchanged ? await reload(o.reloadCmd) : { reloaded: false, reloadError: null }) };
  const rejectedFile = `${opts.out}.rejected`;
  if (o.test && o.testCmd) {
    // The operator's test checks nginx's whole configuration: install, test, put the old file back on failure.
    writeFileAtomic(o.out, text, 0o644);
    const r = await runShell(o.testCmd);
    if (r.code !== 0) {
      if (current === null) rmSync(o.out, { force: true });
      else writeFileAtomic(o.out, current, 0o644);
      writeFileAtomic(rejectedFile, text, 0o644);
      return { outcome: 'rejected', error: r.output || `${o.testCmd} exited ${r.code}`, rejectedFile };
    }
  } else if (o.test) {
    const candidate = join(dirname(o.out), `.${basename(o.out)}.candidate`);
    writeFileAtomic(candidate, text, 0o644);
    try {
      const r = await testCandidate(o.nginx, candidate, o.part);
      if (r.code !== 0) {
        writeFileAtomic(rejectedFile, text, 0o644);
        return { outcome: 'rejected', error: (r.output || `nginx -t exited ${r.code}`).split(candidate).join(rejectedFile), rejectedFile };
      }
    } finally {
      rmSync(candidate, { force: true });
    }
    writeFileAtomic(o.out, text, 0o644);
  } else {
    writeFileAtomic(o.out, text, 0o644);
  }
  rmSync(rejectedFile, { force: true });
  return { outcome: 'installed', ...(await reload(o.reloadCmd)) };
}
