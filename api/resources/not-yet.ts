/** The handler of a row the go side does not serve yet: a clear 501, never a made-up answer. */
import type { ApiCall } from '../call/context.js';
import { RawAnswer } from '../wire/errors.js';

export async function notYet(c: ApiCall): Promise<never> {
  const body = JSON.stringify({ error: `${c.req.method ?? 'GET'} ${(c.req.url ?? '').split('?')[0]} is not implemented by the go side yet: route it to python` });
  throw new RawAnswer(501, 'application/json', `${body}\n`);
}
