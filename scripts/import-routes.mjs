#!/usr/bin/env node
// Regenerates owner-maps/routes.tsv from the shared inventory of Quay's routes
// (../shared/quay-routes.tsv + quay-routes-extra.tsv). Run it when Quay's route
// surface changes; the generated file is committed and is what the code loads.
//
//   node scripts/import-routes.mjs [SHARED_DIR] [--check]
//
// Flask rules are rewritten into our own pattern syntax: `{name}` is one path
// segment; `{name:kind}` names a converter kind (see owner-maps/route-pattern.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const shared = args.find((a) => !a.startsWith('--')) ?? join(root, '..', 'shared');

const REGEX_KINDS = new Map([
  ['([A-Za-z0-9_+.-]+):([A-Fa-f0-9]+)', 'digest'],
  ['[\\w][\\w.-]{0,127}', 'tag'],
  ['[0-9a-zA-Z-]+', 'fileid'],
]);
const CONVERTER_KINDS = new Map([
  ['repopath', 'repopath'],
  ['apirepopath', 'apirepopath'],
  ['repopathredirect', 'repopathredirect'],
  ['v1createrepopath', 'v1createrepopath'],
  ['path', 'path'],
]);

// Rows Quay's router never reaches: Werkzeug gives equal weight to the two rules
// of each pair, and endpoints/web.py registers the trailing-slash rule first
// (the lower decorator applies first), so a path without the slash is answered
// by the slashed rule with a redirect. Verified against Werkzeug 3.0.6's matcher.
const SHADOWED_BY = new Map([
  ['ROUTE_0403', 'ROUTE_0404'],
  ['ROUTE_0427', 'ROUTE_0428'],
  ['ROUTE_0431', 'ROUTE_0432'],
]);

function convertRule(rule, id) {
  return rule.replace(/<(?:([a-z0-9]+)(?:\("((?:[^"\\]|\\.)*)"\))?:)?([a-z_]+)>/g, (_m, conv, arg, name) => {
    if (!conv) return `{${name}}`;
    if (conv === 'regex') {
      const kind = REGEX_KINDS.get(arg);
      if (!kind) throw new Error(`${id}: no converter kind for regex ${arg}`);
      return `{${name}:${kind}}`;
    }
    const kind = CONVERTER_KINDS.get(conv);
    if (!kind) throw new Error(`${id}: unknown converter ${conv}`);
    return `{${name}:${kind}}`;
  });
}

function readTsv(file) {
  const [head, ...lines] = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  const cols = head.split('\t');
  return lines.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i], v])));
}

const rows = readTsv(join(shared, 'quay-routes.tsv'));
const extra = new Map(readTsv(join(shared, 'quay-routes-extra.tsv')).map((r) => [r.route_id, r]));
const out = ['route_id\tfamily\tmethod\tpattern\tcapability\tmutating\thandler\tsource\tshadowed_by\tnotes'];
for (const r of rows) {
  const x = extra.get(r.route_id) ?? {};
  const family = r.family.toUpperCase().replace(/-/g, '_');
  const notes = (x.notes ?? '').replace(/\t/g, ' ');
  out.push(
    [r.route_id, family, r.method, convertRule(r.flask_rule, r.route_id), r.capability, r.mutating, x.handler ?? '', r.source, SHADOWED_BY.get(r.route_id) ?? '', notes].join('\t'),
  );
}
const text = out.join('\n') + '\n';
const target = join(root, 'owner-maps', 'routes.tsv');
if (check) {
  const current = readFileSync(target, 'utf8');
  if (current !== text) {
    console.error('owner-maps/routes.tsv is out of date; run node scripts/import-routes.mjs');
    process.exit(1);
  }
  console.log(`owner-maps/routes.tsv is up to date (${rows.length} routes)`);
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target} (${rows.length} routes)`);
}
