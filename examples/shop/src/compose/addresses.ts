// Where the running shop is reachable: by itself (server-to-server calls to the mock
// provider and callbacks) and by browsers (links and redirects).
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { ShopConfig } from '../config.js';

const LOOPBACK_OR_ANY = new Set(['127.0.0.1', '::1', 'localhost', '0.0.0.0', '::']);

export interface Addresses {
  /** How this process reaches itself. */
  internalUrl(): string;
  /** How browsers reach the shop. */
  publicUrl(): string;
}

export function addressesOf(app: FastifyInstance, config: ShopConfig): Addresses {
  const address = () => {
    const a = app.server.address() as AddressInfo | null;
    if (!a || typeof a !== 'object') throw new Error('the shop is not listening yet');
    return a;
  };
  return {
    internalUrl() {
      const a = address();
      const host =
        a.address === '0.0.0.0'
          ? '127.0.0.1'
          : a.address === '::'
            ? '[::1]'
            : a.family === 'IPv6'
              ? `[${a.address}]`
              : a.address;
      return `http://${host}:${a.port}`;
    },
    publicUrl() {
      if (config.publicUrl) return config.publicUrl;
      const host = LOOPBACK_OR_ANY.has(config.host) ? 'localhost' : config.host;
      return `http://${host}:${address().port}`;
    },
  };
}
