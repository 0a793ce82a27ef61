#!/usr/bin/env node
// Entry point of the `registryd` command; the code is compiled to dist/ by `npm run build` (run by npm ci/install).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Large blob pulls are sent from libuv worker threads: a bigger pool than libuv's default 4.
process.env.UV_THREADPOOL_SIZE ??= '16';

const main = new URL('../dist/quay/registryd-cli.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('registryd: not built yet; run `npm run build` in ' + fileURLToPath(new URL('..', import.meta.url)) + '\n');
  process.exit(70);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
