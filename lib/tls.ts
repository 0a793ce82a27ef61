/**
 * TLS for the `quay` runtime and the switchboard's listener:
 *   off           plain HTTP
 *   self-signed   a certificate for localhost, 127.0.0.1, ::1 and the host name,
 *                 made once into DIR/tls/{cert,key}.pem and reused on every start
 *                 (renewed 30 days before it lapses), so clients that pinned it keep working
 *   CERT,KEY      PEM files given by the operator
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import type { Logger } from './log.js';
import { writeFileAtomic } from './files.js';

export type TlsSpec = { readonly kind: 'off' } | { readonly kind: 'self-signed' } | { readonly kind: 'files'; readonly cert: string; readonly key: string };

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** Where the certificate is, for the operator (clients that want to trust it). */
  readonly certFile: string;
}

export function parseTlsSpec(text: string): TlsSpec {
  if (text === 'off') return { kind: 'off' };
  if (text === 'self-signed') return { kind: 'self-signed' };
  const parts = text.split(',');
  if (parts.length === 2 && parts[0] && parts[1]) return { kind: 'files', cert: parts[0], key: parts[1] };
  throw new Error(`--tls ${text}: use off, self-signed or CERT.pem,KEY.pem`);
}

const RENEW_BEFORE_MS = 30 * 86_400_000;
const VALIDITY_MS = 825 * 86_400_000;

function stillGood(certPem: string, now: number): boolean {
  try {
    return Date.parse(new X509Certificate(certPem).validTo) - now > RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

/** The self-signed pair under `dir/tls`, made when missing or close to expiry. */
export async function selfSigned(dir: string, names: readonly string[], log: Logger, now = Date.now()): Promise<TlsMaterial> {
  const tlsDir = join(dir, 'tls');
  const certFile = join(tlsDir, 'cert.pem');
  const keyFile = join(tlsDir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile, 'utf8');
    if (stillGood(cert, now)) return { cert, key: readFileSync(keyFile, 'utf8'), certFile };
    log.warn('self-signed certificate expires soon or is unreadable; making a new one', { cert_file: certFile });
  }
  const dns = [...new Set(['localhost', hostname(), ...names.filter((n) => !/^[\d.]+$|:/.test(n))])];
  const pems = await generate(
    [
      { name: 'commonName', value: 'localhost' },
      { name: 'organizationName', value: 'Switchboard self-signed' },
    ],
    {
      keySize: 2048,
      algorithm: 'sha256',
      notBeforeDate: new Date(now - 60_000),
      notAfterDate: new Date(now + VALIDITY_MS),
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [...dns.map((d) => ({ type: 2 as const, value: d })), { type: 7 as const, ip: '127.0.0.1' }, { type: 7 as const, ip: '::1' }] },
      ],
    },
  );
  writeFileAtomic(keyFile, pems.private);
  writeFileAtomic(certFile, pems.cert);
  log.info('made a self-signed TLS certificate', { cert_file: certFile, valid_days: VALIDITY_MS / 86_400_000 });
  return { cert: pems.cert, key: pems.private, certFile };
}

/** The key and certificate for a spec, or null for plain HTTP. */
export async function loadTls(spec: TlsSpec, dataDir: string, names: readonly string[], log: Logger): Promise<TlsMaterial | null> {
  switch (spec.kind) {
    case 'off':
      return null;
    case 'self-signed':
      return selfSigned(dataDir, names, log);
    case 'files':
      return { cert: readFileSync(spec.cert, 'utf8'), key: readFileSync(spec.key, 'utf8'), certFile: spec.cert };
  }
}
