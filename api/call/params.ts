/**
 * Query parameters as Quay's @query_param / @parse_args read them
 * (Flask-RESTful's reqparse, location `args`): every value of a repeated
 * parameter is converted (any bad one fails), the first is used; a value that
 * does not convert, or is not one of the choices, is refused with 400
 * `{"message": {"<name>": "<help>"}}`; a missing one takes its default.
 */
import { Abort } from '../wire/errors.js';

/** Python's int(): optional sign, digits with single underscores between them, surrounding whitespace. */
export function pyInt(s: string): number {
  const m = /^[\s]*([+-]?)(\d+(?:_\d+)*)[\s]*$/.exec(s);
  if (!m) throw new Error(`invalid literal for int() with base 10: '${s}'`);
  return Number(`${m[1]}${m[2]!.replace(/_/g, '')}`);
}

/** Quay's util.parsing.truthy_bool: everything but false, "false", "False", "0", "FALSE", "", "null". */
export function truthyBool(s: string): boolean {
  return !['false', 'False', '0', 'FALSE', '', 'null'].includes(s);
}

export type ParamType = 'str' | 'int' | 'bool' | ((v: string) => unknown);

export interface ParamSpec {
  readonly name: string;
  readonly help: string;
  readonly type?: ParamType;
  readonly default?: unknown;
  readonly choices?: readonly unknown[];
  readonly required?: boolean;
}

function convert(type: ParamType, v: string): unknown {
  if (type === 'str') return v;
  if (type === 'int') return pyInt(v);
  if (type === 'bool') return truthyBool(v);
  return type(v);
}

/**
 * The parsed arguments, in the order Quay's parser checks them: its decorators
 * are applied bottom-up, so list the specs from the last @query_param to the first.
 */
export function parseArgs(query: URLSearchParams, specs: readonly ParamSpec[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of specs) {
    const values = query.getAll(spec.name);
    const results: unknown[] = [];
    for (const raw of values) {
      let v: unknown;
      try {
        v = convert(spec.type ?? 'str', raw);
      } catch {
        throw new Abort(400, { [spec.name]: spec.help });
      }
      if (spec.choices && spec.choices.length > 0 && !spec.choices.includes(v)) throw new Abort(400, { [spec.name]: spec.help });
      results.push(v);
    }
    if (results.length === 0 && spec.required) throw new Abort(400, { [spec.name]: spec.help });
    out[spec.name] = results.length > 0 ? results[0] : (spec.default ?? null);
  }
  return out;
}
