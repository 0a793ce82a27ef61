/** `HOST:PORT` (IPv6 hosts in brackets) as listeners take it: the CLIs' `--listen` and the LISTEN settings. */
import { SwitchboardError } from '../errors.js';

export function splitHostPort(v: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(v);
  if (!m) throw new SwitchboardError('SWB_CLI_USAGE', `"${v}" is not HOST:PORT`);
  return { host: m[1] as string, port: Number(m[2]) };
}
