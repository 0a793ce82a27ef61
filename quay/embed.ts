/**
 * The go runtime embedded in a switchboard process (SWITCHBOARD.EMBEDDED_REGISTRY):
 * bin/switchboard.js injects `embedRuntime` into `switchboard serve`, so the
 * switchboard's own code never imports the go side. The runtime listens on
 * loopback, has no admin listener of its own (its metrics join the
 * switchboard's), and runs its background programs by the switchboard's own
 * live snapshot.
 */
import { formatProblem, readQuayConfig, type Mode } from './config.js';
import { startRuntime } from './runtime.js';
import { CLAIMED_CAPABILITIES, withdrawnClaims } from './capabilities.js';
import type { Logger } from '../lib/log.js';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { SnapshotSource } from '../workers/runner.js';

export interface EmbedOptions {
  /** The config.yaml both read (Quay's keys for the runtime, MIGRATION and SWITCHBOARD for the switchboard). */
  readonly configFile: string;
  readonly mode: Mode;
  readonly dataDir: string;
  readonly log: Logger;
  readonly snapshots: SnapshotSource;
}

export interface Embedded {
  readonly url: string;
  /** The runtime's registryd_ metrics, merged into the switchboard's /metrics. */
  readonly metrics: MetricsRegistry | null;
  /** AUTHENTICATION_TYPE as the runtime reads it, for the start log. */
  readonly auth: string;
  stop(): Promise<void>;
}

export async function embedRuntime(o: EmbedOptions): Promise<Embedded> {
  const qc = readQuayConfig(o.configFile, { mode: o.mode, dataDir: o.dataDir });
  if (!qc.ok) throw new Error(`embedded registry config:\n${qc.problems.map((p) => formatProblem(p, o.configFile)).join('\n')}`);
  // The switchboard is the embedded registry's only client, over loopback, and sets X-Forwarded-For to
  // the address it saw (a client's own is replaced): the registry's per-client limits count real clients.
  const config = { ...qc.config, trustedProxies: [...new Set([...qc.config.trustedProxies, '127.0.0.1', '::1'])] };
  const rt = await startRuntime({ config, log: o.log, listen: { host: '127.0.0.1', port: 0 }, tls: null, adminListen: null, snapshots: o.snapshots });
  return { url: rt.url, metrics: rt.metrics?.registry ?? null, auth: qc.config.auth.mode, stop: () => rt.stop() };
}

/** The capabilities the runtime claims under a config's Quay keys (its readiness document's), without starting it. */
export async function embeddedClaims(quayKeys: Readonly<Record<string, unknown>>): Promise<readonly string[]> {
  const gone = new Set(withdrawnClaims(quayKeys).map((w) => w.capability));
  return CLAIMED_CAPABILITIES.filter((c) => !gone.has(c));
}

/** The hooks bin/switchboard.js gives `switchboard` (loaded lazily there; tests that run the CLI in-process pass these). */
export const goRuntimeHooks = { embed: embedRuntime, claims: embeddedClaims };
