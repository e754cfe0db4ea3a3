// `npm run shop`: start the example shop on embedded defaults (or what the environment
// says), print where it is and how to sign in. `npm run shop -- --memory` keeps no data.
// `npm run shop -- --cluster` starts etcd, Redis and PostgreSQL and each service as its
// own process (cluster/launch.ts), with the gateway (this shop) in this process.
import type { RunningCluster } from './cluster/launch.js';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from './config.js';
import { createShop } from './shop.js';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(
    [
      'Usage: npm run shop [-- --memory | --cluster]',
      '',
      '  --memory   keep the database in memory (nothing is written to disk)',
      '  --cluster  start etcd, redis-server and PostgreSQL (unless ETCD_ENDPOINTS, REDIS_URL,',
      '             DATABASE_URL say where they are) and each service as its own process',
      '',
      `Environment variables: ${CONFIG_VARIABLES.join(', ')}.`,
      'See docs/shop.md for what each one does.',
    ].join('\n'),
  );
  process.exit(0);
}
const unknown = args.filter((a) => a !== '--memory' && a !== '--cluster');
if (unknown.length > 0) {
  console.error(`Unknown argument: ${unknown.join(' ')} (try --help)`);
  process.exit(1);
}
const clusterMode = args.includes('--cluster');
if (clusterMode && args.includes('--memory')) {
  console.error('--memory and --cluster do not mix: the cluster keeps its data in PostgreSQL');
  process.exit(1);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env, { inMemory: args.includes('--memory') });
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`The shop cannot start: ${err.message}`);
    process.exit(1);
  }
  throw err;
}

let cluster: RunningCluster | undefined;
if (clusterMode) {
  const { startCluster } = await import('./cluster/launch.js');
  try {
    cluster = await startCluster();
    config = loadConfig({ ...process.env, ...cluster.gatewayEnv });
  } catch (err) {
    const e = err as Error;
    console.error(
      `The shop cannot start in cluster mode:\n  ${e.message.replaceAll('\n', '\n  ')}`,
    );
    process.exit(1);
  }
}

try {
  // Cluster: this process is the gateway; the services are found in etcd.
  const shop = await createShop(
    config,
    cluster
      ? { etcdEndpoints: cluster.infra.endpoints.etcdEndpoints, cluster: cluster.control }
      : {},
  );
  const url = await shop.listen();
  const admin = config.admin;
  console.log(
    [
      '',
      `  girder example shop is running at ${url}`,
      '',
      `  database:  ${shop.describe.database}`,
      `  backends:  ${shop.describe.backends} (rate limits, sessions, roles)`,
      `  payments:  ${config.paymentProviderUrl ?? `mock provider at ${url}/mock-pay`}`,
      `  metrics:   ${url}/metrics   ops page: ${url}/#/ops (admin)`,
      `  sms:       ${
        config.sms.mode === 'console'
          ? 'mock providers print every SMS (login codes too) in this terminal'
          : 'mock providers keep messages in memory (SHOP_SMS=mock)'
      }; codes in ${shop.sms.codeStore === 'memory' ? 'memory' : 'Redis'}`,
      `  messaging: ${
        shop.messaging.queue.kind === 'memory' ? 'in-memory queue' : 'Redis Streams'
      }; order.paid via the outbox -> notifications, popular-sales`,
      `  migration: ${
        shop.migration
          ? `orders -> ${shop.migration.target.description}, phase ${shop.migration.phase.phase} (ops page)`
          : 'off (SHOP_MIGRATION=1: move the orders table live, from the ops page)'
      }`,
      `  tracing:   ${
        config.tracing.kind === 'otlp'
          ? `OTLP/HTTP to ${config.tracing.endpoint}`
          : config.tracing.kind === 'console'
            ? 'spans printed to the console'
            : 'off (SHOP_TRACING=console or otlp)'
      }`,
      ...(cluster
        ? [
            '',
            `  cluster:   this process is the gateway (HTTP, web UI, tokens, SMS codes, mock provider);`,
            '             each service runs as its own process, found through etcd (etcd:///<service>)',
            ...cluster.describe(),
          ]
        : []),
      '',
      '  Sign up in the browser, or sign in as the admin:',
      `    email:    ${admin.email}`,
      `    password: ${admin.isDefault ? admin.password : '(the SHOP_ADMIN_PASSWORD you set)'}`,
      ...(admin.isDefault
        ? ['    (local default; set SHOP_ADMIN_EMAIL / SHOP_ADMIN_PASSWORD to change it)']
        : []),
      '',
      '  Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the shop...`);
    // The gateway first, so no call goes to an instance that is already gone.
    const closeAll = async () => {
      await shop.close();
      await cluster?.close();
    };
    closeAll().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('error while stopping:', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (err) {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') {
    console.error(
      `The shop cannot start: port ${config.port} is in use (set PORT to another one).`,
    );
  } else {
    console.error(`The shop cannot start: ${e.message ?? String(err)}`);
  }
  await cluster?.close();
  process.exit(1);
}
