// The shop's public shape: what createShop (../shop.ts) takes and gives.

import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';
import type { Breaker } from 'girder/breaker';
import type { Clock } from 'girder/core';
import type { Authorizer, TokenService } from 'girder/jwt';
import type { Logger } from 'girder/logger';
import type { Registry } from 'prom-client';
import type { ClusterControl } from '../cluster/control.js';
import type { ShopConfig } from '../config.js';
import type { OpenDatabase } from '../db/database.js';
import type { Services } from '../http/context.js';
import type { OrdersMigration } from '../migration/orders-migration.js';
import type { MigrationTarget } from '../migration/target.js';
import type { MockProviderControl } from '../mock-provider/plugin.js';
import type { User } from '../users/service.js';
import type { Jobs } from './jobs.js';
import type { Messaging } from './messaging.js';
import type { Popular } from './popular.js';
import type { ShopRpc } from './rpc.js';
import type { ShopSms } from './sms.js';

/** Things tests (and embedders) may supply instead of the defaults. */
export interface ShopOptions {
  /** Time for order deadlines, the expiry job, callback timestamps and the payment breaker. Default `systemClock`. */
  clock?: Clock;
  /** Where logs go. Default a console logger per `LOG_LEVEL` / `LOG_FORMAT`. */
  logger?: Logger;
  /** An already opened (and migrated) database; `close()` closes it. Default: open `config.database`. */
  database?: OpenDatabase;
  /** Export spans here (tests: an in-memory exporter), whatever `config.tracing` says. */
  spanExporter?: SpanExporter;
  /** The live-migration demo's target, already opened (tests); default: per `config.migration`. */
  migrationTarget?: MigrationTarget;
  /** What the ops page's cluster panel acts on (`--cluster`: the supervisor's); default: the in-process gRPC nodes. */
  cluster?: ClusterControl;
  /**
   * Gateway mode (the cluster): with `SHOP_TRANSPORT=grpc`, the services are not composed
   * here but found in this etcd registry (ETCD_ENDPOINTS), each running in its own
   * process; every service call, startup included, goes through the gRPC clients.
   */
  etcdEndpoints?: readonly string[];
}

export interface Shop {
  readonly app: FastifyInstance;
  readonly config: ShopConfig;
  readonly services: Services;
  readonly mockProvider: MockProviderControl;
  /** SMS codes, the provider stack and the two mock providers (girder/sms). */
  readonly sms: ShopSms;
  /** The prom-client registry behind `/metrics` and the ops page. */
  readonly registry: Registry;
  readonly tokens: TokenService;
  readonly authorizer: Authorizer;
  /** The breaker in front of the payment provider. */
  readonly paymentBreaker: Breaker;
  /** The admin account. */
  readonly admin: User;
  /** What the shop runs on, for the startup banner. */
  readonly describe: { database: string; backends: string };
  /** Start listening on `config.port` / `config.host`; resolves the public URL. */
  listen(): Promise<string>;
  /** Base URL for browsers (after `listen`). */
  url(): string;
  /**
   * The background jobs: the sweeps this process schedules (none in gateway mode) under
   * the `shop-jobs` election.
   */
  readonly jobs: Jobs;
  /** The popular-products ranking job and its cache. */
  readonly popular: Popular;
  /** The queue, the outbox relay and the `order.paid` consumers (girder/mq). */
  readonly messaging: Messaging;
  /** The live migration of `orders` to a second database, when `config.migration` is set. */
  readonly migration: OrdersMigration | undefined;
  /** The gRPC transport (`SHOP_TRANSPORT=grpc`): nodes, clients, registry; undefined when direct. */
  readonly rpc: ShopRpc | undefined;
  /** `gateway`: the services run elsewhere (etcd); `one-process`: every role composed here. */
  readonly mode: 'one-process' | 'gateway';
  /** Run the background jobs once now: expire overdue orders, retry failed refunds. */
  runJobs(): Promise<{ expired: number; refunded: number }>;
  /** Stop the jobs, the server and every connection. */
  close(): Promise<void>;
}
