/**
 * A real CNCF Distribution registry (Debian's `docker-registry`, 2.8) for the
 * end-to-end tests: the legacy stand-in and /v2 oracle of DESIGN §7.
 *
 * The config is written here (Debian's default enables htpasswd and listens on
 * all interfaces): filesystem storage under a given directory (several
 * instances may share one directory: the shared data tier), deletes enabled,
 * upload purging off, no auth, 127.0.0.1 only, log level warn, and an
 * `http.secret` per instance. Distribution signs the `_state` query parameter
 * of its upload URLs with that secret, so an upload session started on one
 * instance cannot be continued on an instance with another secret.
 *
 * The registry's access log (combined format, on its stdout) is kept and
 * parsed: independent evidence of which instance served which request.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, request, requireBinaries, sleep, startChild, type Child, type TLike } from './proc.js';

export const REGISTRY_BIN = 'docker-registry';

export interface RegistryOptions {
  /** Storage root (filesystem driver); share it between instances for one data tier. */
  readonly storageDir: string;
  /** Directory for this instance's config file. */
  readonly configDir: string;
  /** http.secret: signs upload `_state`. */
  readonly secret: string;
  /** A label for messages and file names ("python", "go", ...). */
  readonly name: string;
}

/** One line of the registry's own access log. */
export interface RegistryRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** The client's User-Agent ('' when none): tells skopeo's requests from the test's own. */
  readonly userAgent: string;
}

export interface Registry {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly configFile: string;
  readonly process: Child;
  /** The registry's own output (stderr and stdout). */
  log(): string;
  /**
   * Requests this instance served so far, from its access log. The log reaches
   * this process asynchronously (a pipe): a request's line can show up a little
   * after its response did.
   */
  requests(): RegistryRequest[];
  stop(): Promise<void>;
}

/** The YAML config of one instance (version 0.1 format). */
export function registryConfigYaml(o: { storageDir: string; port: number; secret: string }): string {
  const q = (s: string): string => JSON.stringify(s);
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(o.storageDir)}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${q(`127.0.0.1:${o.port}`)}`,
    `  secret: ${q(o.secret)}`,
    'health:',
    '  storagedriver:',
    '    enabled: false',
    '',
  ].join('\n');
}

const ACCESS_LINE = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) \S+ "[^"]*" "([^"]*)"/;

/** Parses Distribution's access log (gorilla's combined format: `... "PATCH /v2/... HTTP/1.1" 202 0 "-" "ua"`). */
export function parseAccessLog(text: string): RegistryRequest[] {
  const out: RegistryRequest[] = [];
  for (const line of text.split('\n')) {
    const m = ACCESS_LINE.exec(line);
    if (m) out.push({ method: m[1] as string, path: m[2] as string, status: Number(m[3]), userAgent: m[4] as string });
  }
  return out;
}

/** Distribution reads REGISTRY_* variables as config overrides: keep them out of the child. */
function registryEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('REGISTRY_')) env[k] = v;
  return env;
}

/**
 * Starts `docker-registry serve <config>` on a free 127.0.0.1 port and waits
 * until GET /v2/ answers 200. Killed in teardown. Fails (never skips) when the
 * binary is missing. Retries on another port if the one picked was taken.
 */
export async function startRegistry(t: TLike, o: RegistryOptions): Promise<Registry> {
  requireBinaries([REGISTRY_BIN]);
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const configFile = join(o.configDir, `registry-${o.name}-${port}.yml`);
    writeFileSync(configFile, registryConfigYaml({ storageDir: o.storageDir, port, secret: o.secret }));
    const child = startChild(t, REGISTRY_BIN, ['serve', configFile], { env: registryEnv() });
    const t0 = Date.now();
    let up = false;
    while (Date.now() - t0 < 30_000) {
      if (!child.running()) break;
      try {
        const r = await request(port, { path: '/v2/', timeoutMs: 5000 });
        if (r.status === 200) {
          up = true;
          break;
        }
        lastError = `GET /v2/ answered ${r.status}: ${r.text()}`;
      } catch (e) {
        lastError = String(e);
      }
      await sleep(50);
    }
    if (up) {
      return {
        name: o.name,
        port,
        url: `http://127.0.0.1:${port}`,
        configFile,
        process: child,
        log: () => child.stderr() + child.stdout(),
        requests: () => parseAccessLog(child.stdout()),
        stop: () => child.stop(),
      };
    }
    await child.stop(1000);
    const log = child.stderr() + child.stdout();
    lastError = `${lastError}\n${log}`;
    if (!/address already in use/i.test(log)) break;
  }
  throw new Error(`docker-registry (${o.name}) did not answer 200 on GET /v2/: ${lastError}`);
}
