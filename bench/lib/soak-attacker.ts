/**
 * The soak's attacking process (bench/soak.ts): the hostile clients of
 * hostile-clients.ts in a child process of their own, pinned beside the
 * normal-traffic clients at a lower priority, so that their own work falls on
 * the proxy and not on the measurement. The parent sends an AttackConfig, later
 * "stop"; the child answers with what its attackers got, and exits.
 */
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { children, pinned, taskset } from './procs.js';
import {
  startLoginFlood,
  startMalformedLoop,
  startSlowBodies,
  type Attack,
  type FloodKind,
  type LoginFloodStats,
  type MalformedStats,
  type SlowBodyStats,
  type SlowTarget,
} from './hostile-clients.js';

export interface AttackConfig {
  readonly proxyPort: number;
  readonly adminPort: number;
  readonly slow: number;
  readonly slowTargets: readonly SlowTarget[];
  readonly floodAddresses: readonly string[];
  readonly floodConcurrency: number;
  readonly floodKinds: readonly FloodKind[];
  readonly floodRate: number;
  readonly registry?: { readonly service: string; readonly user: string };
  readonly malformedLoops: number;
}

export interface AttackStats {
  slow: SlowBodyStats;
  flood: LoginFloodStats;
  malformed: MalformedStats;
  seconds: number;
}

/** This file run as the attacking process (`--soak-attacker`). */
function attacker(): void {
  process.once('message', (cfg: AttackConfig) => {
    const slow = startSlowBodies({ port: cfg.proxyPort, count: cfg.slow, targets: cfg.slowTargets, reconnect: true });
    const flood = startLoginFlood({
      adminPort: cfg.adminPort,
      proxyPort: cfg.proxyPort,
      addresses: cfg.floodAddresses,
      concurrency: cfg.floodConcurrency,
      kinds: cfg.floodKinds,
      rate: cfg.floodRate,
      ...(cfg.registry ? { registry: cfg.registry } : {}),
    });
    const malformed = startMalformedLoop(cfg.proxyPort, cfg.malformedLoops);
    const t0 = performance.now();
    process.send!('started');
    process.once('message', () => {
      const stop = async <S>(a: Attack<S>): Promise<S> => a.stop();
      void Promise.all([stop(slow), stop(flood), stop(malformed)]).then(([s, f, m]) => {
        const stats: AttackStats = { slow: s, flood: f, malformed: m, seconds: (performance.now() - t0) / 1000 };
        process.send!(stats, () => process.exit(0));
      });
    });
  });
}

export function startAttacker(cfg: AttackConfig): Promise<{ stop(): Promise<AttackStats> }> {
  const [cmd, args] = pinned(taskset ? '0' : null, process.execPath, [fileURLToPath(import.meta.url), '--soak-attacker']);
  const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  // Below the clients and owners it shares cpu 0 with: the attack's weight falls on the proxy, not on the measurement.
  try {
    setPriority(child.pid!, 10);
  } catch {
    /* not permitted: run at the same priority */
  }
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`attacker exited (${String(code)}) before it started`)));
    child.once('message', () => {
      child.removeAllListeners('exit');
      resolve({
        stop: () =>
          new Promise((res) => {
            child.once('message', (m) => res(m as AttackStats));
            child.send('stop');
          }),
      });
    });
    child.send(cfg);
  });
}

if (process.argv.includes('--soak-attacker')) attacker();
