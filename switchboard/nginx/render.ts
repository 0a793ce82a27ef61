/**
 * Renders the nginx front door from a snapshot through the nunjucks templates
 * in nginx-templates/. Deterministic: the same snapshot and options give the
 * same bytes.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';
import type { Snapshot } from '../core/snapshot.js';
import { SwitchboardError } from '../errors.js';
import { buildNginxModel, mapKey, ngxQuote, type NginxModel, type RenderOptions } from './model.js';

export type NginxPart = 'full' | 'http';

export interface Rendered {
  readonly text: string;
  readonly model: NginxModel;
}

function templatesDir(): string {
  // Source tree (switchboard/nginx/) and build tree (dist/switchboard/nginx/) both find the templates.
  for (const rel of ['../../nginx-templates/', '../../../nginx-templates/']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${p}/http.conf.njk`)) return p;
  }
  throw new SwitchboardError('SWB_INVENTORY_UNREADABLE', `nginx-templates/ not found next to ${fileURLToPath(import.meta.url)}`);
}

let env: nunjucks.Environment | null = null;

function environment(): nunjucks.Environment {
  if (env) return env;
  env = new nunjucks.Environment(new nunjucks.FileSystemLoader(templatesDir(), { noCache: false }), {
    autoescape: false,
    throwOnUndefined: true,
    trimBlocks: true,
    lstripBlocks: true,
  });
  env.addFilter('q', (s: unknown) => ngxQuote(String(s)));
  env.addFilter('mapkey', (s: unknown) => ngxQuote(mapKey(String(s))));
  // Comment text from the config (names, file paths) never breaks out of its line.
  env.addFilter('c', (s: unknown) => String(s).replace(/[\x00-\x1f\x7f]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`));
  // Indents non-empty lines only: no trailing blanks in the output.
  env.addFilter('block_indent', (s: unknown, n: number) =>
    String(s)
      .split('\n')
      .map((l) => (l === '' ? l : ' '.repeat(n) + l))
      .join('\n'),
  );
  return env;
}

function listenAddress(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The rendered configuration: `full` is a whole nginx.conf, `http` the http{} contents for an include. */
export function renderNginx(s: Snapshot, opts: RenderOptions & { readonly part?: NginxPart } = {}): Rendered {
  const model = buildNginxModel(s, opts);
  const ctx = { ...model, listen: { ...model.listen, address: listenAddress(model.listen.host, model.listen.port) } };
  const e = environment();
  const http =
    e
      .render('http.conf.njk', ctx)
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd() + '\n';
  if (opts.part === 'http') return { text: http, model };
  const text =
    e
      .render('nginx.conf.njk', { ...ctx, http: http.trimEnd() })
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd() + '\n';
  return { text, model };
}
