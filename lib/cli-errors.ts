/**
 * The one error format of the three bins (switchboard, quay, registryd):
 *
 *   prog: message [CODE]     the first line, always; scripts read the code here
 *   details                  optional: config problems, nginx's own output
 *
 *   Usage: ...               optional, after a blank line, on usage errors
 *
 * Usage errors exit 2, failures 1, internal errors 70. The codes are listed in
 * ERRORS.md (SWB_ for switchboard, REG_ for quay and registryd).
 */

export const EXIT_USAGE = 2;
export const EXIT_FAIL = 1;
export const EXIT_INTERNAL = 70;

/** `prog: message [CODE]`, then the message's further lines, then the usage after a blank line. */
export function errorText(prog: string, code: string, message: string, usage?: string): string {
  const [head, ...details] = message.split('\n');
  // "...: [CODE]" reads badly: a colon that introduced the details goes.
  const first = details.length ? head!.replace(/:\s*$/, '') : head;
  return `${prog}: ${first} [${code}]${details.length ? `\n${details.join('\n')}` : ''}${usage ? `\n\n${usage}` : ''}`;
}

/** node:util parseArgs' message without its advice about `--` (e.g. "Unknown option '--foo'"). */
export function parseArgsMessage(e: unknown): string {
  return (e as Error).message.split(/\.\s/)[0]!;
}

/** An unexpected error (a bug): one line with the code; the stack trace only when PROG_DEBUG is set. */
export function internalErrorText(prog: string, code: string, e: unknown, env: Record<string, string | undefined>): string {
  const debugVar = `${prog.toUpperCase()}_DEBUG`;
  const err = e instanceof Error ? e : new Error(String(e));
  const head = `${prog}: internal error: ${err.message.split('\n')[0]} [${code}]`;
  return env[debugVar] ? `${head}\n${err.stack ?? ''}` : `${head}\n(set ${debugVar}=1 for a stack trace)`;
}
