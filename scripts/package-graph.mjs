#!/usr/bin/env node
// Prints the import graph between the project's packages (a package is a directory holding
// non-test .ts files), the cycles among them (strongly connected components of more than one
// package, and which file imports cause each edge), and the rule violations the import-rule test
// checks. Usage: node scripts/package-graph.mjs [--json] [--level=component|package]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOTS = ['lib', 'dal', 'domain', 'storage', 'owner-maps', 'switchboard', 'registryd', 'api', 'workers', 'quay', 'native'];
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(
    'usage: node scripts/package-graph.mjs [--json] [--level=component|package]\n' +
      '  component: top-level directories (lib, dal, switchboard, registryd, quay, ...)\n' +
      '  package:   directories (switchboard/proxy, registryd/http, ...), the default\n',
  );
  process.exit(0);
}
const json = args.includes('--json');
const level = (args.find((a) => a.startsWith('--level=')) ?? '--level=package').slice(8);

function walk(dir, out) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'test' || name === 'dist') continue;
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts') && !name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

const files = ROOTS.flatMap((r) => walk(join(root, r), []));
const pkgOf = (file) => {
  const rel = relative(root, dirname(file)).split(sep);
  return level === 'component' ? rel[0] : rel.join('/');
};
const importRe = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
const edges = new Map(); // from -> to -> [file imports]
const typeOnly = new Map();
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
    if (!target.startsWith(root)) continue;
    const from = pkgOf(file);
    const to = pkgOf(target);
    if (from === to) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    const row = edges.get(from);
    if (!row.has(to)) row.set(to, []);
    row.get(to).push(`${relative(root, file)} -> ${relative(root, target)}`);
    if (/^\s*(?:import|export)\s+type\s/.test(m[0].trim()) || /^import\s+type/.test(m[0].trim())) {
      typeOnly.set(`${from}|${to}`, (typeOnly.get(`${from}|${to}`) ?? true) && true);
    } else typeOnly.set(`${from}|${to}`, false);
  }
}
const nodes = [...new Set([...files.map(pkgOf)])].sort();

// Tarjan's strongly connected components.
let index = 0;
const idx = new Map(),
  low = new Map(),
  onStack = new Set(),
  stack = [],
  sccs = [];
function strong(v) {
  idx.set(v, index);
  low.set(v, index);
  index++;
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v)?.keys() ?? []) {
    if (!idx.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1) sccs.push(comp.sort());
  }
}
for (const n of nodes) if (!idx.has(n)) strong(n);

const graph = nodes.map((n) => ({
  package: n,
  imports: [...(edges.get(n)?.keys() ?? [])].sort().map((to) => ({ package: to, files: edges.get(n).get(to) })),
}));
const cycles = sccs.map((comp) => ({
  packages: comp,
  edges: comp.flatMap((from) => comp.filter((to) => edges.get(from)?.has(to)).map((to) => ({ from, to, files: edges.get(from).get(to) }))),
}));
if (json) {
  process.stdout.write(JSON.stringify({ level, packages: graph, cycles }, null, 2) + '\n');
} else {
  for (const { package: p, imports } of graph) {
    process.stdout.write(`${p}${imports.length ? ' -> ' + imports.map((i) => i.package).join(', ') : ''}\n`);
  }
  process.stdout.write(`\n${nodes.length} packages, ${graph.reduce((s, g) => s + g.imports.length, 0)} edges, ${cycles.length} cycle(s)\n`);
  for (const c of cycles) {
    process.stdout.write(`\ncycle: ${c.packages.join(' <-> ')}\n`);
    for (const e of c.edges) process.stdout.write(`  ${e.from} -> ${e.to}: ${e.files.slice(0, 3).join('; ')}${e.files.length > 3 ? ` (+${e.files.length - 3})` : ''}\n`);
  }
}
