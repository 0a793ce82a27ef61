/** The real `registryd serve` process (built once with the rest of the project) for end-to-end tests. */
import { join } from 'node:path';
import { ROOT, freePort, request, sleep, startChild, type Child, type TLike } from './proc.js';
import { buildSwitchboard } from './switchboard.js';

export interface RegistrydProcess {
  readonly port: number;
  readonly url: string;
  readonly dataDir: string;
  readonly process: Child;
  stop(): Promise<void>;
}

export async function startRegistryd(t: TLike, dataDir: string): Promise<RegistrydProcess> {
  await buildSwitchboard();
  let last = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = startChild(t, process.execPath, [join(ROOT, 'bin/registryd.js'), 'serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`]);
    const t0 = Date.now();
    while (Date.now() - t0 < 30_000 && child.running()) {
      try {
        const r = await request(port, { path: '/v2/', timeoutMs: 5000 });
        if (r.status === 200) return { port, url: `http://127.0.0.1:${port}`, dataDir, process: child, stop: () => child.stop() };
        last = `GET /v2/ answered ${r.status}`;
      } catch (e) {
        last = String(e);
      }
      await sleep(50);
    }
    await child.stop(1000);
    last = `${last}\n${child.stderr()}`;
    if (!/EADDRINUSE/.test(last)) break;
  }
  throw new Error(`registryd did not start: ${last}`);
}
