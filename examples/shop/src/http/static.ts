// The web UI: plain files from examples/shop/public, read once at startup and served
// from memory (so no request path ever touches the file system), no build step. The
// charting library of the ops page (uPlot) is served the same way from node_modules,
// under /static/vendor/: no CDN.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { errorBody } from './errors.js';

export const PUBLIC_DIR = fileURLToPath(new URL('../../public', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.png': 'image/png',
};

function readTree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile())
        files.set(relative(dir, path).split(sep).join('/'), readFileSync(path));
    }
  };
  walk(dir);
  return files;
}

/** Files from npm packages the UI needs, by their name under `/static/vendor/`. */
function vendorFiles(): Map<string, Buffer> {
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot'));
  return new Map([
    ['vendor/uPlot.iife.min.js', readFileSync(join(uplot, 'uPlot.iife.min.js'))],
    ['vendor/uPlot.min.css', readFileSync(join(uplot, 'uPlot.min.css'))],
  ]);
}

export async function staticRoutes(app: FastifyInstance) {
  const files = new Map([...readTree(PUBLIC_DIR), ...vendorFiles()]);
  const send = (name: string) => ({
    body: files.get(name),
    type: TYPES[extname(name)] ?? 'application/octet-stream',
  });
  const index = send('index.html');

  app.get('/', async (_request, reply) =>
    reply.type(index.type).header('cache-control', 'no-cache').send(index.body),
  );
  app.get('/static/*', async (request, reply) => {
    const name = (request.params as { '*': string })['*'];
    const file = send(name);
    if (file.body === undefined) {
      return reply.code(404).send(errorBody(404, 'NOT_FOUND', `no file ${name}`));
    }
    return reply.type(file.type).header('cache-control', 'no-cache').send(file.body);
  });
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).send());
}
