/**
 * The soak's fixed parts (bench/soak.ts): owners that answer at once, the real
 * `switchboard serve` alone on cpu 1 with its log in a file, and the
 * dashboard's credential files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import bcrypt from 'bcryptjs';
import { children, pinned, taskset, waitFor } from './procs.js';
import { PROBE_HEADER, SLOW_HEADER } from './hostile-clients.js';
import type { OwnerName } from './soak-traffic.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface FastOwner {
  readonly name: OwnerName;
  readonly url: string;
  requests: number;
  slowSeen: number;
  readonly probes: Map<string, number>;
  close(): void;
}

/** An owner that reads the body, then answers a small JSON document naming itself (x-upstream). */
export async function startOwner(name: OwnerName): Promise<FastOwner> {
  const server = http.createServer((req, res) => {
    o.requests++;
    const probe = req.headers[PROBE_HEADER];
    if (typeof probe === 'string') o.probes.set(probe, (o.probes.get(probe) ?? 0) + 1);
    if (req.headers[SLOW_HEADER] !== undefined) o.slowSeen++;
    req.on('error', () => {
      /* the proxy cut a slow body */
    });
    req.on('end', () => {
      const body = JSON.stringify({ upstream: name, method: req.method, url: req.url });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-upstream': name });
      res.end(body);
    });
    req.resume();
  });
  server.keepAliveTimeout = 70_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const o: FastOwner = {
    name,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: 0,
    slowSeen: 0,
    probes: new Map(),
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
  return o;
}

export interface Serve {
  readonly port: number;
  readonly adminPort: number;
  readonly child: ChildProcess;
  readonly logFile: string;
}

/** `switchboard serve` on `config` (LISTEN and ADMIN_LISTEN already in it), alone on cpu 1; its log goes to a file. */
export async function startServe(dir: string, config: string, port: number, adminPort: number): Promise<Serve> {
  const logFile = join(dir, 'serve.log');
  const log = openSync(logFile, 'a');
  const [cmd, args] = pinned(taskset ? '1' : null, process.execPath, [join(root, 'bin', 'switchboard.js'), 'serve', '--config', config]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', log], env: { ...process.env, SWITCHBOARD_STATE_DIR: join(dir, 'state') } });
  closeSync(log);
  children.push(child);
  try {
    await waitFor(`http://127.0.0.1:${adminPort}/healthz`);
  } catch (e) {
    throw new Error(`switchboard serve did not start: ${(e as Error).message}\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
  }
  return { port, adminPort, child, logFile };
}

/** Log lines of `file` past byte `from`, counted by level. */
export function logLevels(file: string, from: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of readFileSync(file).subarray(from).toString('utf8').split('\n')) {
    const level = /^\{"time":"[^"]*","level":"(\w+)"/.exec(l)?.[1];
    if (level) out.set(level, (out.get(level) ?? 0) + 1);
  }
  return out;
}

/** The dashboard's files in `dir`: an admin token and one operator (bcrypt cost 10). */
export function dashboardFiles(dir: string): { token: string; user: { name: string; password: string } } {
  const token = randomBytes(24).toString('base64url');
  const user = { name: 'olga', password: randomBytes(12).toString('base64url') };
  writeFileSync(join(dir, 'admin.token'), `${token}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'users.yaml'), `- {name: ${user.name}, role: operator, password_bcrypt: "${bcrypt.hashSync(user.password, 10)}"}\n`);
  return { token, user };
}

/** SWITCHBOARD settings every run shares, plus `extra`. */
