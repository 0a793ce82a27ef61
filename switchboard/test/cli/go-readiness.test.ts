/**
 * `switchboard set` and `config validate` against what go says it implements:
 * a real node:http server on port 0 answers GET /.well-known/switchboard as a
 * go runtime would; go is refused a capability it does not implement unless
 * forced with a reason (audited), a go that cannot be asked is a warning, and
 * the embedded registry's claims are read without asking anyone.
 */
import t from 'tap';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../cli/main.js';
import type { Io } from '../../cli/common.js';
import { goRuntimeHooks } from '../../../quay/embed.js';

interface Result {
  code: number;
  out: string;
  err: string;
}

async function cli(argv: string[]): Promise<Result> {
  const out: string[] = [];
  const err: string[] = [];
  // As bin/switchboard.js runs it: with the go runtime's hooks (the embedded registry's claims).
  const io: Io = {
    out: (s) => {
      out.push(s);
    },
    err: (s) => {
      err.push(s);
    },
    env: {},
    cwd: process.cwd(),
    goRuntime: goRuntimeHooks,
  };
  const code = await run(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const dir = mkdtempSync(join(tmpdir(), 'swb-readiness-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

let capabilities = ['V2_BASE', 'V2_TAGS', 'V2_UPLOAD'];
const go = http.createServer((req, res) => {
  if (req.url !== '/.well-known/switchboard') {
    res.writeHead(404).end();
    return;
  }
  const body = JSON.stringify({ service: 'quay-ts', version: '0.1.0', contract: 1, mode: 'standalone', capabilities, routes: [], features: {}, withdrawn: [] });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
});
await new Promise<void>((r) => go.listen(0, '127.0.0.1', () => r()));
t.teardown(() => new Promise<void>((r) => go.close(() => r())));
const goUrl = `http://127.0.0.1:${(go.address() as { port: number }).port}`;

function config(name: string, goLine: string, extra = ''): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `MIGRATION:
  ROUTE_OWNER_DEFAULT: python
${extra}SWITCHBOARD:
  UPSTREAMS:
    python: "http://127.0.0.1:9"
${goLine}
`,
  );
  return file;
}

t.test('set refuses go a capability it does not implement; --force needs and records a reason', async (t) => {
  const file = config('a.yaml', `    go: "${goUrl}"`);
  const before = readFileSync(file, 'utf8');
  const refused = await cli(['set', 'ROUTE_OWNER_CAP_V2_PULL', 'go', '--config', file]);
  t.equal(refused.code, 1);
  t.match(refused.err, /go does not implement V2_PULL \(\d+ routes?\).*nothing written.*--force --reason.*\[SWB_GO_NOT_IMPLEMENTED\]/);
  t.equal(readFileSync(file, 'utf8'), before, 'file untouched');
  const canary = await cli(['set', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'canary', '--config', file]);
  t.equal(canary.code, 0, 'canary with no selectors sends nobody to go: allowed');
  const pct = await cli(['set', 'ROUTE_CANARY_FAMILY_REGISTRY_V2_PERCENT', '5', '--config', file]);
  t.equal(pct.code, 1, 'a percent on that canary would send V2_PULL (and others) to go');
  t.match(pct.err, /V2_PULL/);
  t.notMatch(pct.err, /V2_TAGS \(/, 'capabilities go implements are not named');
  t.equal((await cli(['set', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', '--unset', '--config', file])).code, 0);
  const ok = await cli(['set', 'ROUTE_OWNER_CAP_V2_TAGS', 'go', '--config', file, '--json']);
  t.equal(ok.code, 0, ok.err);
  t.match(JSON.parse(ok.out).readiness, { blocked: [], unverified: [], forced: false });
  const noReason = await cli(['set', 'ROUTE_OWNER_CAP_V2_PULL', 'go', '--config', file, '--force']);
  t.equal(noReason.code, 2);
  t.match(noReason.err, /--force needs --reason/);
  const forced = await cli(['set', 'ROUTE_OWNER_CAP_V2_PULL', 'go', '--config', file, '--force', '--reason', 'go has it in staging', '--actor', 'ann']);
  t.equal(forced.code, 0, forced.err);
  t.match(forced.err, /warning: forced: go does not implement V2_PULL/);
  const audit = readFileSync(join(dir, 'switchboard-audit.log'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.match(audit.at(-1), { actor: 'ann', key: 'ROUTE_OWNER_CAP_V2_PULL', new: 'go', reason: '[forced past readiness: V2_PULL] go has it in staging' });
  // Rolling back never needs readiness.
  t.equal((await cli(['set', 'ROUTE_OWNER_CAP_V2_PULL', 'python', '--config', file])).code, 0);
  // What go implements is asked each time: a deploy that adds V2_PULL lets it through.
  capabilities = [...capabilities, 'V2_PULL'];
  t.equal((await cli(['set', 'ROUTE_OWNER_CAP_V2_PULL', 'go', '--config', file])).code, 0);
  capabilities = ['V2_BASE', 'V2_TAGS', 'V2_UPLOAD'];
});

t.test('validate warns about capabilities on go that go does not implement, and when go cannot be asked', async (t) => {
  const file = config('b.yaml', `    go: "${goUrl}"`, '  ROUTE_OWNER_CAP_V2_PULL: go\n  ROUTE_OWNER_CAP_V2_TAGS: go\n');
  const r = await cli(['config', 'validate', file]);
  t.equal(r.code, 0, 'warnings keep the config valid');
  t.match(r.err, /warning: .*V2_PULL \(\d+ routes?\) goes to go, and http:\/\/127\.0\.0\.1:\d+ does not implement it \[SWB_GO_NOT_IMPLEMENTED\]/);
  t.notMatch(r.err, /V2_TAGS/, 'implemented capabilities are not warned');
  const j = JSON.parse((await cli(['config', 'validate', file, '--json'])).out);
  t.match(j.warnings, [{ code: 'SWB_GO_NOT_IMPLEMENTED', key: 'MIGRATION.ROUTE_OWNER_CAP_V2_PULL' }]);
  t.equal((await cli(['config', 'validate', file, '--offline'])).err, '', '--offline asks nobody');
  const down = config('c.yaml', '    go: "http://127.0.0.1:9"', '  ROUTE_OWNER_CAP_V2_PULL: go\n');
  const d = await cli(['config', 'validate', down]);
  t.equal(d.code, 0);
  t.match(d.err, /warning: .*cannot ask http:\/\/127\.0\.0\.1:9 what it implements: .*sends 1 capability to go unchecked \(V2_PULL\)/);
  const set = await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', down]);
  t.equal(set.code, 0, 'go that cannot be asked: not refused');
  t.match(set.err, /warning: cannot ask .*not checked that go implements V2_PUSH/);
});

t.test('the embedded registry: its own claims, without asking anyone', async (t) => {
  const file = config('d.yaml', '  EMBEDDED_REGISTRY:\n    MODE: mirror\n    DATA_DIR: data/quay');
  const refused = await cli(['set', 'ROUTE_OWNER_CAP_V2_REFERRERS', 'go', '--config', file]);
  t.equal(refused.code, 1);
  t.match(refused.err, /go does not implement V2_REFERRERS.*ask the embedded registry/);
  t.equal((await cli(['set', 'ROUTE_OWNER_CAP_V2_UPLOAD', 'go', '--config', file])).code, 0);
  t.notOk(existsSync(join(dir, 'data')), 'nothing started, nothing made');
});

t.test("without the go runtime injected, the embedded registry's claims are unknown, and said so", async (t) => {
  const out: string[] = [];
  const err: string[] = [];
  const file = config('bare.yaml', '  EMBEDDED_REGISTRY:\n    MODE: mirror\n    DATA_DIR: data/quay');
  const code = await run(['set', 'ROUTE_OWNER_CAP_V2_REFERRERS', 'go', '--config', file], {
    out: (s) => {
      out.push(s);
    },
    err: (s) => {
      err.push(s);
    },
    env: {},
    cwd: process.cwd(),
  });
  t.equal(code, 0, 'unknown is not a refusal (as for a go upstream that cannot be asked)');
  t.match(err.join('\n'), /started without the go runtime/);
});
