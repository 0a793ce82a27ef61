/** `HOST:PORT` (IPv6 hosts in brackets) as listeners take it: the CLIs' `--listen` and the LISTEN settings. */

/** The host and port of `v`, or null when it is not HOST:PORT. */
export function parseHostPort(v: string): { host: string; port: number } | null {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) return null;
  return { host: m[1] as string, port: Number(m[2]) };
}

/** As parseHostPort, throwing `error(message)` (a usage error of the calling command) when `v` is not HOST:PORT. */
export function splitHostPort(v: string, error: (message: string) => Error = (m) => new Error(m)): { host: string; port: number } {
  const hp = parseHostPort(v);
  if (!hp) throw error(`"${v}" is not HOST:PORT`);
  return hp;
}
