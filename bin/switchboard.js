#!/usr/bin/env node
// Entry point of the `switchboard` command; the code is compiled to dist/ by `npm run build` (run by npm ci/install).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Large blob bodies are relayed on libuv worker threads: a bigger pool than libuv's default 4.
process.env.UV_THREADPOOL_SIZE ??= '16';

const main = new URL('../dist/switchboard/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('switchboard: not built yet; run `npm run build` in ' + fileURLToPath(new URL('..', import.meta.url)) + '\n');
  process.exit(70);
}
const { run, processIo } = await import(main.href);
// The go runtime for SWITCHBOARD.EMBEDDED_REGISTRY, loaded only when a serve needs it: the
// switchboard's own code never imports the go side.
const goSide = () => import(new URL('../dist/quay/embed.js', import.meta.url).href);
const goRuntime = {
  embed: async (options) => (await goSide()).embedRuntime(options),
  claims: async (quayKeys) => (await goSide()).embeddedClaims(quayKeys),
};
process.exitCode = await run(process.argv.slice(2), { ...processIo(), goRuntime });
