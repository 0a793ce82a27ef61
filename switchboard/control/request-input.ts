/**
 * What the control plane reads of a request: its body (JSON or a form, at
 * most MAX_BODY, read to the end before a refusal so the client gets the
 * answer) and whether a POST comes from this listener's own pages.
 */
import type { IncomingMessage } from 'node:http';
import { SwitchboardError } from '../errors.js';

export const MAX_BODY = 64 * 1024;

/** A body over MAX_BODY: answered 413. */
export class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    let over = false;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (over) return;
      if (size > MAX_BODY) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(c);
    });
    // Read to the end (so the client gets the answer, not a reset), then refuse.
    req.on('end', () => (over ? reject(new BodyTooLarge(`request body over ${MAX_BODY / 1024} KiB`)) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

/** The fields of a JSON object or form body. */
export async function fields(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  const type = String(req.headers['content-type'] ?? '');
  if (type.startsWith('application/json')) {
    try {
      const v = JSON.parse(text || '{}') as unknown;
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      /* below */
    }
    throw new SwitchboardError('SWB_CLI_USAGE', 'the body is not a JSON object');
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/** A POST from a page of this listener (or from a script): no Origin, or the same host; never a cross-site fetch. */
export function sameOrigin(req: IncomingMessage): boolean {
  if (req.headers['sec-fetch-site'] === 'cross-site') return false;
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || origin === 'null') return origin !== 'null';
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
