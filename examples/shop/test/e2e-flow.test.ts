// The end-to-end flow (e2e-flow.ts) against the one-process shop: every service in this
// process, reached over in-process gRPC on loopback as `npm run shop` does
// (SHOP_TEST_TRANSPORT=direct runs the same steps over plain object calls).
import { FLOW_ENV, shopFlow } from './e2e-flow.js';
import { startShop } from './helpers.js';

const transport = process.env.SHOP_TEST_TRANSPORT === 'direct' ? 'direct' : 'grpc';

shopFlow('one-process', () => startShop(FLOW_ENV, { transport }));
