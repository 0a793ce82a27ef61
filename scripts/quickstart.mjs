// `npm start`, step one: the quick start runs from data/config.yaml, a copy of
// examples/quickstart.yaml made on the first start and never overwritten. So
// everything the running switchboard writes (config edits from the dashboard
// and `switchboard set`, their audit log switchboard-audit.log beside the
// config, the dashboard token, the TLS certificate, SQLite and blobs) lands in
// data/, which git ignores, and never in the tracked examples/.
//
// The copy reads the same from both places: STATE_DIR and the DASHBOARD paths
// are relative to the config file (../data/... from examples/ and from data/
// alike), EMBEDDED_REGISTRY.DATA_DIR to the working directory, the package root
// where npm runs scripts (and so this script: paths here are relative to it).
import { constants, copyFileSync, mkdirSync } from 'node:fs';

const EXAMPLE = 'examples/quickstart.yaml';
const CONFIG = 'data/config.yaml';

function log(msg) {
  // The same JSON lines as the switchboard's own log that follows.
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'info', component: 'quickstart', msg, config: CONFIG, example: EXAMPLE }) + '\n');
}

mkdirSync('data', { recursive: true });
try {
  copyFileSync(EXAMPLE, CONFIG, constants.COPYFILE_EXCL);
  log('copied the quick start config: edits go to the copy (delete it to start over)');
} catch (e) {
  if (e.code !== 'EEXIST') {
    process.stderr.write(`quickstart: cannot copy ${EXAMPLE} to ${CONFIG}: ${e.code ?? e.message} (run npm start in the checkout)\n`);
    process.exit(1);
  }
  log('using the quick start config made on the first start (delete it to start over)');
}
