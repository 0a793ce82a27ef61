/**
 * The coded-error base: every component's errors carry a stable `code` that
 * callers compare (never message text). Each component keeps its own code
 * table (switchboard/errors.ts SWB_, domain/errors.ts REG_, the /v2 wire
 * vocabulary in registryd/oci/errors.ts); the HTTP edges map codes to their
 * wire shapes, the CLIs to `command: message [CODE]` (cli-errors.ts).
 */
export class CodedError<C extends string = string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The code an error carries when it is one of `table`'s keys, else null. */
export function codeIn<T extends Record<string, unknown>>(e: unknown, table: T): (keyof T & string) | null {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && Object.hasOwn(table, code) ? code : null;
}
