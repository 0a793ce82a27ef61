// Written after every successful `npm run build`: dist/.build-stamp holds the
// newest modification time of the compiled sources, so the tests' buildOnce()
// can tell that dist/ is current and leave it alone (rewriting dist/ while
// another test process is loading it is what made it flaky).
import { writeFileSync } from 'node:fs';
import { newestSource } from './newest-source.mjs';

writeFileSync(new URL('../dist/.build-stamp', import.meta.url), `${newestSource()}\n`);
