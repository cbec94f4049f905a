// Starting and stopping a gateway-port server (the proxy's, or forward-auth's decision listener).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on the configured `gateway.listen`, or on the overrides the command line gave. */
export function listenGateway(server: Server, configured: { host: string; port: number }, override?: { host?: string; port?: number }): Promise<string> {
  return listenOn(server, override?.host ?? configured.host, override?.port ?? configured.port);
}

/** Listens on `host:port`; resolves with the `http://host:port` clients reach it at (0.0.0.0 shown as 127.0.0.1). */
export async function listenOn(server: Server, host: string, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${address.port}`;
}

/** Stops accepting and closes every connection, idle or not. */
export function closeNow(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
