// The two HTTP servers the catalog bench loads, in a process of their own (so the load
// generator does not share their event loop): the shop on embedded defaults (PGlite in
// memory, memory backends, L1 cache) and a bare Fastify route answering the same JSON.
// Prints `{"shop": port, "bare": port}` on stdout once both listen; exits on SIGTERM.
import Fastify from 'fastify';
import { loadConfig } from '../../examples/shop/src/config.js';
import { createShop } from '../../examples/shop/src/shop.js';

const config = loadConfig({
  PORT: '0',
  SHOP_IN_MEMORY: 'true',
  // The defaults but two: the per-IP API quota (600/min) would turn the load into 429s
  // (the limiter still runs on every request), and an info-level access log line per
  // request to a terminal measures the terminal.
  SHOP_API_RATE_LIMIT: '1000000000/1m',
  LOG_LEVEL: 'warn',
});
const shop = await createShop(config);
await shop.listen();
const shopPort = (shop.app.server.address() as { port: number }).port;

// Warm the cache and take the body the bare route will serve.
const body = (await (await fetch(`http://127.0.0.1:${shopPort}/api/products`)).json()) as unknown;
const bare = Fastify({ logger: false });
bare.get('/api/products', async () => body);
await bare.listen({ port: 0, host: '127.0.0.1' });
const barePort = (bare.server.address() as { port: number }).port;

process.stdout.write(`${JSON.stringify({ shop: shopPort, bare: barePort })}\n`);
const stop = async () => {
  await bare.close();
  await shop.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
