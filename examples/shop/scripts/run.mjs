// `npm run shop [-- flags]`: build what is out of date (scripts/build.mjs), then run the
// built shop, examples/shop/dist/main.js, in this same process with the same arguments.
// `girder/*` imports in the built shop resolve through package.json `exports` to the
// package's own dist/ (Node's self-reference), as they would for an installed package.
import { pathToFileURL } from 'node:url';
import { buildShop, SHOP_MAIN } from './build.mjs';

try {
  await buildShop({ log: (line) => console.error(line) });
} catch (err) {
  console.error(`The shop could not be built: ${err?.message ?? err}`);
  process.exit(1);
}
await import(pathToFileURL(SHOP_MAIN).href);
