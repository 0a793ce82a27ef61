/**
 * Header hygiene between client and upstream (RFC 9110 §7.6.1): hop-by-hop
 * headers and those a Connection header names are not forwarded (but a
 * Connection header cannot take Host or the body's framing away); Host is
 * kept (registry Location headers must stay valid); X-Forwarded-* are set:
 * kept and appended to from a trusted front proxy, replaced from anyone else
 * (the owners write X-Forwarded-For into their audit logs), and a client's
 * Forwarded is dropped unless it comes through a trusted proxy.
 */
import { util } from 'undici';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);

/**
 * Request headers never sent on: the hop-by-hop ones, and Expect, which the
 * proxy answers itself (RFC 9110 §10.1.1: 100 Continue when it forwards,
 * a 417 for any other expectation); undici refuses the header anyway.
 */
const NOT_FORWARDED = new Set([...HOP_BY_HOP, 'expect']);

/** Headers a Connection header may not strip: the request would change meaning, not lose a hop's detail. */
const END_TO_END = new Set(['host', 'content-length', 'authorization']);

/** What a client says about earlier hops; believed only from SWITCHBOARD.TRUSTED_PROXIES. */
const HOP_CLAIMS = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded']);

export interface ForwardedInfo {
  /** The connection's peer (a front proxy when `trusted`). */
  readonly clientAddress: string;
  readonly proto: 'http' | 'https';
  /** The peer is a trusted front proxy: its X-Forwarded-* and Forwarded stand. */
  readonly trusted?: boolean;
}

/**
 * The upstream request headers as a flat [name, value, ...] array, from the
 * client's raw headers (original case and order kept).
 */
export function requestHeaders(raw: readonly string[], info: ForwardedInfo): string[] {
  let connectionTokens: Set<string> | null = null;
  let xff: string | null = null;
  let hasProto = false;
  let hasHost = false;
  let host = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name === 'connection') {
      for (const tok of (raw[i + 1] as string).split(',')) {
        const t = tok.trim().toLowerCase();
        if (t && t !== 'close' && t !== 'keep-alive' && !END_TO_END.has(t)) (connectionTokens ??= new Set()).add(t);
      }
    }
  }
  const trusted = info.trusted === true;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (NOT_FORWARDED.has(lower) || connectionTokens?.has(lower)) continue;
    const value = raw[i + 1] as string;
    if (!trusted && HOP_CLAIMS.has(lower)) continue;
    if (lower === 'x-forwarded-for') {
      xff = xff === null ? value : `${xff}, ${value}`;
      continue;
    }
    if (lower === 'x-forwarded-proto') hasProto = true;
    if (lower === 'x-forwarded-host') hasHost = true;
    if (lower === 'host') host = value;
    if (lower === 'cookie' && value.includes('sb_session=')) {
      // The dashboard's session (browsers send a host's cookies to all its ports) never reaches an owner.
      const kept = value
        .split(/;\s*/)
        .filter((c) => !c.startsWith('sb_session='))
        .join('; ');
      if (kept) out.push(name, kept);
      continue;
    }
    out.push(name, value);
  }
  out.push('x-forwarded-for', xff === null ? info.clientAddress : `${xff}, ${info.clientAddress}`);
  // Behind a TLS terminator the original scheme and host arrive already set: keep them.
  if (!hasProto) out.push('x-forwarded-proto', info.proto);
  if (!hasHost && host) out.push('x-forwarded-host', host);
  return out;
}

/** Upstream response headers minus hop-by-hop ones, as a flat array for writeHead. */
export function responseHeaders(headers: Record<string, string | string[] | undefined>): string[] {
  let connectionTokens: Set<string> | null = null;
  const conn = headers.connection;
  if (conn !== undefined) {
    for (const tok of String(conn).split(',')) {
      const t = tok.trim().toLowerCase();
      if (t) (connectionTokens ??= new Set()).add(t);
    }
  }
  const out: string[] = [];
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || connectionTokens?.has(name)) continue;
    const v = headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push(name, x);
    else out.push(name, v);
  }
  return out;
}

/**
 * The same from undici's raw response headers ([name, value, ...] buffers):
 * names lower-cased, values as latin1, in the upstream's order.
 */
export function responseHeadersRaw(raw: readonly (Buffer | string)[]): string[] {
  let connectionTokens: Set<string> | null = null;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = util.headerNameToString(raw[i]!);
    if (HOP_BY_HOP.has(name)) {
      if (name === 'connection') {
        const v = raw[i + 1]!;
        for (const tok of (typeof v === 'string' ? v : v.toString('latin1')).split(',')) {
          const t = tok.trim().toLowerCase();
          // `keep-alive` names a header dropped anyway; `close` none.
          if (t && t !== 'close' && !HOP_BY_HOP.has(t)) (connectionTokens ??= new Set()).add(t);
        }
      }
      continue;
    }
    const v = raw[i + 1]!;
    out.push(name, typeof v === 'string' ? v : v.toString('latin1'));
  }
  if (connectionTokens === null) return out;
  // Headers the Connection header names (rare): dropped, wherever they came in the section.
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!connectionTokens.has(out[i]!)) kept.push(out[i]!, out[i + 1]!);
  return kept;
}

/** True when the client sent a request body (Content-Length > 0 or chunked). */
export function hasBody(headers: Record<string, string | string[] | undefined>): boolean {
  const te = headers['transfer-encoding'];
  if (te !== undefined) return true;
  const cl = headers['content-length'];
  return cl !== undefined && cl !== '0';
}
