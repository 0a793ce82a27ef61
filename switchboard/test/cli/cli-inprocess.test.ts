/**
 * The `switchboard` CLI, driven in-process through run(argv, io) with a
 * capturing Io: explain, owners list/workers/diff, config validate, set.
 * Every test writes its own config files into a temp dir.
 */
import t from 'tap';
import http from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { run } from '../../cli/main.js';
import type { Io } from '../../cli/common.js';

// Parsed --json output; its shape is what the assertions check.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type Env = Record<string, string | undefined>;
interface Result {
  code: number;
  out: string;
  err: string;
  outLines: string[];
  errLines: string[];
}
interface Teardown {
  teardown(fn: () => void): void;
}

async function cli(argv: string[], opts: { env?: Env | Io['env']; cwd?: string } = {}): Promise<Result> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (s) => {
      out.push(s);
    },
    err: (s) => {
      err.push(s);
    },
    env: opts.env ?? {},
    cwd: opts.cwd ?? process.cwd(),
  };
  const code = await run(argv, io);
  const o = out.join('\n');
  const e = err.join('\n');
  return { code, out: o, err: e, outLines: o.split('\n'), errLines: e.split('\n') };
}

function json(r: Result): Json {
  return JSON.parse(r.out) as Json;
}

function tmp(t: Teardown): string {
  const d = mkdtempSync(join(tmpdir(), 'swb-cli-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** examples/config.yaml as of writing (embedded so line numbers are stable): line 7 DEFAULT, 8 FAMILY, 10 CAP_V2_PULL, 11 percent, 12 orgs, 14 ROUTE_0003, 15 CAP_V2_TAGS, 16 GCWORKER. */
function base(extraMigration = '', extraSwitchboard = ''): string {
  return `# Quay config.yaml excerpt: the switches the switchboard reads.
SERVER_HOSTNAME: registry.example.com
FEATURE_LIBRARY_SUPPORT: true

MIGRATION:
  # Global default: everything stays on the legacy implementation.
  ROUTE_OWNER_DEFAULT: python
  ROUTE_OWNER_FAMILY_REGISTRY_V2: python
  # Pulls are being ramped: 5% of namespaces, plus the test org.
  ROUTE_OWNER_CAP_V2_PULL: canary
  ROUTE_CANARY_CAP_V2_PULL_PERCENT: 5
  ROUTE_CANARY_ORGS: [test-org]
  # Token endpoint pinned to python whatever the capability says.
  ROUTE_OWNER_ROUTE_0003: python
  ROUTE_OWNER_CAP_V2_TAGS: go
  WORKER_OWNER_GCWORKER: go
${extraMigration}
SWITCHBOARD:
  UPSTREAMS:
    python: "http://127.0.0.1:8080"
    go: "http://127.0.0.1:8081"
  LISTEN: "0.0.0.0:8443"
  ADMIN_LISTEN: "127.0.0.1:9180"
${extraSwitchboard}`;
}

/** Six problems, one per line 3,4,5,6,8,9. */
const INVALID = `# comment
MIGRATION:
  ROUTE_OWNER_DEFAULT: Go
  ROUTE_OWNER_CAP_V2_PULLL: go
  ROUTE_CANARY_PERCENT: 101
  ROUTE_OWNER_ROUTE_9999: go
SWITCHBOARD:
  LISTEN: nope
  BOGUS: 1
`;

function write(dir: string, name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const STACK = /^\s+at /m;

interface Asserts {
  notMatch(found: unknown, pattern: RegExp, message: string): boolean;
}

function noStack(t: Asserts, r: Result): void {
  t.notMatch(r.out, STACK, 'no stack trace on stdout');
  t.notMatch(r.err, STACK, 'no stack trace on stderr');
}

/** Index of lines that differ between a and b (same length expected). */
function changedLines(a: string, b: string): number[] {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = Math.max(x.length, y.length);
  const d: number[] = [];
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) d.push(i);
  return d;
}

// ─────────────────────────────────────────────────────────── explain

t.test('explain: text output names route, pattern, family, capability, every level, winner, canary, owner', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const r = await cli(['owners', '--explain', '/v2/acme/web/manifests/latest', '--config', file]);
  t.equal(r.code, 0);
  t.equal(r.err, '');
  t.match(r.out, /^GET \/v2\/acme\/web\/manifests\/latest$/m, 'request line');
  t.match(r.out, /^\s+route\s+ROUTE_0016\s+GET \/v2\/\{repository:repopath\}\/manifests\/\{manifest_ref:tag\}$/m, 'route id and pattern');
  t.match(r.out, /^\s+family\s+REGISTRY_V2$/m, 'family');
  t.match(r.out, /^\s+capability\s+V2_PULL$/m, 'capability');
  t.match(r.out, /repository=acme\/web/, 'params');
  for (const key of ['MIGRATION_FORCE_PYTHON', 'ROUTE_OWNER_ROUTE_0016', 'ROUTE_OWNER_CAP_V2_PULL', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'ROUTE_OWNER_DEFAULT']) {
    t.ok(
      r.outLines.some((l) => l.includes(key)),
      `level ${key} listed`,
    );
  }
  const line = (key: string): string => r.outLines.find((l) => new RegExp(`\\s${key}\\s`).test(l)) ?? '';
  t.match(
    line('ROUTE_OWNER_CAP_V2_PULL'),
    new RegExp(`^\\s+▶\\s+capability\\s+ROUTE_OWNER_CAP_V2_PULL\\s+canary\\s+${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:10$`),
    'winner marked, with file:line',
  );
  t.match(line('ROUTE_OWNER_ROUTE_0016'), /^\s+route\s+ROUTE_OWNER_ROUTE_0016\s+\(unset\)$/, 'route level unset and not marked');
  t.notMatch(line('ROUTE_OWNER_ROUTE_0016'), /▶/);
  t.match(line('ROUTE_OWNER_FAMILY_REGISTRY_V2'), new RegExp(`^\\s+family\\s+ROUTE_OWNER_FAMILY_REGISTRY_V2\\s+python\\s+\\S*config\\.yaml:8$`));
  t.notMatch(line('ROUTE_OWNER_FAMILY_REGISTRY_V2'), /▶/);
  t.match(line('ROUTE_OWNER_DEFAULT'), /^\s+default\s+ROUTE_OWNER_DEFAULT\s+python\s+\S*config\.yaml:7$/);
  t.notMatch(line('ROUTE_OWNER_DEFAULT'), /▶/);
  t.match(line('MIGRATION_FORCE_PYTHON'), /^\s+kill switch\s+MIGRATION_FORCE_PYTHON\s+false\s+default$/);
  t.notMatch(line('MIGRATION_FORCE_PYTHON'), /▶/);
  t.match(r.out, /^\s+canary scope CAP_V2_PULL/m, 'canary scope');
  t.match(r.out, /^\s+percent\s+5%\s+ROUTE_CANARY_CAP_V2_PULL_PERCENT\s+namespace "acme" bucket \d{1,2}\.\d\d\s+out \(needs bucket < 5\)$/m, 'percent line with bucket');
  t.match(r.out, /^\s+orgs\s+\[test-org\]\s+ROUTE_CANARY_ORGS\s+subject "acme"\s+no match$/m, 'orgs line');
  t.match(r.out, /^\s+owner\s+python$/m, 'owner');
  t.match(r.out, /^\s+reason\s+canary_miss$/m, 'reason');
  t.match(r.out, new RegExp(`^\\s+snapshot\\s+version 1 from ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(sha256 [0-9a-f]{12}\\)$`, 'm'), 'snapshot version');
});

t.test('explain: canary org hit shows the percent bucket and a go owner', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const r = await cli(['owners', '--explain', '/v2/test-org/web/manifests/latest', '--config', file]);
  t.equal(r.code, 0);
  t.match(r.out, /^\s+orgs\s+\[test-org\]\s+ROUTE_CANARY_ORGS\s+subject "test-org"\s+match$/m);
  t.match(r.out, /^\s+percent\s+5%.*namespace "test-org" bucket \d+\.\d\d/m);
  t.match(r.out, /^\s+▶\s+canary\s+CAP_V2_PULL\s+go\s+selected by orgs$/m);
  t.match(r.out, /^\s+owner\s+go$/m);
  t.match(r.out, /^\s+reason\s+canary_org$/m);
});

t.test('explain --json: decision fields, method defaults to GET', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const r = await cli(['owners', '--explain', '/v2/acme/web/manifests/latest', '--config', file, '--json']);
  t.equal(r.code, 0);
  const j = json(r);
  t.equal(j.request.method, 'GET', 'method defaults to GET');
  t.equal(j.request.path, '/v2/acme/web/manifests/latest');
  t.equal(j.pattern, '/v2/{repository:repopath}/manifests/{manifest_ref:tag}');
  t.equal(j.decision.owner, 'python');
  t.equal(j.decision.route_id, 'ROUTE_0016');
  t.equal(j.decision.reason, 'canary_miss');
  t.equal(j.decision.family, 'REGISTRY_V2');
  t.equal(j.decision.capability, 'V2_PULL');
  t.equal(j.snapshot.version, 1);
  t.equal(j.snapshot.file, file);
  t.ok(Array.isArray(j.decision.trace));
  t.same(
    j.decision.trace.map((e: Json) => e.key),
    ['MIGRATION_FORCE_PYTHON', 'ROUTE_OWNER_ROUTE_0016', 'ROUTE_OWNER_CAP_V2_PULL', 'ROUTE_OWNER_FAMILY_REGISTRY_V2', 'ROUTE_OWNER_DEFAULT', 'CAP_V2_PULL'],
  );
  const cap = j.decision.trace.find((e: Json) => e.key === 'ROUTE_OWNER_CAP_V2_PULL');
  t.equal(cap.won, true);
  t.same(cap.origin, { source: 'file', file, line: 10 });
  t.equal(j.decision.trace.filter((e: Json) => e.level !== 'canary' && e.won).length, 1, 'exactly one switch level wins');
  const pct = j.decision.canary.checks.find((c: Json) => c.selector === 'percent');
  t.equal(pct.value, 5);
  t.equal(pct.subject, 'acme');
  t.type(pct.bucket, 'number');
  t.ok(pct.bucket >= 5 && pct.bucket < 100, 'acme is out of the 5% bucket');
});

t.test('explain: methods — HEAD manifest falls to the GET row, explicit HEAD row, lower-case method', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const head = json(await cli(['owners', '--explain', 'HEAD', '/v2/acme/web/manifests/latest', '--config', file, '--json']));
  t.equal(head.request.method, 'HEAD');
  t.equal(head.decision.route_id, 'ROUTE_0016', 'HEAD manifest → ROUTE_0016 (Flask answers HEAD with the GET rule)');
  const blob = json(await cli(['owners', '--explain', 'HEAD', `/v2/acme/web/blobs/sha256:${'a'.repeat(64)}`, '--config', file, '--json']));
  t.equal(blob.decision.route_id, 'ROUTE_0011', 'HEAD blob → its explicit HEAD row');
  const lower = json(await cli(['owners', '--explain', 'put', '/v2/acme/web/manifests/latest', '--config', file, '--json']));
  t.equal(lower.request.method, 'PUT');
  t.equal(lower.decision.route_id, 'ROUTE_0017');
});

t.test('explain: a full URL is accepted', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const r = await cli(['owners', '--explain', 'https://registry.example.com/v2/a/b/tags/list', '--config', file, '--json']);
  t.equal(r.code, 0);
  const j = json(r);
  t.equal(j.request.path, '/v2/a/b/tags/list');
  t.equal(j.decision.route_id, 'ROUTE_0019');
  t.equal(j.decision.owner, 'go');
  t.equal(j.decision.reason, 'capability_switch');
  const txt = await cli(['owners', '--explain', 'http://registry.example.com:5000/v2/a/b/tags/list', '--config', file]);
  t.equal(txt.code, 0);
  t.match(txt.out, /^GET \/v2\/a\/b\/tags\/list$/m);
  const root = json(await cli(['owners', '--explain', 'https://registry.example.com', '--config', file, '--json']));
  t.equal(root.request.path, '/', 'a bare origin means /');
});

t.test('explain --user selects a ROUTE_CANARY_USERS user', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base('  ROUTE_OWNER_CAP_V2_CATALOG: canary\n  ROUTE_CANARY_USERS: [alice]\n'));
  const alice = await cli(['owners', '--explain', '/v2/_catalog', '--user', 'alice', '--config', file, '--json']);
  t.equal(alice.code, 0);
  const a = json(alice);
  t.equal(a.request.user, 'alice');
  t.equal(a.decision.route_id, 'ROUTE_0002');
  t.equal(a.decision.owner, 'go');
  t.equal(a.decision.reason, 'canary_user');
  t.equal(a.decision.canary.selected_by, 'users');
  const bob = json(await cli(['owners', '--explain', '/v2/_catalog', '--user', 'bob', '--config', file, '--json']));
  t.equal(bob.decision.owner, 'python');
  t.equal(bob.decision.reason, 'canary_miss');
  const anon = json(await cli(['owners', '--explain', '/v2/_catalog', '--config', file, '--json']));
  t.equal(anon.decision.owner, 'python', 'no user: no selector matches');
  const txt = await cli(['owners', '--explain', '/v2/_catalog', '--user', 'alice', '--config', file]);
  t.match(txt.out, /^\s+users\s+\[alice\]\s+ROUTE_CANARY_USERS\s+subject "alice"\s+match$/m);
  t.match(txt.out, /^\s+percent\s+—\s+\(unset\)\s+user "alice" bucket \d+\.\d\d\s+not set$/m, 'percent subject falls back to the user');
  const ip = json(await cli(['owners', '--explain', '/v2/_catalog', '--client-ip', '10.1.2.3', '--config', file, '--json']));
  t.equal(ip.request.client_ip, '10.1.2.3');
  const p = ip.decision.canary.checks.find((c: Json) => c.selector === 'percent');
  t.equal(p.subject_kind, 'client', 'client address is the percent subject of last resort');
});

t.test('explain --pin: an upload session pinned to go', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const r = await cli(['owners', '--explain', 'PATCH', '/v2/acme/web/blobs/uploads/abc-123', '--pin', 'go', '--config', file, '--json']);
  t.equal(r.code, 0);
  const j = json(r);
  t.equal(j.decision.route_id, 'ROUTE_0007');
  t.equal(j.decision.owner, 'go');
  t.equal(j.decision.reason, 'upload_pin');
  const pin = j.decision.trace.find((e: Json) => e.level === 'upload_pin');
  t.same({ key: pin.key, value: pin.value, won: pin.won }, { key: 'abc-123', value: 'go', won: true });
  t.equal(j.decision.trace.filter((e: Json) => e.won).length, 1, 'only the pin wins');
  const txt = await cli(['owners', '--explain', 'PATCH', '/v2/acme/web/blobs/uploads/abc-123', '--pin', 'go', '--config', file]);
  t.match(txt.out, /^\s+▶\s+upload pin\s+upload abc-123\s+go\s+pin store$/m);
  t.match(txt.out, /^\s+reason\s+upload_pin$/m);
  // python pin beats a go capability
  const f2 = write(d, 'go-upload.yaml', base('  ROUTE_OWNER_CAP_V2_UPLOAD: go\n'));
  const py = json(await cli(['owners', '--explain', 'PUT', '/v2/acme/web/blobs/uploads/abc-123', '--pin', 'python', '--config', f2, '--json']));
  t.equal(py.decision.owner, 'python');
  t.equal(py.decision.reason, 'upload_pin');
  // a path without an upload session ignores the pin
  const tags = json(await cli(['owners', '--explain', '/v2/a/b/tags/list', '--pin', 'python', '--config', file, '--json']));
  t.equal(tags.decision.owner, 'go');
  t.equal(tags.decision.reason, 'capability_switch');
  const bad = await cli(['owners', '--explain', 'PATCH', '/v2/acme/web/blobs/uploads/abc-123', '--pin', 'Go', '--config', file]);
  t.equal(bad.code, 2, '--pin Go is a usage error');
  t.match(bad.err, /^switchboard: .*--pin takes python or go.*\[SWB_CLI_USAGE\]$/);
});

t.test('explain: kill switch from io.env overrides switches that say go', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const env = { MIGRATION_FORCE_PYTHON: 'true' };
  const r = await cli(['owners', '--explain', '/v2/a/b/tags/list', '--config', file, '--json'], { env });
  t.equal(r.code, 0);
  const j = json(r);
  t.equal(j.decision.owner, 'python');
  t.equal(j.decision.reason, 'force_python');
  const kill = j.decision.trace[0];
  t.same(
    { level: kill.level, value: kill.value, won: kill.won, origin: kill.origin },
    { level: 'kill_switch', value: true, won: true, origin: { source: 'env', name: 'MIGRATION_FORCE_PYTHON' } },
  );
  const txt = await cli(['owners', '--explain', '/v2/a/b/tags/list', '--config', file], { env });
  t.match(txt.out, /^\s+▶\s+kill switch\s+MIGRATION_FORCE_PYTHON\s+true\s+env MIGRATION_FORCE_PYTHON$/m);
  t.match(txt.out, /^\s+capability\s+ROUTE_OWNER_CAP_V2_TAGS\s+go\s/m, 'the go switch is still shown');
  t.notMatch(txt.out, /▶\s+capability/, 'but does not win');
  t.match(txt.out, /^\s+owner\s+python$/m);
  t.match(txt.out, /^\s+reason\s+force_python$/m);
  // canary org would pick go; the kill switch still wins
  const org = json(await cli(['owners', '--explain', '/v2/test-org/web/manifests/latest', '--config', file, '--json'], { env }));
  t.equal(org.decision.owner, 'python');
  t.equal(org.decision.reason, 'force_python');
  // env "false" / "0" does not switch it on; the file can switch it on
  const off = json(await cli(['owners', '--explain', '/v2/a/b/tags/list', '--config', file, '--json'], { env: { MIGRATION_FORCE_PYTHON: '0' } }));
  t.equal(off.decision.owner, 'go');
  const f2 = write(d, 'killed.yaml', base('  MIGRATION_FORCE_PYTHON: true\n'));
  const fk = json(await cli(['owners', '--explain', '/v2/a/b/tags/list', '--config', f2, '--json']));
  t.equal(fk.decision.reason, 'force_python');
});

t.test('explain: paths no inventory row matches', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  // Under a family prefix: the family switch decides.
  const fam = await cli(['owners', '--explain', '/v2/nope/zzz', '--config', file]);
  t.equal(fam.code, 0);
  t.match(fam.out, /^\s+route\s+none: no inventory row matches GET on this path$/m);
  t.match(fam.out, /^\s+family\s+REGISTRY_V2$/m);
  t.match(fam.out, /^\s+▶\s+family\s+ROUTE_OWNER_FAMILY_REGISTRY_V2\s+python/m);
  t.match(fam.out, /^\s+reason\s+unknown_route$/m);
  const fj = json(await cli(['owners', '--explain', '/v2/nope/zzz', '--config', file, '--json']));
  t.equal(fj.decision.route_id, null);
  t.equal(fj.pattern, null);
  t.equal(fj.decision.family, 'REGISTRY_V2');
  t.equal(fj.decision.reason, 'unknown_route');
  const goFam = write(d, 'gofam.yaml', base().replace('ROUTE_OWNER_FAMILY_REGISTRY_V2: python', 'ROUTE_OWNER_FAMILY_REGISTRY_V2: go'));
  t.equal(json(await cli(['owners', '--explain', '/v2/nope/zzz', '--config', goFam, '--json'])).decision.owner, 'go', 'family owner applies');
  // No family prefix, and the method has no row for the path (GET /static/x.js is a web-UI catch-all row).
  const def = await cli(['owners', '--explain', 'POST', '/static/x.js', '--config', file]);
  t.equal(def.code, 0);
  t.match(def.out, /^\s+route\s+none: no inventory row matches POST on this path \(the path exists for GET, HEAD\)$/m);
  t.match(def.out, /^\s+family\s+\(none: no family prefix matches\)$/m);
  t.match(def.out, /^\s+▶\s+default\s+ROUTE_OWNER_DEFAULT\s+python/m);
  const dj = json(await cli(['owners', '--explain', 'POST', '/static/x.js', '--config', file, '--json']));
  t.equal(dj.decision.route_id, null);
  t.equal(dj.decision.family, null);
  t.same(dj.allowed_methods, ['GET', 'HEAD']);
  const goDef = write(d, 'godef.yaml', 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: go\n');
  const gd = json(await cli(['owners', '--explain', 'POST', '/static/x.js', '--config', goDef, '--json']));
  t.equal(gd.decision.owner, 'go', 'default owner applies');
  t.equal(gd.decision.reason, 'unknown_route');
});

t.test('explain: usage errors exit 2, config errors exit 1, no stack traces', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const badPath = await cli(['owners', '--explain', 'v2/x', '--config', file]);
  t.equal(badPath.code, 2);
  t.equal(badPath.out, '');
  t.match(badPath.err, /^switchboard: "v2\/x" is not a request path.*\[SWB_EXPLAIN_BAD_PATH\]$/);
  noStack(t, badPath);
  const ftp = await cli(['owners', '--explain', 'ftp://host/v2/', '--config', file]);
  t.equal(ftp.code, 2);
  t.match(ftp.err, /\[SWB_EXPLAIN_BAD_PATH\]/);
  const badMethod = await cli(['owners', '--explain', 'FETCH', '/v2/', '--config', file]);
  t.equal(badMethod.code, 2);
  t.match(badMethod.err, /^switchboard: "FETCH" is not an HTTP method/);
  t.match(badMethod.err, /\[SWB_CLI_USAGE\]/);
  noStack(t, badMethod);
  const noPath = await cli(['owners', '--explain', '--config', file]);
  t.equal(noPath.code, 2);
  t.match(noPath.err, /give one request: \[METHOD\] PATH/);
  const three = await cli(['owners', '--explain', 'GET', '/v2/', 'extra', '--config', file]);
  t.equal(three.code, 2);
  const unknownFlag = await cli(['owners', '--explain', '/v2/', '--bogus', '--config', file]);
  t.equal(unknownFlag.code, 2);
  t.match(unknownFlag.err, /\[SWB_CLI_USAGE\]/);
  const missing = await cli(['owners', '--explain', '/v2/', '--config', join(d, 'nope.yaml')]);
  t.equal(missing.code, 1);
  t.match(missing.err, /^switchboard: cannot read .*nope\.yaml: no such file.*\[SWB_CONFIG_UNREADABLE\]$/);
  t.equal(missing.out, '');
  noStack(t, missing);
  const asDir = await cli(['owners', '--explain', '/v2/', '--config', d]);
  t.equal(asDir.code, 1, 'a directory as config is unreadable, not an internal error');
  t.match(asDir.err, /\[SWB_CONFIG_UNREADABLE\]/);
});

t.test('explain: invalid config lists every problem with file:line', async (t) => {
  const d = tmp(t);
  const bad = write(d, 'bad.yaml', INVALID);
  const r = await cli(['owners', '--explain', '/v2/', '--config', bad]);
  t.equal(r.code, 1);
  t.equal(r.out, '');
  t.match(r.errLines[0], /bad\.yaml: invalid config \(6 problems\):$/);
  const expected: [number, string][] = [
    [3, 'SWB_CONFIG_BAD_OWNER'],
    [4, 'SWB_CONFIG_UNKNOWN_CAPABILITY'],
    [5, 'SWB_CONFIG_BAD_PERCENT'],
    [6, 'SWB_CONFIG_UNKNOWN_ROUTE'],
    [8, 'SWB_CONFIG_BAD_VALUE'],
    [9, 'SWB_CONFIG_UNKNOWN_KEY'],
  ];
  for (const [line, code] of expected) {
    t.ok(
      r.errLines.some((l) => l.includes(`${bad}:${line}: `) && l.endsWith(`[${code}]`)),
      `${bad}:${line} ${code}`,
    );
  }
  t.match(r.err, /V2_PULLL \(did you mean V2_PULL\?\)/, 'suggestion for a typo');
  noStack(t, r);
  const yamlErr = write(d, 'broken.yaml', 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: [python\n');
  const y = await cli(['owners', '--explain', '/v2/', '--config', yamlErr]);
  t.equal(y.code, 1);
  t.match(y.err, /broken\.yaml:\d+: YAML: .*\[SWB_CONFIG_YAML\]/);
  noStack(t, y);
});

t.test("explain: the snapshot digest is the file's sha256, the same as config validate --json", async (t) => {
  const d = tmp(t);
  const text = base();
  const file = write(d, 'config.yaml', text);
  const validated = json(await cli(['config', 'validate', file, '--json'])).sha256 as string;
  t.equal(validated, sha256(text));
  const j = json(await cli(['owners', '--explain', '/v2/a/b/tags/list', '--config', file, '--json']));
  t.equal(j.snapshot.digest, sha256(text), 'explain --json digest = sha256 of the file');
  t.equal(j.snapshot.digest, validated, 'and = config validate --json sha256');
  const env = { ROUTE_OWNER_CAP_V2_TAGS: 'python', MIGRATION_FORCE_PYTHON: 'false' };
  const withEnv = json(await cli(['owners', '--explain', '/v2/a/b/tags/list', '--config', file, '--json'], { env }));
  t.equal(withEnv.decision.owner, 'python', 'the override is in force');
  t.equal(withEnv.snapshot.digest, validated, 'environment overrides do not change the digest');
  const txt = await cli(['owners', '--explain', '/v2/a/b/tags/list', '--config', file]);
  t.match(txt.out, new RegExp(`\\(sha256 ${validated.slice(0, 12)}\\)$`, 'm'), 'the text shows its first 12 hex digits');
  // The digest set --if-digest takes.
  t.equal((await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', file, '--if-digest', j.snapshot.digest])).code, 0);
});

t.test('explain: config comes from $SWITCHBOARD_CONFIG in io.env', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const r = await cli(['owners', '--explain', '/v2/a/b/tags/list', '--json'], { env: { SWITCHBOARD_CONFIG: file } });
  t.equal(r.code, 0);
  t.equal(json(r).snapshot.file, file);
  t.equal(json(r).decision.owner, 'go');
});

t.test('relative paths resolve against io.cwd, not process.cwd()', async (t) => {
  // io.cwd is a temp dir, never process.cwd(): a command that looked in process.cwd() would miss these files.
  const d = tmp(t);
  t.not(d, process.cwd());
  const file = write(d, 'config.yaml', base());
  const r = await cli(['owners', '--explain', '/v2/a/b/tags/list', '--json'], { cwd: d });
  t.equal(r.code, 0, 'default ./config.yaml is found in io.cwd');
  t.equal(json(r).snapshot.file, file, 'and named by its absolute path');
  t.equal(json(r).decision.owner, 'go');
  write(d, 'other.yaml', base('  ROUTE_OWNER_CAP_V2_PUSH: go\n'));
  const flag = await cli(['owners', '--explain', 'PUT', '/v2/a/b/manifests/latest', '--config', 'other.yaml', '--json'], { cwd: d });
  t.equal(flag.code, 0, '--config with a relative path');
  t.same([json(flag).snapshot.file, json(flag).decision.owner], [join(d, 'other.yaml'), 'go']);
  const viaEnv = await cli(['owners', '--explain', 'PUT', '/v2/a/b/manifests/latest', '--json'], { cwd: d, env: { SWITCHBOARD_CONFIG: 'other.yaml' } });
  t.equal(json(viaEnv).snapshot.file, join(d, 'other.yaml'), 'a relative $SWITCHBOARD_CONFIG too');
  const validate = await cli(['config', 'validate', 'other.yaml'], { cwd: d });
  t.equal(validate.code, 0, 'config validate FILE');
  t.match(validate.out, new RegExp(`^${join(d, 'other.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: valid`));
  const validateDefault = await cli(['config', 'validate', '--json'], { cwd: d });
  t.equal(json(validateDefault).file, file, 'config validate with no FILE: ./config.yaml in io.cwd');
  const list = await cli(['owners', 'list', '--json'], { cwd: d });
  t.equal(list.code, 0, 'owners list');
  const workers = await cli(['owners', 'workers', '--json'], { cwd: d });
  t.equal(workers.code, 0, 'owners workers');
  const diff = await cli(['owners', 'diff', 'config.yaml', 'other.yaml', '--json'], { cwd: d });
  t.equal(diff.code, 0, 'owners diff with relative FILE arguments');
  t.same(
    json(diff).routes.map((x: Json) => x.route_id),
    ['ROUTE_0014', 'ROUTE_0017'],
  );
  const set = await cli(['set', 'ROUTE_OWNER_CAP_V2_TAGS', 'python', '--actor', 'ops'], { cwd: d });
  t.equal(set.code, 0, 'set with the default ./config.yaml');
  t.match(readFileSync(file, 'utf8'), /^ {2}ROUTE_OWNER_CAP_V2_TAGS: python$/m, 'the file in io.cwd was edited');
  t.match(JSON.parse(readFileSync(join(d, 'switchboard-audit.log'), 'utf8').trim()), { file, key: 'ROUTE_OWNER_CAP_V2_TAGS' }, 'audit log next to it, with the absolute path');
  const setFlag = await cli(['set', 'ROUTE_OWNER_CAP_V2_TAGS', 'python', '--config', 'other.yaml'], { cwd: d });
  t.equal(setFlag.code, 0, 'set --config with a relative path');
  t.match(readFileSync(join(d, 'other.yaml'), 'utf8'), /^ {2}ROUTE_OWNER_CAP_V2_TAGS: python$/m);
  const missing = await cli(['config', 'validate', 'nope.yaml'], { cwd: d });
  t.equal(missing.code, 1);
  t.match(missing.err, `cannot read ${join(d, 'nope.yaml')}: no such file`, 'a missing relative file is named by its resolved path');
});

// ─────────────────────────────────────────────────────────── owners list

t.test('owners list: per-capability table and totals', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const r = await cli(['owners', 'list', '--config', file]);
  t.equal(r.code, 0);
  t.match(r.outLines[0], /^FAMILY\s+CAPABILITY\s+ROUTES\s+OWNER\s+CANARY\s+SET BY\s+WHERE$/);
  t.match(r.out, /^REGISTRY_V2\s+V2_PULL\s+4\s+canary\s+5% \+ orgs \[test-org\]\s+ROUTE_OWNER_CAP_V2_PULL\s+\S*config\.yaml:10$/m);
  t.match(r.out, /^REGISTRY_V2\s+V2_TAGS\s+1\s+go\s+ROUTE_OWNER_CAP_V2_TAGS\s+\S*config\.yaml:15$/m);
  t.match(r.out, /^REGISTRY_V2\s+V2_AUTH\s+1\s+python\s+ROUTE_OWNER_ROUTE_0003\s+\S*config\.yaml:14$/m);
  t.match(r.out, /^REGISTRY_V1\s+V1_PULL\s+\d+\s+python\s+ROUTE_OWNER_DEFAULT\s+\S*config\.yaml:7$/m);
  t.match(r.out, /^\d+ capabilities, 435 routes: 1 go, 4 canary, 430 python or mixed$/m);
  t.notMatch(r.out, /KILL SWITCH/);
});

t.test('owners list: family filter accepts registry-v2 and REGISTRY_V2; unknown family is a usage error', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const a = await cli(['owners', 'list', '--family', 'registry-v2', '--config', file]);
  const b = await cli(['owners', 'list', '--family', 'REGISTRY_V2', '--config', file]);
  t.equal(a.code, 0);
  t.equal(b.code, 0);
  t.equal(a.out, b.out, 'same output for both spellings');
  const rows = a.outLines.slice(1).filter((l) => /^\S/.test(l) && !/capabilities,/.test(l));
  t.equal(rows.length, 9);
  t.ok(
    rows.every((l) => l.startsWith('REGISTRY_V2 ')),
    'only REGISTRY_V2 rows',
  );
  t.match(a.out, /^9 capabilities, 19 routes: 1 go, 4 canary, 14 python or mixed$/m);
  const cap = json(await cli(['owners', 'list', '--capability', 'v2-pull', '--config', file, '--json']));
  t.equal(cap.capabilities.length, 1);
  t.equal(cap.capabilities[0].capability, 'V2_PULL');
  t.equal(cap.capabilities[0].routes, 4);
  const unknown = await cli(['owners', 'list', '--family', 'nope', '--config', file]);
  t.equal(unknown.code, 2);
  t.match(unknown.err, /^switchboard: unknown family nope.*\[SWB_CLI_USAGE\]$/);
  t.equal(unknown.out, '');
  const typo = await cli(['owners', 'list', '--family', 'registry-v3', '--config', file]);
  t.equal(typo.code, 2);
  t.match(typo.err, /did you mean REGISTRY_V2\?/);
  const unknownCap = await cli(['owners', 'list', '--capability', 'V2_PULLL', '--config', file]);
  t.equal(unknownCap.code, 2);
  t.match(unknownCap.err, /unknown capability V2_PULLL \(did you mean V2_PULL\?\)/);
  const extra = await cli(['owners', 'list', 'extra', '--config', file]);
  t.equal(extra.code, 2);
});

t.test('owners list --routes and --json', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const r = await cli(['owners', 'list', '--routes', '--family', 'REGISTRY_V2', '--config', file]);
  t.equal(r.code, 0);
  t.match(r.outLines[0], /^ROUTE\s+METHOD\s+PATTERN\s+CAPABILITY\s+OWNER\s+SET BY$/);
  t.equal(r.outLines.length, 20, 'header + 19 routes');
  t.match(r.out, /^ROUTE_0016\s+GET\s+\/v2\/\{repository:repopath\}\/manifests\/\{manifest_ref:tag\}\s+V2_PULL\s+canary 5% \+ orgs \[test-org\]\s+ROUTE_OWNER_CAP_V2_PULL$/m);
  t.match(r.out, /^ROUTE_0003\s+GET\s+\/v2\/auth\s+V2_AUTH\s+python\s+ROUTE_OWNER_ROUTE_0003$/m);
  const all = json(await cli(['owners', 'list', '--routes', '--json', '--config', file]));
  t.equal(all.routes.length, 435);
  t.equal(all.kill_switch, false);
  t.equal(new Set(all.routes.map((x: Json) => x.route_id)).size, 435, 'route ids unique');
  t.equal(all.routes.filter((x: Json) => x.owner === 'go').length, 1);
  t.equal(all.routes.filter((x: Json) => x.owner === 'canary').length, 4);
  const caps = json(await cli(['owners', 'list', '--json', '--config', file]));
  t.equal(caps.snapshot_version, 1);
  const total = caps.capabilities.reduce((n: number, c: Json) => n + c.routes, 0);
  t.equal(total, 435, 'capability route counts add up to 435');
  for (const c of caps.capabilities) {
    const sum = Object.values(c.route_owners as Record<string, number>).reduce((n, x) => n + x, 0);
    if (sum !== c.routes) t.fail(`${c.capability}: route_owners add to ${sum}, not ${c.routes}`);
  }
  t.pass('route_owners add up per capability');
});

t.test('owners list: a ROUTE_OWNER_ROUTE_ override makes its capability mixed', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base('  ROUTE_OWNER_ROUTE_0016: go\n'));
  const j = json(await cli(['owners', 'list', '--json', '--capability', 'V2_PULL', '--config', file]));
  const row = j.capabilities[0];
  t.equal(row.owner, 'mixed');
  t.equal(row.origin, 'route overrides');
  t.same(row.route_owners, { 'canary 5% + orgs [test-org]': 3, go: 1 });
  t.match(row.set_by, /3 canary 5% \+ orgs \[test-org\]/);
  t.match(row.set_by, /1 go/);
  const txt = await cli(['owners', 'list', '--config', file]);
  t.match(txt.out, /^REGISTRY_V2\s+V2_PULL\s+4\s+mixed\s/m);
  t.match(txt.out, /435 routes: 1 go, 0 canary, 434 python or mixed/);
  // an override equal to its capability's owner changes nothing
  const same = write(d, 'same.yaml', base('  ROUTE_OWNER_ROUTE_0019: go\n'));
  const s = json(await cli(['owners', 'list', '--json', '--capability', 'V2_TAGS', '--config', same]));
  t.equal(s.capabilities[0].owner, 'go');
});

t.test('owners list: kill switch', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const env = { MIGRATION_FORCE_PYTHON: 'true' };
  const r = await cli(['owners', 'list', '--config', file], { env });
  t.equal(r.code, 0);
  t.match(r.outLines[0], /^KILL SWITCH ON \(MIGRATION_FORCE_PYTHON\)/);
  t.match(r.out, /435 routes: 0 go, 0 canary, 435 python or mixed/);
  t.equal(json(await cli(['owners', 'list', '--json', '--config', file], { env })).kill_switch, true);
});

// ─────────────────────────────────────────────────────────── owners workers

t.test('owners workers: text and --json', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const r = await cli(['owners', 'workers', '--config', file]);
  t.equal(r.code, 0);
  t.match(r.outLines[0], /^PROGRAM\s+KIND\s+QUEUE\s+OWNER\s+REASON\s+SWITCH$/);
  t.match(r.out, /^gcworker\s+gc\s+-\s+go\s+worker_switch\s+WORKER_OWNER_GCWORKER$/m);
  t.match(r.out, /^builder\s+build-manager\s+dockerfilebuild\s+python\s+default\s+WORKER_OWNER_BUILDER$/m);
  const j = json(await cli(['owners', 'workers', '--json', '--config', file]));
  t.equal(j.workers.length, 29);
  const gc = j.workers.find((w: Json) => w.program === 'gcworker');
  t.equal(gc.owner, 'go');
  t.equal(gc.reason, 'worker_switch');
  t.same(gc.origin, { source: 'file', file, line: 16 });
  t.equal(j.workers.filter((w: Json) => w.owner === 'go').length, 1);
  const killed = json(await cli(['owners', 'workers', '--json', '--config', file], { env: { MIGRATION_FORCE_PYTHON: 'yes' } }));
  const gk = killed.workers.find((w: Json) => w.program === 'gcworker');
  t.equal(gk.owner, 'python');
  t.equal(gk.reason, 'force_python');
  const env = json(await cli(['owners', 'workers', '--json', '--config', file], { env: { WORKER_OWNER_BUILDER: 'go' } }));
  t.equal(env.workers.find((w: Json) => w.program === 'builder').owner, 'go', 'environment switch applies');
});

t.test('owners workers --go-admin: what a go runtime is doing, and a runtime that does not answer', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  // A go runtime's admin listener answers /readyz with its runner's states (quay/runtime.ts, quay/worker-cli.ts).
  const states = [
    { program: 'gcworker', owner: 'go', reason: 'worker_switch', running: true, runs: 7, failures: 1, last_run_at: '2026-12-04T12:00:00.000Z', last_error: 'database is locked' },
  ];
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === '/readyz' ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ready', workers: states }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const admin = `127.0.0.1:${(server.address() as { port: number }).port}`;
  const r = await cli(['owners', 'workers', '--config', file, '--go-admin', admin]);
  t.equal(r.code, 0);
  t.match(r.outLines[0], /GO RUNTIMES$/);
  t.match(r.out, new RegExp(`^gcworker .* ${admin.replace(/\./g, '\\.')}: running, 7 passes, 1 failed \\(last: database is locked\\)$`, 'm'));
  t.match(r.out, /^builder .* -$/m, 'a program no runtime runs');
  const dead = '127.0.0.1:1';
  const both = await cli(['owners', 'workers', '--config', file, '--go-admin', admin, '--go-admin', dead, '--json']);
  t.equal(both.code, 1, 'exit 1: one runtime did not answer');
  t.match(both.err, new RegExp(`go runtime ${dead} did not answer`));
  const j = json(both);
  t.same(j.workers.find((w: Json) => w.program === 'gcworker').go_runtimes, [
    { admin, running: true, runs: 7, failures: 1, last_run_at: '2026-12-04T12:00:00.000Z', last_error: 'database is locked' },
  ]);
  t.equal(j.unreachable[0].admin, dead);
});

// ─────────────────────────────────────────────────────────── owners diff

t.test('owners diff: lists exactly the routes whose owner changes', async (t) => {
  const d = tmp(t);
  const a = write(d, 'old.yaml', base());
  const b = write(d, 'new.yaml', base('  ROUTE_OWNER_CAP_V2_PUSH: go\n'));
  const r = await cli(['owners', 'diff', a, b]);
  t.equal(r.code, 0, 'no --exit-code: 0 even with changes');
  const routeLines = r.outLines.filter((l) => /^ROUTE_\d{4}\s/.test(l));
  t.same(
    routeLines.map((l) => l.split(/\s+/)[0]),
    ['ROUTE_0014', 'ROUTE_0017'],
  );
  t.match(r.out, /^ROUTE_0014\s+PUT\s+\S+\s+V2_PUSH\s+python → go$/m);
  t.match(r.out, /2 routes change owner \(V2_PUSH 2\); 0 workers change owner/);
  t.equal((await cli(['owners', 'diff', a, b, '--exit-code'])).code, 1, '--exit-code: 1 on change');
  const j = json(await cli(['owners', 'diff', a, b, '--json']));
  t.same(
    j.routes.map((x: Json) => x.route_id),
    ['ROUTE_0014', 'ROUTE_0017'],
  );
  t.equal(j.routes[0].before.owner, 'python');
  t.equal(j.routes[0].after.owner, 'go');
  t.equal(j.routes[0].after.set_by, 'ROUTE_OWNER_CAP_V2_PUSH');
  t.same(j.workers, []);
  t.same(j.kill_switch, { before: false, after: false });
  const same = await cli(['owners', 'diff', a, a, '--exit-code']);
  t.equal(same.code, 0, '--exit-code: 0 when identical');
  t.equal(same.out, 'no owner changes');
  // a change of which key decides, but not of owner, is not listed
  const moved = write(d, 'moved.yaml', base('  ROUTE_OWNER_CAP_V2_BASE: python\n'));
  const m = await cli(['owners', 'diff', a, moved, '--exit-code']);
  t.equal(m.code, 0);
  t.equal(m.out, 'no owner changes');
});

t.test('owners diff: kill switch and worker changes', async (t) => {
  const d = tmp(t);
  const a = write(d, 'old.yaml', base());
  const k = write(d, 'kill.yaml', base('  MIGRATION_FORCE_PYTHON: true\n'));
  const r = await cli(['owners', 'diff', a, k, '--exit-code']);
  t.equal(r.code, 1);
  t.match(r.outLines[0], /^kill switch MIGRATION_FORCE_PYTHON: false → true$/);
  t.match(r.out, /^worker\s+gcworker\s+go → python$/m);
  const j = json(await cli(['owners', 'diff', a, k, '--json']));
  t.same(j.kill_switch, { before: false, after: true });
  t.same(j.workers, [{ program: 'gcworker', before: 'go', after: 'python' }]);
  const movedOwner = j.routes.filter((x: Json) => x.before.owner !== x.after.owner).map((x: Json) => x.route_id);
  t.equal(movedOwner.length, 5, '5 routes really move (1 go + 4 canary)');
  t.equal(j.routes.length, 5, 'only routes whose owner changes are listed');
  t.same(
    j.routes.map((x: Json) => x.route_id).sort(),
    ['ROUTE_0013', 'ROUTE_0016', 'ROUTE_0019', 'ROUTE_0010', 'ROUTE_0011'].sort(),
    'the go route (V2_TAGS) and the 4 canary routes (V2_PULL)',
  );
  t.same(
    j.routes.map((x: Json) => x.after.effective),
    ['python', 'python', 'python', 'python', 'python'],
    'all become python',
  );
  t.notOk(
    j.routes.some((x: Json) => x.before.effective === 'python'),
    'no python → python (kill switch) line',
  );
  t.equal(r.outLines.filter((l) => /^ROUTE_\d{4}\s/.test(l)).length, 5, 'text: 5 route lines, not 435');
  t.match(r.out, /5 routes change owner \(V2_PULL 4, V2_TAGS 1\); 1 worker change owner/);
  // The other direction: turning the kill switch off moves the same 5 back.
  const back = json(await cli(['owners', 'diff', k, a, '--json']));
  t.same(back.routes.map((x: Json) => x.route_id).sort(), j.routes.map((x: Json) => x.route_id).sort());
  t.same(back.kill_switch, { before: true, after: false });
  // Both sides killed: switches that change underneath move nobody.
  const k2 = write(d, 'kill2.yaml', base('  MIGRATION_FORCE_PYTHON: yes\n').replace('ROUTE_OWNER_DEFAULT: python', 'ROUTE_OWNER_DEFAULT: go'));
  const both = await cli(['owners', 'diff', k, k2, '--exit-code']);
  t.equal(both.code, 0, 'kill switch on both sides (true, and YAML 1.1 yes): no effective change');
  t.equal(both.out, 'no owner changes');
  const w = write(d, 'worker.yaml', base('  WORKER_OWNER_BUILDER: go\n'));
  const wr = await cli(['owners', 'diff', a, w, '--exit-code', '--json']);
  t.equal(wr.code, 1, 'a worker change alone counts as a change');
  t.same(json(wr).workers, [{ program: 'builder', before: 'python', after: 'go' }]);
  t.same(json(wr).routes, []);
});

t.test('owners diff: reads files without environment overrides; usage and config errors', async (t) => {
  const d = tmp(t);
  const a = write(d, 'old.yaml', base());
  const r = await cli(['owners', 'diff', a, a, '--exit-code'], { env: { MIGRATION_FORCE_PYTHON: 'true', ROUTE_OWNER_DEFAULT: 'Go' } });
  t.equal(r.code, 0, 'environment neither changes nor invalidates the diff');
  const one = await cli(['owners', 'diff', a]);
  t.equal(one.code, 2);
  t.match(one.err, /give two config files.*/);
  t.match(one.err, /\[SWB_CLI_USAGE\]/);
  const bad = write(d, 'bad.yaml', INVALID);
  const b = await cli(['owners', 'diff', a, bad]);
  t.equal(b.code, 1);
  t.match(b.err, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: `));
  const missing = await cli(['owners', 'diff', a, join(d, 'nope.yaml')]);
  t.equal(missing.code, 1);
  t.match(missing.err, /\[SWB_CONFIG_UNREADABLE\]/);
});

// ─────────────────────────────────────────────────────────── config validate

t.test('config validate: valid file', async (t) => {
  const d = tmp(t);
  const text = base();
  const file = write(d, 'config.yaml', text);
  const r = await cli(['config', 'validate', file, '--offline']);
  t.equal(r.code, 0);
  t.equal(r.err, '');
  t.equal(r.out, `${file}: valid — 8 switches set; routes: 1 go, 4 canary, 430 python`);
  const viaFlag = await cli(['config', 'validate', '--config', file]);
  t.equal(viaFlag.out, r.out, '--config FILE works too');
  const viaEnv = await cli(['config', 'validate'], { env: { SWITCHBOARD_CONFIG: file } });
  t.equal(viaEnv.out, r.out, '$SWITCHBOARD_CONFIG works too');
  const j = json(await cli(['config', 'validate', file, '--json']));
  t.equal(j.valid, true);
  t.equal(j.file, file);
  t.equal(j.sha256, sha256(text), 'sha256 is the digest of the file bytes');
  t.equal(j.switches_set, 8);
  t.equal(j.routes_go + j.routes_canary + j.routes_python, 435);
  t.same(j.workers_go, ['gcworker']);
  t.same(j.from_environment, []);
  t.equal(j.kill_switch, false);
});

t.test('config validate: invalid file lists every problem with its line', async (t) => {
  const d = tmp(t);
  const bad = write(d, 'bad.yaml', INVALID);
  const r = await cli(['config', 'validate', bad]);
  t.equal(r.code, 1);
  t.equal(r.out, '');
  t.equal(r.errLines[0], `${bad}: invalid (6 problems):`);
  for (const line of [3, 4, 5, 6, 8, 9])
    t.ok(
      r.errLines.some((l) => l.startsWith(`  ${bad}:${line}: `)),
      `line ${line} reported`,
    );
  t.equal(r.errLines.length, 7);
  noStack(t, r);
  const j = await cli(['config', 'validate', bad, '--json']);
  t.equal(j.code, 1);
  const v = json(j);
  t.equal(v.valid, false);
  t.equal(v.issues.length, 6);
  t.same(
    v.issues.map((i: Json) => [i.line, i.code]),
    [
      [3, 'SWB_CONFIG_BAD_OWNER'],
      [4, 'SWB_CONFIG_UNKNOWN_CAPABILITY'],
      [5, 'SWB_CONFIG_BAD_PERCENT'],
      [6, 'SWB_CONFIG_UNKNOWN_ROUTE'],
      [8, 'SWB_CONFIG_BAD_VALUE'],
      [9, 'SWB_CONFIG_UNKNOWN_KEY'],
    ],
  );
  t.same(
    v.issues.map((i: Json) => i.key),
    [
      'MIGRATION.ROUTE_OWNER_DEFAULT',
      'MIGRATION.ROUTE_OWNER_CAP_V2_PULLL',
      'MIGRATION.ROUTE_CANARY_PERCENT',
      'MIGRATION.ROUTE_OWNER_ROUTE_9999',
      'SWITCHBOARD.LISTEN',
      'SWITCHBOARD.BOGUS',
    ],
  );
});

t.test('config validate: environment overrides are listed and validated', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const env = { ROUTE_OWNER_CAP_V2_PUSH: 'go', WORKER_OWNER_BUILDER: 'go', UNRELATED: 'x' };
  const r = await cli(['config', 'validate', file], { env });
  t.equal(r.code, 0);
  t.match(r.outLines[0], /valid — 10 switches set; routes: 3 go, 4 canary, 428 python$/);
  t.equal(r.outLines[1], 'environment overrides in force: ROUTE_OWNER_CAP_V2_PUSH, WORKER_OWNER_BUILDER');
  const j = json(await cli(['config', 'validate', file, '--json'], { env }));
  t.same(j.from_environment, ['ROUTE_OWNER_CAP_V2_PUSH', 'WORKER_OWNER_BUILDER']);
  t.same(j.workers_go.slice().sort(), ['builder', 'gcworker']);
  const kill = await cli(['config', 'validate', file], { env: { MIGRATION_FORCE_PYTHON: 'on' } });
  t.match(kill.outLines[0], /KILL SWITCH ON: every route and worker goes to python$/);
  t.equal(kill.outLines[1], 'environment overrides in force: MIGRATION_FORCE_PYTHON');
  const empty = await cli(['config', 'validate', file], { env: { MIGRATION_FORCE_PYTHON: '', ROUTE_OWNER_CAP_V2_PUSH: '' } });
  t.equal(empty.out, `${file}: valid — 8 switches set; routes: 1 go, 4 canary, 430 python`, 'empty variables are unset: no override, no kill switch');
  const envJson = json(await cli(['config', 'validate', file, '--json'], { env }));
  t.equal(envJson.sha256, sha256(base()), "the sha256 is the file's, whatever the environment");
  const bad = await cli(['config', 'validate', file], { env: { ROUTE_OWNER_CAP_V2_PUSH: 'Go', ROUTE_OWNER_CAP_NOPE: 'go' } });
  t.equal(bad.code, 1);
  t.match(bad.err, /environment ROUTE_OWNER_CAP_V2_PUSH: "Go" is not an owner.*\[SWB_CONFIG_BAD_OWNER\]/);
  t.match(bad.err, /environment ROUTE_OWNER_CAP_NOPE: unknown capability NOPE.*\[SWB_CONFIG_UNKNOWN_CAPABILITY\]/);
});

t.test('config validate: the kill switch in the file', async (t) => {
  const d = tmp(t);
  for (const value of ['true', 'yes', 'on']) {
    const file = write(d, `kill-${value}.yaml`, base(`  MIGRATION_FORCE_PYTHON: ${value}\n`));
    const r = await cli(['config', 'validate', file]);
    t.equal(r.code, 0);
    t.equal(r.out, `${file}: valid — 9 switches set; KILL SWITCH ON: every route and worker goes to python`, `MIGRATION_FORCE_PYTHON: ${value}`);
    t.equal(json(await cli(['config', 'validate', file, '--json'])).kill_switch, true);
  }
  const off = write(d, 'off.yaml', base('  MIGRATION_FORCE_PYTHON: off\n'));
  t.notMatch((await cli(['config', 'validate', off])).out, /KILL SWITCH/, 'off is false');
});

t.test('config validate: unreadable file and usage errors', async (t) => {
  const d = tmp(t);
  const r = await cli(['config', 'validate', join(d, 'nope.yaml')]);
  t.equal(r.code, 1);
  t.match(r.err, /^switchboard: cannot read .*nope\.yaml.*\[SWB_CONFIG_UNREADABLE\]$/);
  t.match(r.err, `cannot read ${join(d, 'nope.yaml')}: no such file`, 'says no such file');
  t.equal(r.out, '');
  noStack(t, r);
  const viaFlag = await cli(['config', 'validate', '--config', join(d, 'nope.yaml')]);
  t.match(viaFlag.err, /no such file/);
  const dir = await cli(['config', 'validate', d]);
  t.equal(dir.code, 1);
  t.match(dir.err, /^switchboard: cannot read .*\[SWB_CONFIG_UNREADABLE\]$/, 'a directory');
  const two = await cli(['config', 'validate', 'a.yaml', 'b.yaml']);
  t.equal(two.code, 2);
  const nosub = await cli(['config']);
  t.equal(nosub.code, 2, '`switchboard config` alone exits 2');
  t.equal(nosub.out, '');
  t.match(nosub.errLines[0], /^switchboard.*\[SWB_CLI_USAGE\]$/, 'the code on the first line');
  t.match(nosub.err, /\n\nUsage: switchboard config validate/, 'then, after a blank line, the validate usage');
  const unknown = await cli(['config', 'check']);
  t.equal(unknown.code, 2);
  t.match(unknown.err, /unknown subcommand "check"/);
});

// ─────────────────────────────────────────────────────────── set

t.test('set: changes one value in place, every other line byte-identical, audit log appended', async (t) => {
  const d = tmp(t);
  const before = base();
  const file = write(d, 'config.yaml', before);
  const r = await cli(['set', 'ROUTE_OWNER_CAP_V2_TAGS', 'python', '--config', file, '--reason', 'roll back tags', '--actor', 'alice']);
  t.equal(r.code, 0);
  t.match(r.outLines[0], /^set MIGRATION\.ROUTE_OWNER_CAP_V2_TAGS: "go" → "python" in /);
  t.match(r.out, /^ROUTE_0019\s+GET\s+\S+\s+V2_TAGS\s+go → python$/m);
  t.match(r.out, /1 route change owner \(V2_TAGS 1\)/);
  const after = readFileSync(file, 'utf8');
  t.same(changedLines(before, after), [14], 'only line 15 differs');
  t.equal(after, before.replace('\n  ROUTE_OWNER_CAP_V2_TAGS: go\n', '\n  ROUTE_OWNER_CAP_V2_TAGS: python\n'), 'the whole file is the original with only that line changed');
  const audit = join(d, 'switchboard-audit.log');
  t.ok(existsSync(audit), 'audit log next to the config');
  const lines = readFileSync(audit, 'utf8').trimEnd().split('\n');
  t.equal(lines.length, 1);
  const entry = JSON.parse(lines[0] ?? '{}') as Json;
  t.match(entry, {
    actor: 'alice',
    action: 'set',
    key: 'ROUTE_OWNER_CAP_V2_TAGS',
    old: 'go',
    new: 'python',
    reason: 'roll back tags',
    file,
    sha256_before: sha256(before),
    sha256_after: sha256(after),
    routes_changing_owner: 1,
  });
  t.ok(!Number.isNaN(Date.parse(entry.time)), 'time is a timestamp');
  // the change is in force
  t.equal(json(await cli(['owners', '--explain', '/v2/a/b/tags/list', '--config', file, '--json'])).decision.owner, 'python');
  // a second change appends
  const r2 = await cli(['set', 'ROUTE_CANARY_CAP_V2_PULL_PERCENT', '12.5', '--config', file], { env: { USER: 'bob' } });
  t.equal(r2.code, 0);
  const lines2 = readFileSync(audit, 'utf8').trimEnd().split('\n');
  t.equal(lines2.length, 2, 'appended, not overwritten');
  t.match(JSON.parse(lines2[1] ?? '{}'), { actor: 'bob', key: 'ROUTE_CANARY_CAP_V2_PULL_PERCENT', old: 5, new: 12.5, reason: null });
  const sudo = await cli(['set', 'ROUTE_CANARY_CAP_V2_PULL_PERCENT', '7', '--config', file], { env: { USER: 'root', SUDO_USER: 'carol' } });
  t.equal(sudo.code, 0);
  t.match(JSON.parse(readFileSync(audit, 'utf8').trimEnd().split('\n')[2] ?? '{}'), { actor: 'carol' }, '$SUDO_USER wins over $USER');
  const final = readFileSync(file, 'utf8');
  t.same(changedLines(before, final), [10, 14]);
  t.equal(
    final,
    before
      .replace('\n  ROUTE_OWNER_CAP_V2_TAGS: go\n', '\n  ROUTE_OWNER_CAP_V2_TAGS: python\n')
      .replace('\n  ROUTE_CANARY_CAP_V2_PULL_PERCENT: 5\n', '\n  ROUTE_CANARY_CAP_V2_PULL_PERCENT: 7\n'),
    'byte-identical apart from the two edited values',
  );
  t.same(readdirSync(d).sort(), ['config.yaml', 'switchboard-audit.log'], 'no temp files left behind');
});

t.test('set: adding a new key, MIGRATION. prefix, and a file without MIGRATION', async (t) => {
  const d = tmp(t);
  const before = base();
  const file = write(d, 'config.yaml', before);
  const r = await cli(['set', 'MIGRATION.ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', file, '--json']);
  t.equal(r.code, 0);
  const j = json(r);
  t.match(j, { key: 'ROUTE_OWNER_CAP_V2_PUSH', old: null, new: 'go', dry_run: false, routes_changing_owner: 2 });
  t.same(
    j.diff.routes.map((x: Json) => x.route_id),
    ['ROUTE_0014', 'ROUTE_0017'],
  );
  const after = readFileSync(file, 'utf8');
  const b = before.split('\n');
  const a = after.split('\n');
  t.equal(a.length, b.length + 1, 'one line added');
  t.equal(a[16], '  ROUTE_OWNER_CAP_V2_PUSH: go', 'appended at the end of MIGRATION');
  t.same([...a.slice(0, 16), ...a.slice(17)], b, 'every other line unchanged');
  const noMig = write(d, 'plain.yaml', 'SERVER_HOSTNAME: x\n');
  const p = await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', noMig]);
  t.equal(p.code, 0);
  t.equal(readFileSync(noMig, 'utf8'), 'SERVER_HOSTNAME: x\nMIGRATION:\n  ROUTE_OWNER_CAP_V2_PUSH: go\n');
  const emptyMig = write(d, 'empty.yaml', 'MIGRATION:\nSERVER_HOSTNAME: x\n');
  t.equal((await cli(['config', 'validate', emptyMig])).code, 0, 'precondition: an empty MIGRATION: is valid');
  const e = await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', emptyMig]);
  t.equal(e.code, 0, 'set works on a valid file whose MIGRATION: is empty');
  t.equal(
    e.err,
    'warning: SWITCHBOARD.UPSTREAMS.go is not set: what go implements cannot be asked: not checked that go implements V2_PUSH',
    'only the readiness warning: no go upstream to ask',
  );
  t.equal(readFileSync(emptyMig, 'utf8'), 'MIGRATION:\n  ROUTE_OWNER_CAP_V2_PUSH: go\nSERVER_HOSTNAME: x\n', 'the key goes under MIGRATION:, every other line kept');
  t.equal((await cli(['config', 'validate', emptyMig])).code, 0);
  const lastMig = write(d, 'last.yaml', 'SERVER_HOSTNAME: x\nMIGRATION:');
  t.equal((await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', lastMig])).code, 0, 'an empty MIGRATION: at the end of a file without a final newline');
  t.equal(readFileSync(lastMig, 'utf8'), 'SERVER_HOSTNAME: x\nMIGRATION:\n  ROUTE_OWNER_CAP_V2_PUSH: go\n');
  const crlfMig = write(d, 'crlf-empty.yaml', 'SERVER_HOSTNAME: x\r\nMIGRATION:\r\n');
  t.equal((await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', crlfMig])).code, 0);
  t.equal(readFileSync(crlfMig, 'utf8'), 'SERVER_HOSTNAME: x\r\nMIGRATION:\r\n  ROUTE_OWNER_CAP_V2_PUSH: go\r\n', 'CRLF kept when adding under an empty MIGRATION:');
});

t.test('set: list values, percent, --unset', async (t) => {
  const d = tmp(t);
  const before = base();
  const file = write(d, 'config.yaml', before);
  t.equal((await cli(['set', 'ROUTE_CANARY_ORGS', 'a,b', '--config', file])).code, 0);
  let after = readFileSync(file, 'utf8');
  t.same(changedLines(before, after), [11]);
  t.equal(after, before.replace('\n  ROUTE_CANARY_ORGS: [test-org]\n', '\n  ROUTE_CANARY_ORGS: [a, b]\n'), 'only the list value changed');
  t.equal((await cli(['set', 'ROUTE_CANARY_ORGS', '[c, d]', '--config', file])).code, 0);
  after = readFileSync(file, 'utf8');
  t.equal(after.split('\n')[11], '  ROUTE_CANARY_ORGS: [c, d]', 'bracketed list');
  const spaced = await cli(['set', 'ROUTE_CANARY_ORGS', ' e , f ', '--config', file, '--json']);
  t.same(json(spaced).new, ['e', 'f'], 'entries trimmed');
  const users = await cli(['set', 'ROUTE_CANARY_USERS', 'x', '--config', file, '--json']);
  t.equal(users.code, 0);
  t.same(json(users).new, ['x'], 'single name is a one-element list');
  const orgs = json(await cli(['config', 'validate', file, '--json']));
  t.equal(orgs.valid, true);
  t.equal((await cli(['set', 'ROUTE_CANARY_CAP_V2_PULL_PERCENT', '12.5', '--config', file])).code, 0);
  t.equal(readFileSync(file, 'utf8').split('\n')[10], '  ROUTE_CANARY_CAP_V2_PULL_PERCENT: 12.5');
  t.equal((await cli(['set', 'ROUTE_CANARY_CAP_V2_PULL_PERCENT', '100', '--config', file])).code, 0);
  t.equal((await cli(['set', 'ROUTE_CANARY_CAP_V2_PULL_PERCENT', '0', '--config', file])).code, 0);
  t.equal(readFileSync(file, 'utf8').split('\n')[10], '  ROUTE_CANARY_CAP_V2_PULL_PERCENT: 0');
  // The kill switch goes to STATE_DIR's kill file, not config.yaml.
  const state = join(d, 'state');
  const text = readFileSync(file, 'utf8');
  const on = await cli(['set', 'MIGRATION_FORCE_PYTHON', 'true', '--config', file, '--reason', 'incident 42', '--actor', 'olga'], { env: { SWITCHBOARD_STATE_DIR: state } });
  t.equal(on.code, 0, on.err);
  t.match(on.out, /^kill switch ON: wrote .*force-python\.json/);
  t.equal(readFileSync(file, 'utf8'), text, 'config.yaml untouched');
  t.match(JSON.parse(readFileSync(join(state, 'force-python.json'), 'utf8')), { on: true, actor: 'olga', via: 'cli', reason: 'incident 42' });
  const kill = json(await cli(['owners', '--explain', '/v2/a/b/tags/list', '--config', file, '--json'], { env: { SWITCHBOARD_STATE_DIR: state } }));
  t.equal(kill.decision.reason, 'force_python', 'kill switch set from the CLI is in force for explain');
  t.match(kill.decision.trace[0].origin, { source: 'state', actor: 'olga', reason: 'incident 42' });
  const again = await cli(['set', 'MIGRATION_FORCE_PYTHON', 'yes', '--config', file], { env: { SWITCHBOARD_STATE_DIR: state } });
  t.match(again.out, /already ON/);
  t.equal((await cli(['set', 'MIGRATION_FORCE_PYTHON', 'ture', '--config', file], { env: { SWITCHBOARD_STATE_DIR: state } })).code, 2, 'a typo never turns it off');
  t.ok(existsSync(join(state, 'force-python.json')), 'still on after the typo');
  // config.yaml's own key is removed by "off" too.
  const withKey = text.replace('MIGRATION:\n', 'MIGRATION:\n  MIGRATION_FORCE_PYTHON: true\n');
  writeFileSync(file, withKey);
  const u = await cli(['set', 'MIGRATION_FORCE_PYTHON', '--unset', '--config', file, '--json', '--actor', 'olga', '--reason', 'resolved'], {
    env: { SWITCHBOARD_STATE_DIR: state },
  });
  t.equal(u.code, 0, u.err);
  t.match(json(u), { on: false, changed: true, config_key_removed: true });
  t.notOk(existsSync(join(state, 'force-python.json')), 'kill file removed');
  t.equal(readFileSync(file, 'utf8'), text, 'exactly the key line removed');
  const audit = readFileSync(join(d, 'switchboard-audit.log'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.match(audit.slice(-3), [
    { action: 'set', key: 'MIGRATION_FORCE_PYTHON', old: false, new: true, actor: 'olga', reason: 'incident 42' },
    { action: 'unset', key: 'MIGRATION_FORCE_PYTHON', old: true, new: null, actor: 'olga', reason: 'resolved' },
    { action: 'unset', key: 'MIGRATION_FORCE_PYTHON', old: true, new: false, actor: 'olga', reason: 'resolved' },
  ]);
  const extra = await cli(['set', 'ROUTE_OWNER_DEFAULT', 'go', '--unset', '--config', file]);
  t.equal(extra.code, 2, 'KEY VALUE --unset is a usage error');
  const none = await cli(['set', 'ROUTE_OWNER_DEFAULT', '--config', file]);
  t.equal(none.code, 2, 'KEY without VALUE is a usage error');
});

t.test('set: invalid values are refused and the file is untouched', async (t) => {
  const d = tmp(t);
  const before = base();
  const file = write(d, 'config.yaml', before);
  const cases: [string[], number, RegExp][] = [
    [['ROUTE_CANARY_PERCENT', '101'], 1, /\[SWB_CONFIG_BAD_PERCENT\]/],
    [['ROUTE_CANARY_CAP_V2_PULL_PERCENT', '--', '-1'], 1, /\[SWB_CONFIG_BAD_PERCENT\]/],
    [['ROUTE_CANARY_PERCENT', '1.234'], 1, /two decimals.*\[SWB_CONFIG_BAD_PERCENT\]/],
    [['ROUTE_CANARY_PERCENT', 'abc'], 1, /\[SWB_CONFIG_BAD_PERCENT\]/],
    [['ROUTE_OWNER_CAP_V2_PUSH', 'Go'], 1, /"Go" is not an owner.*\[SWB_CONFIG_BAD_OWNER\]/],
    [['ROUTE_OWNER_CAP_V2_TAGS', 'Go'], 1, /\[SWB_CONFIG_BAD_OWNER\]/],
    [['WORKER_OWNER_GCWORKER', 'canary'], 1, /\[SWB_CONFIG_BAD_OWNER\]/],
    [['MIGRATION_FORCE_PYTHON', 'maybe'], 2, /takes true or false.*\[SWB_CLI_USAGE\]/],
    [['ROUTE_OWNER_BOGUS', 'go'], 1, /\[SWB_CONFIG_UNKNOWN_KEY\]/],
    [['ROUTE_OWNER_CAP_V2_PULLL', 'go'], 1, /did you mean V2_PULL\?.*\[SWB_CONFIG_UNKNOWN_CAPABILITY\]/],
    [['ROUTE_OWNER_ROUTE_9999', 'go'], 1, /\[SWB_CONFIG_UNKNOWN_ROUTE\]/],
    [['WORKER_OWNER_NOPE', 'go'], 1, /\[SWB_CONFIG_UNKNOWN_WORKER\]/],
    [['SERVER_HOSTNAME', 'x'], 1, /\[SWB_CONFIG_UNKNOWN_KEY\]/],
  ];
  for (const [kv, code, msg] of cases) {
    const r = await cli(['set', '--config', file, ...kv]);
    t.equal(r.code, code, `set ${kv.join(' ')} exits ${code}`);
    t.match(r.err, msg, `set ${kv.join(' ')}: message`);
    t.equal(r.out, '', `set ${kv.join(' ')}: nothing on stdout`);
    noStack(t, r);
    t.equal(readFileSync(file, 'utf8'), before, `set ${kv.join(' ')}: file untouched`);
  }
  t.notOk(existsSync(join(d, 'switchboard-audit.log')), 'nothing audited');
  t.same(readdirSync(d), ['config.yaml'], 'no temp files');
  const missing = await cli(['set', 'ROUTE_OWNER_DEFAULT', 'go', '--config', join(d, 'nope.yaml')]);
  t.equal(missing.code, 1);
  t.match(missing.err, /\[SWB_CONFIG_UNREADABLE\]/);
  const invalidFile = write(d, 'bad.yaml', INVALID);
  const inv = await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', invalidFile]);
  t.equal(inv.code, 1, 'an invalid file is not written to');
  t.equal(readFileSync(invalidFile, 'utf8'), INVALID);
  const broken = write(d, 'broken.yaml', 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: [python\n');
  const br = await cli(['set', 'ROUTE_OWNER_DEFAULT', 'go', '--config', broken]);
  t.equal(br.code, 1);
  t.match(br.err, /\[SWB_CONFIG_YAML\]/);
});

t.test('set --if-digest: wrong digest refused, digest from config validate --json accepted', async (t) => {
  const d = tmp(t);
  const before = base();
  const file = write(d, 'config.yaml', before);
  const wrong = await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', file, '--if-digest', 'deadbeef'.repeat(8)]);
  t.equal(wrong.code, 1);
  t.match(wrong.err, /^switchboard: .* changed since digest deadbeefdead .*\[SWB_CONFIG_CONFLICT\]$/);
  t.equal(readFileSync(file, 'utf8'), before, 'file untouched');
  t.notOk(existsSync(join(d, 'switchboard-audit.log')));
  const digest = json(await cli(['config', 'validate', file, '--json'])).sha256 as string;
  const ok = await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', file, '--if-digest', digest, '--json']);
  t.equal(ok.code, 0);
  t.equal(json(ok).sha256_before, digest);
  // the old digest is now stale
  const stale = await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'python', '--config', file, '--if-digest', digest]);
  t.equal(stale.code, 1);
  t.match(stale.err, /\[SWB_CONFIG_CONFLICT\]/);
  t.match(readFileSync(file, 'utf8'), /ROUTE_OWNER_CAP_V2_PUSH: go/);
  // the digest set reports after a write chains into the next --if-digest
  const next = json(await cli(['config', 'validate', file, '--json'])).sha256 as string;
  t.equal(next, json(ok).sha256_after);
  t.equal((await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'python', '--config', file, '--if-digest', next])).code, 0);
});

t.test('set: the file changing between read and write is a conflict (CAS)', async (t) => {
  // The window between set's read and its compare-and-swap is synchronous, so a
  // concurrent writer is simulated from inside it: the env lookup set makes for
  // "does the environment override this key?" rewrites the file.
  const d = tmp(t);
  const before = base();
  const concurrent = base('  ROUTE_OWNER_CAP_V2_REFERRERS: go\n');
  const file = write(d, 'config.yaml', before);
  let fired = 0;
  const env = new Proxy({} as Env, {
    get(_target, prop) {
      if (prop === 'ROUTE_OWNER_CAP_V2_PUSH' && fired++ === 0) writeFileSync(file, concurrent);
      return undefined;
    },
  });
  const r = await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', file], { env });
  t.equal(fired, 1, 'the concurrent write happened mid-command');
  t.equal(r.code, 1);
  t.match(r.err, /^switchboard: .* changed while this command ran; nothing written.*\[SWB_CONFIG_CONFLICT\]$/);
  t.equal(readFileSync(file, 'utf8'), concurrent, "the concurrent writer's contents survive");
  t.notOk(existsSync(join(d, 'switchboard-audit.log')), 'nothing audited');
  t.same(readdirSync(d), ['config.yaml'], 'no temp files');
});

t.test('set --dry-run writes nothing', async (t) => {
  const d = tmp(t);
  const before = base();
  const file = write(d, 'config.yaml', before);
  const r = await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', file, '--dry-run']);
  t.equal(r.code, 0);
  t.match(r.outLines[0], /^would set MIGRATION\.ROUTE_OWNER_CAP_V2_PUSH: null → "go" in /);
  t.match(r.out, /2 routes change owner \(V2_PUSH 2\)/);
  const j = json(await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', file, '--dry-run', '--json']));
  t.equal(j.dry_run, true);
  t.equal(j.sha256_before, sha256(before));
  t.not(j.sha256_after, j.sha256_before);
  t.equal(readFileSync(file, 'utf8'), before, 'file untouched');
  t.same(readdirSync(d), ['config.yaml'], 'no audit log, no temp file');
});

t.test('set: SWITCHBOARD.AUDIT_LOG chooses the audit log', async (t) => {
  const d = tmp(t);
  const rel = write(d, 'config.yaml', base('', '  AUDIT_LOG: audit.jsonl\n'));
  t.equal((await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', rel, '--actor', 'ops'])).code, 0);
  t.ok(existsSync(join(d, 'audit.jsonl')), 'relative AUDIT_LOG resolves next to the config');
  t.notOk(existsSync(join(d, 'switchboard-audit.log')));
  t.match(JSON.parse(readFileSync(join(d, 'audit.jsonl'), 'utf8').trim()), { actor: 'ops', key: 'ROUTE_OWNER_CAP_V2_PUSH', new: 'go' });
  const other = tmp(t);
  const abs = join(other, 'central.log');
  const f2 = write(d, 'abs.yaml', base('', `  AUDIT_LOG: ${abs}\n`));
  t.equal((await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', f2, '--actor', 'ops'])).code, 0);
  t.ok(existsSync(abs), 'absolute AUDIT_LOG');
});

t.test('set: a key the environment overrides is written, with a note', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const env = { ROUTE_OWNER_CAP_V2_PUSH: 'python' };
  const r = await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', file], { env });
  t.equal(r.code, 0);
  t.match(r.err, /^note: environment variable ROUTE_OWNER_CAP_V2_PUSH overrides this key/m);
  const j = json(await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', file, '--json', '--dry-run'], { env }));
  t.equal(j.environment_overrides_key, true);
});

t.test('set: keeps other lines byte-identical in a realistic config', async (t) => {
  // Things real Quay config.yaml files contain: aligned inline comments,
  // sequences at the parent's indentation, 4-space nesting, long plain strings.
  const d = tmp(t);
  const before = [
    'SERVER_HOSTNAME: registry.example.com   # public name',
    'REGISTRY_TITLE: This is a rather long registry title that has many words in it and keeps going past eighty columns',
    'SUPER_USERS:',
    '- admin',
    'DISTRIBUTED_STORAGE_CONFIG:',
    '    default:',
    '        - LocalStorage',
    '        - storage_path: /datastorage/registry',
    'MIGRATION:',
    '  ROUTE_OWNER_DEFAULT: python   # everything legacy',
    '  ROUTE_OWNER_CAP_V2_TAGS: go',
    '',
  ].join('\n');
  const file = write(d, 'config.yaml', before);
  const r = await cli(['set', 'ROUTE_OWNER_CAP_V2_TAGS', 'python', '--config', file]);
  t.equal(r.code, 0);
  const after = readFileSync(file, 'utf8');
  t.equal(after, before.replace('  ROUTE_OWNER_CAP_V2_TAGS: go\n', '  ROUTE_OWNER_CAP_V2_TAGS: python\n'), 'the whole file equals the original with only the target line changed');
  const was = parseYaml(before) as Json;
  was.MIGRATION.ROUTE_OWNER_CAP_V2_TAGS = 'python';
  t.same(parseYaml(after), was, 'the data of every other key is unchanged');
  t.same(changedLines(before, after), [10], 'only the target line differs');
  // An inline comment on the edited line stays, with its spacing.
  const r2 = await cli(['set', 'ROUTE_OWNER_DEFAULT', 'go', '--config', file]);
  t.equal(r2.code, 0);
  t.equal(
    readFileSync(file, 'utf8'),
    after.replace('  ROUTE_OWNER_DEFAULT: python   # everything legacy\n', '  ROUTE_OWNER_DEFAULT: go   # everything legacy\n'),
    'the edited line keeps its inline comment; nothing else changes',
  );
  // CRLF files keep CRLF, also on the edited line, also with a comment.
  const crlfText = 'SERVER_HOSTNAME: x\r\nMIGRATION:\r\n  ROUTE_OWNER_DEFAULT: python   # legacy\r\n  ROUTE_OWNER_CAP_V2_TAGS: go\r\n';
  const crlf = write(d, 'crlf.yaml', crlfText);
  t.equal((await cli(['set', 'ROUTE_OWNER_CAP_V2_TAGS', 'python', '--config', crlf])).code, 0);
  t.equal(readFileSync(crlf, 'utf8'), crlfText.replace('ROUTE_OWNER_CAP_V2_TAGS: go\r\n', 'ROUTE_OWNER_CAP_V2_TAGS: python\r\n'), 'CRLF line endings kept');
  t.equal((await cli(['set', 'ROUTE_OWNER_DEFAULT', 'go', '--config', crlf])).code, 0);
  t.equal(
    readFileSync(crlf, 'utf8'),
    crlfText
      .replace('ROUTE_OWNER_CAP_V2_TAGS: go\r\n', 'ROUTE_OWNER_CAP_V2_TAGS: python\r\n')
      .replace('ROUTE_OWNER_DEFAULT: python   # legacy\r\n', 'ROUTE_OWNER_DEFAULT: go   # legacy\r\n'),
    'CRLF and the inline comment kept on the edited line',
  );
  t.equal((await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', crlf])).code, 0);
  t.match(readFileSync(crlf, 'utf8'), /ROUTE_OWNER_CAP_V2_TAGS: python\r\n {2}ROUTE_OWNER_CAP_V2_PUSH: go\r\n$/, 'an added key gets a CRLF line too');
  t.notMatch(readFileSync(crlf, 'utf8'), /[^\r]\n/, 'no bare LF anywhere');
});

t.test('set: indentation and quoting of the file are kept; only the value text changes', async (t) => {
  const d = tmp(t);
  // 4-space MIGRATION, quoted values, a comment-only line, a flow list, trailing spaces elsewhere.
  const before = [
    '# top comment',
    'SERVER_HOSTNAME: "registry.example.com"   ',
    'MIGRATION:',
    '    # owners',
    "    ROUTE_OWNER_DEFAULT: 'python'",
    '    ROUTE_OWNER_CAP_V2_TAGS: "go"   # quoted',
    '    ROUTE_CANARY_ORGS: [acme,   beta]',
    'SWITCHBOARD:',
    '  LISTEN: "0.0.0.0:8443"',
    '',
  ].join('\n');
  const file = write(d, 'config.yaml', before);
  t.equal((await cli(['set', 'ROUTE_OWNER_CAP_V2_TAGS', 'python', '--config', file])).code, 0);
  const a1 = before.replace('    ROUTE_OWNER_CAP_V2_TAGS: "go"   # quoted', '    ROUTE_OWNER_CAP_V2_TAGS: python   # quoted');
  t.equal(readFileSync(file, 'utf8'), a1, "the target value's text replaced; the other quoted values untouched");
  t.equal((await cli(['set', 'ROUTE_CANARY_ORGS', 'acme,gamma', '--config', file])).code, 0);
  const a2 = a1.replace('    ROUTE_CANARY_ORGS: [acme,   beta]', '    ROUTE_CANARY_ORGS: [acme, gamma]');
  t.equal(readFileSync(file, 'utf8'), a2, 'a flow list replaced in place');
  t.equal((await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', file])).code, 0);
  const a3 = a2.replace('    ROUTE_CANARY_ORGS: [acme, gamma]\n', '    ROUTE_CANARY_ORGS: [acme, gamma]\n    ROUTE_OWNER_CAP_V2_PUSH: go\n');
  t.equal(readFileSync(file, 'utf8'), a3, "an added key uses the section's 4-space indentation, after its last key");
  t.equal((await cli(['set', 'ROUTE_OWNER_DEFAULT', '--unset', '--config', file])).code, 0);
  t.equal(readFileSync(file, 'utf8'), a3.replace("    ROUTE_OWNER_DEFAULT: 'python'\n", ''), '--unset removes exactly its line');
});

t.test('set: replacing a block list with a flow list replaces the list lines', async (t) => {
  const d = tmp(t);
  const before = [
    'MIGRATION:',
    '  ROUTE_OWNER_CAP_V2_PULL: canary',
    '  ROUTE_CANARY_ORGS:',
    '    - acme   # first',
    '    - beta',
    '  ROUTE_OWNER_DEFAULT: python  # d',
    'SERVER_HOSTNAME: x',
    '',
  ].join('\n');
  const file = write(d, 'config.yaml', before);
  const r = await cli(['set', 'ROUTE_CANARY_ORGS', 'gamma,delta', '--config', file, '--json']);
  t.equal(r.code, 0);
  t.match(json(r), { old: ['acme', 'beta'], new: ['gamma', 'delta'] });
  t.equal(
    readFileSync(file, 'utf8'),
    before.replace('  ROUTE_CANARY_ORGS:\n    - acme   # first\n    - beta\n', '  ROUTE_CANARY_ORGS: [gamma, delta]\n'),
    'the key line and its item lines become one line; the lines around are kept',
  );
  // A block list at the parent's indentation, last in MIGRATION; `[a, b]` form.
  const zero = write(d, 'zero.yaml', 'MIGRATION:\n  ROUTE_CANARY_ORGS:\n  - acme\n  - beta\nSERVER_HOSTNAME: x\n');
  t.equal((await cli(['set', 'ROUTE_CANARY_ORGS', '[gamma, delta]', '--config', zero])).code, 0);
  t.equal(readFileSync(zero, 'utf8'), 'MIGRATION:\n  ROUTE_CANARY_ORGS: [gamma, delta]\nSERVER_HOSTNAME: x\n');
  // At the end of a file with no final newline.
  const eof = write(d, 'eof.yaml', 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n  ROUTE_CANARY_ORGS:\n    - acme\n    - beta');
  t.equal((await cli(['set', 'ROUTE_CANARY_ORGS', 'gamma', '--config', eof])).code, 0);
  t.equal(readFileSync(eof, 'utf8'), 'MIGRATION:\n  ROUTE_OWNER_DEFAULT: python\n  ROUTE_CANARY_ORGS: [gamma]');
  // --unset of a block list removes all of its lines.
  const un = write(d, 'unset.yaml', before);
  t.equal((await cli(['set', 'ROUTE_CANARY_ORGS', '--unset', '--config', un])).code, 0);
  t.equal(readFileSync(un, 'utf8'), before.replace('  ROUTE_CANARY_ORGS:\n    - acme   # first\n    - beta\n', ''));
});

t.test('set: a no-op prints "nothing to do", exits 0, writes nothing and audits nothing', async (t) => {
  const d = tmp(t);
  const cases: [string, string, string[]][] = [
    ['same owner', base(), ['ROUTE_OWNER_CAP_V2_TAGS', 'go']],
    ['same percent', base(), ['ROUTE_CANARY_CAP_V2_PULL_PERCENT', '5']],
    ['same percent, other spelling', base(), ['ROUTE_CANARY_CAP_V2_PULL_PERCENT', '5.0']],
    ['same list', base(), ['ROUTE_CANARY_ORGS', 'test-org']],
    ['same list, bracketed', base(), ['ROUTE_CANARY_ORGS', '[test-org]']],
    ['--unset of a missing key', base(), ['ROUTE_OWNER_CAP_V2_PUSH', '--unset']],
    ['--unset with no MIGRATION section', 'SERVER_HOSTNAME: x\n', ['ROUTE_OWNER_CAP_V2_PUSH', '--unset']],
    ['--unset with an empty MIGRATION:', 'MIGRATION:\nSERVER_HOSTNAME: x\n', ['ROUTE_OWNER_CAP_V2_PUSH', '--unset']],
  ];
  for (const [name, text, argv] of cases) {
    const file = write(d, 'config.yaml', text);
    const r = await cli(['set', ...argv, '--config', file]);
    t.equal(r.code, 0, `${name}: exit 0`);
    t.match(r.out, /nothing to do/, `${name}: says nothing to do`);
    t.equal(r.outLines.length, 1, `${name}: one line`);
    t.equal(r.err, '', `${name}: nothing on stderr`);
    t.equal(readFileSync(file, 'utf8'), text, `${name}: file untouched`);
    t.same(readdirSync(d), ['config.yaml'], `${name}: no audit log, no temp file`);
    const j = await cli(['set', ...argv, '--config', file, '--json']);
    t.equal(j.code, 0);
    t.match(json(j), { changed: false }, `${name}: --json says changed: false`);
  }
  const file = write(d, 'config.yaml', base());
  t.equal((await cli(['set', 'ROUTE_OWNER_CAP_V2_TAGS', 'go', '--config', file])).out, `MIGRATION.ROUTE_OWNER_CAP_V2_TAGS is already "go" in ${file}: nothing to do`);
  // A real change after a no-op still writes and audits once.
  t.equal((await cli(['set', 'ROUTE_OWNER_CAP_V2_TAGS', 'python', '--config', file])).code, 0);
  t.equal(readFileSync(join(d, 'switchboard-audit.log'), 'utf8').trimEnd().split('\n').length, 1);
});

// ─────────────────────────────────────────────────────────── help, version, dispatch

t.test('--help on every command exits 0 and prints Usage', async (t) => {
  const commands: string[][] = [
    ['--help'],
    ['-h'],
    ['help'],
    ['owners', '--help'],
    ['owners', '--explain', '--help'],
    ['owners', '--explain', '/v2/', '--help'],
    ['owners', 'list', '--help'],
    ['owners', 'workers', '--help'],
    ['owners', 'diff', '--help'],
    ['config', 'validate', '--help'],
    ['config', 'validate', '-h'],
    ['set', '--help'],
  ];
  for (const argv of commands) {
    const r = await cli(argv, { env: { SWITCHBOARD_CONFIG: '/nonexistent/config.yaml' } });
    t.equal(r.code, 0, `${argv.join(' ')} exits 0`);
    t.match(r.out, /^Usage: switchboard/, `${argv.join(' ')} prints Usage`);
    t.equal(r.err, '', `${argv.join(' ')}: nothing on stderr`);
  }
  for (const argv of [
    ['config', '--help'],
    ['config', '-h'],
  ]) {
    const cfg = await cli(argv);
    t.equal(cfg.code, 0, `${argv.join(' ')} exits 0`);
    t.match(cfg.out, /^Usage: switchboard config validate \[FILE\]/, `${argv.join(' ')} prints the validate usage`);
    t.equal(cfg.err, '');
  }
  t.equal((await cli(['config', 'validate', '--help'])).out, (await cli(['config', '--help'])).out, 'the same text as config validate --help');
});

t.test('errors: the first line starts with switchboard and carries the [SWB_…] code; usage follows after a blank line', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const cases: [string[], number, boolean][] = [
    [['frobnicate'], 2, true],
    [['owners', 'list', '--nope'], 2, true],
    [['owners', 'list', 'extra', '--config', file], 2, true],
    [['owners', 'list', '--family', 'nope', '--config', file], 2, false],
    [['owners', 'diff', file], 2, true],
    [['owners', '--explain', '--config', file], 2, true],
    [['owners', '--explain', 'FETCH', '/v2/', '--config', file], 2, true],
    [['owners', '--explain', 'v2/x', '--config', file], 2, false],
    [['owners', '--explain', '/v2/', '--pin', 'Go', '--config', file], 2, false],
    [['config', 'validate', 'a.yaml', 'b.yaml'], 2, true],
    [['config', 'validate', join(d, 'nope.yaml')], 1, false],
    [['set'], 2, true],
    [['set', 'ROUTE_OWNER_DEFAULT', '--config', file], 2, true],
    [['set', 'ROUTE_OWNER_BOGUS', 'go', '--config', file], 1, false],
    [['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', file, '--if-digest', '0'.repeat(64)], 1, false],
    [['owners', '--explain', '/v2/', '--config', join(d, 'nope.yaml')], 1, false],
  ];
  for (const [argv, code, usage] of cases) {
    const r = await cli(argv);
    const label = argv.filter((a) => a !== file).join(' ');
    t.equal(r.code, code, `${label}: exit ${code}`);
    t.equal(r.out, '', `${label}: nothing on stdout`);
    t.match(r.errLines[0], /^switchboard: \S.*\[SWB_[A-Z_]+\]$/, `${label}: "switchboard: … [SWB_…]" on the first line`);
    if (usage) {
      t.equal(r.errLines[1], '', `${label}: a blank line`);
      t.match(r.errLines[2], /^Usage: switchboard /, `${label}: then the usage`);
    } else {
      t.equal(r.errLines.length, 1, `${label}: one line`);
    }
    noStack(t, r);
  }
  // Unknown subcommands name their command; the code is still on the first line.
  for (const argv of [['owners', 'bogus'], ['config', 'check'], ['config']]) {
    const r = await cli(argv);
    t.equal(r.code, 2, `${argv.join(' ')}: exit 2`);
    t.match(r.errLines[0], /^switchboard\b.*\[SWB_CLI_USAGE\]$/, `${argv.join(' ')}: code on the first line`);
  }
});

t.test('dispatch: version, no command, unknown command/subcommand', async (t) => {
  const v = await cli(['--version']);
  t.equal(v.code, 0);
  t.match(v.out, /^\d+\.\d+\.\d+$/);
  t.equal((await cli(['version'])).out, v.out);
  const none = await cli([]);
  t.equal(none.code, 2, 'no command: usage, exit 2');
  t.match(none.out, /^Usage: switchboard/);
  const unknown = await cli(['frobnicate']);
  t.equal(unknown.code, 2);
  t.match(unknown.err, /^switchboard: unknown command "frobnicate"/);
  t.match(unknown.err, /Usage: switchboard/);
  t.equal(unknown.out, '');
  const ownersNone = await cli(['owners']);
  t.equal(ownersNone.code, 2);
  const ownersBad = await cli(['owners', 'bogus']);
  t.equal(ownersBad.code, 2);
  t.match(ownersBad.err, /unknown subcommand "bogus"/);
  const badFlag = await cli(['owners', 'list', '--nope']);
  t.equal(badFlag.code, 2);
  t.match(badFlag.err, /^switchboard: Unknown option '--nope'/);
  t.match(badFlag.err.split('\n')[0], /\[SWB_CLI_USAGE\]$/, 'the code is on the first line; usage follows');
});

// ---------------------------------------------------------------- no silent typos (issue 13)

t.test('config validate: a near miss of MIGRATION or SWITCHBOARD is an error with its line and a suggestion', async (t) => {
  const d = tmp(t);
  const text =
    base('', '').replace('\nMIGRATION:\n', '\nMigration:\n').replace('\nSWITCHBOARD:\n', '\nswitch_board:\n') +
    'MAIL_PORT: 587\nSECURITY_SCANNER_V4_ENDPOINT: "http://clair:8080"\n';
  const file = write(d, 'config.yaml', text);
  const r = await cli(['config', 'validate', file]);
  t.equal(r.code, 1);
  t.same(
    r.errLines,
    [
      `${file}: invalid (2 problems):`,
      `  ${file}:5: Migration: unknown top-level key (did you mean MIGRATION?); the switchboard would read nothing under it [SWB_CONFIG_UNKNOWN_KEY]`,
      `  ${file}:18: switch_board: unknown top-level key (did you mean SWITCHBOARD?); the switchboard would read nothing under it [SWB_CONFIG_UNKNOWN_KEY]`,
    ],
    "Quay's own MAIL_PORT and SECURITY_SCANNER_V4_ENDPOINT are not flagged",
  );
  const j = json(await cli(['config', 'validate', file, '--json']));
  t.same(
    j.issues.map((i: Json) => [i.code, i.key, i.line]),
    [
      ['SWB_CONFIG_UNKNOWN_KEY', 'Migration', 5],
      ['SWB_CONFIG_UNKNOWN_KEY', 'switch_board', 18],
    ],
  );
  const lower = await cli([
    'config',
    'validate',
    write(d, 'lower.yaml', 'MIGRATION:\n  route_owner_default: go\nSWITCHBOARD:\n  DASHBOARD: {ADMIN_TOKEN_FLE: t, USERS_FILE: u}\n'),
  ]);
  t.match(lower.err, /lower\.yaml:2: route_owner_default: not a switch \(did you mean ROUTE_OWNER_DEFAULT\?\)/);
  t.match(lower.err, /lower\.yaml:4: unknown key SWITCHBOARD\.DASHBOARD\.ADMIN_TOKEN_FLE \(did you mean ADMIN_TOKEN_FILE\?\)/);
});

t.test('config validate: settings with no effect are warnings on stderr, exit 0; --json lists them', async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base('  ROUTE_CANARY_CAP_V2_TAGS_PERCENT: 25\n  ROUTE_CANARY_FAMILY_API_V1_USERS: [alice]\n'));
  const r = await cli(['config', 'validate', file, '--offline']);
  t.equal(r.code, 0, 'still valid');
  t.equal(r.out, `${file}: valid — 10 switches set; routes: 1 go, 4 canary, 430 python`);
  t.same(r.errLines, [
    `warning: ${file}:17: ROUTE_CANARY_CAP_V2_TAGS_PERCENT has no effect until ROUTE_OWNER_CAP_V2_TAGS is canary (it is go) [SWB_CONFIG_NO_EFFECT]`,
    `warning: ${file}:18: ROUTE_CANARY_FAMILY_API_V1_USERS has no effect until ROUTE_OWNER_FAMILY_API_V1 is canary (it is unset) [SWB_CONFIG_NO_EFFECT]`,
  ]);
  const j = json(await cli(['config', 'validate', file, '--json', '--offline']));
  t.equal(j.valid, true);
  t.same(j.warnings, [
    {
      code: 'SWB_CONFIG_NO_EFFECT',
      key: 'MIGRATION.ROUTE_CANARY_CAP_V2_TAGS_PERCENT',
      file,
      line: 17,
      message: 'ROUTE_CANARY_CAP_V2_TAGS_PERCENT has no effect until ROUTE_OWNER_CAP_V2_TAGS is canary (it is go)',
    },
    {
      code: 'SWB_CONFIG_NO_EFFECT',
      key: 'MIGRATION.ROUTE_CANARY_FAMILY_API_V1_USERS',
      file,
      line: 18,
      message: 'ROUTE_CANARY_FAMILY_API_V1_USERS has no effect until ROUTE_OWNER_FAMILY_API_V1 is canary (it is unset)',
    },
  ]);
  t.same(json(await cli(['config', 'validate', write(d, 'clean.yaml', base()), '--json', '--offline'])).warnings, [], 'a clean config: an empty list');
});

t.test("set: the resulting config's warnings on stderr (and in --json); a near-miss section refuses the write", async (t) => {
  const d = tmp(t);
  const file = write(d, 'config.yaml', base());
  const r = await cli(['set', 'ROUTE_CANARY_CAP_V2_TAGS_PERCENT', '25', '--config', file]);
  t.equal(r.code, 0, 'accepted and written');
  t.match(readFileSync(file, 'utf8'), /\n {2}ROUTE_CANARY_CAP_V2_TAGS_PERCENT: 25\n/);
  t.match(r.outLines[0], /^set MIGRATION\.ROUTE_CANARY_CAP_V2_TAGS_PERCENT: null → 25 in /);
  t.same(r.errLines, [`warning: ${file}:17: ROUTE_CANARY_CAP_V2_TAGS_PERCENT has no effect until ROUTE_OWNER_CAP_V2_TAGS is canary (it is go) [SWB_CONFIG_NO_EFFECT]`]);
  const fixed = await cli(['set', 'ROUTE_OWNER_CAP_V2_TAGS', 'canary', '--config', file, '--json']);
  t.equal(fixed.code, 0);
  t.same(json(fixed).warnings, [], 'the owner made canary: the percent takes effect, no warning');
  t.equal(fixed.err, '');
  const back = json(await cli(['set', 'ROUTE_OWNER_CAP_V2_TAGS', 'go', '--config', file, '--json', '--dry-run']));
  t.same(
    back.warnings.map((w: Json) => [w.code, w.key, w.line]),
    [['SWB_CONFIG_NO_EFFECT', 'MIGRATION.ROUTE_CANARY_CAP_V2_TAGS_PERCENT', 17]],
    '--dry-run --json shows what the change would leave without effect',
  );

  const typo = base().replace('\nSWITCHBOARD:\n', '\nSWITCHBORD:\n');
  const typoFile = write(d, 'typo.yaml', typo);
  const refused = await cli(['set', 'ROUTE_OWNER_CAP_V2_PUSH', 'go', '--config', typoFile]);
  t.equal(refused.code, 1);
  t.same(refused.errLines, [
    `refusing to write ${typoFile}: the result would be invalid:`,
    `  ${typoFile}:19: SWITCHBORD: unknown top-level key (did you mean SWITCHBOARD?); the switchboard would read nothing under it [SWB_CONFIG_UNKNOWN_KEY]`,
  ]);
  t.equal(readFileSync(typoFile, 'utf8'), typo, 'nothing written');
});

t.test('set MIGRATION_FORCE_PYTHON: never off by accident, never off without its audit line (review)', async (t) => {
  const d = tmp(t);
  const state = join(d, 'state');
  const env = { SWITCHBOARD_STATE_DIR: state };
  const file = write(d, 'config.yaml', base());
  const kill = join(state, 'force-python.json');
  // No serve recorded in this STATE_DIR (one started with another --state-dir, $SWITCHBOARD_STATE_DIR or
  // STATE_DIR reads another kill file): said out loud, not "every switchboard … within a second" alone.
  const lone = await cli(['set', 'MIGRATION_FORCE_PYTHON', 'true', '--config', file, '--reason', 'INC-1', '--actor', 'ann'], { env });
  t.equal(lone.code, 0, lone.err);
  t.match(
    lone.err,
    /^warning: no running switchboard serve is recorded in .*state.*switchboard\.json: check that the state_dir in your serve.s \/status/m,
    'warned: no serve reads this STATE_DIR',
  );
  const asJson = json(await cli(['set', 'MIGRATION_FORCE_PYTHON', 'true', '--config', file, '--json'], { env }));
  t.match(asJson.warnings, [/already on/, /no running switchboard serve is recorded/], '--json: in warnings');
  writeFileSync(join(state, 'switchboard.json'), JSON.stringify({ pid: process.pid, admin: 'http://127.0.0.1:1', config: file }) + '\n');
  const seen = await cli(['set', 'MIGRATION_FORCE_PYTHON', 'true', '--config', file], { env });
  t.notMatch(seen.err, /no running switchboard/, 'no warning when a live serve records this STATE_DIR');
  rmSync(join(state, 'switchboard.json'));

  // An empty value (an unset shell variable: set MIGRATION_FORCE_PYTHON "$ON") is not "off".
  for (const v of ['', '  ']) {
    const r = await cli(['set', 'MIGRATION_FORCE_PYTHON', v, '--config', file], { env });
    t.equal(r.code, 2, `${JSON.stringify(v)}: a usage error`);
    t.match(r.err, /\[SWB_CLI_USAGE\]/);
    t.ok(existsSync(kill), `${JSON.stringify(v)}: the kill switch stays on`);
  }

  // config.yaml says true too, and is invalid: its key cannot be removed, so nothing may change.
  const invalid = base('  MIGRATION_FORCE_PYTHON: true\n  ROUTE_OWNER_CAP_V2_PULLZ: go\n');
  writeFileSync(file, invalid);
  const auditFile = join(d, 'switchboard-audit.log');
  const lines = (): number => readFileSync(auditFile, 'utf8').trimEnd().split('\n').length;
  const before = lines();
  const off = await cli(['set', 'MIGRATION_FORCE_PYTHON', 'false', '--config', file, '--reason', 'INC-1 over', '--actor', 'ann'], { env });
  t.equal(off.code, 1, off.err);
  noStack(t, off);
  t.ok(existsSync(kill), 'the kill file is still there: nothing changed that the audit log does not say');
  t.equal(lines(), before, 'and nothing was audited');
  t.equal(readFileSync(file, 'utf8'), invalid, 'config.yaml untouched');

  // A kill file that cannot be removed: a clear error, not an internal one.
  writeFileSync(file, base());
  rmSync(kill);
  mkdirSync(join(kill, 'x'), { recursive: true });
  const stuck = await cli(['set', 'MIGRATION_FORCE_PYTHON', 'false', '--config', file, '--reason', 'r'], { env });
  t.equal(stuck.code, 1, 'exit 1, not 70');
  t.match(stuck.err, /^switchboard: .*force-python\.json.*\[SWB_STATE_UNWRITABLE\]/);
  noStack(t, stuck);
});
