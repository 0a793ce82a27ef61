/** Binding a server: the port it got, and the URL a local client reaches it at. */
import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';

/** Listen on HOST:PORT; resolves with the bound port (port 0 picks one). */
export function listenOn(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** The URL a client on this machine uses for a listener bound to HOST:PORT (wildcards become loopback). */
export function localUrl(scheme: 'http' | 'https', host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${h}:${port}`;
}
