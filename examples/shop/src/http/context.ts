import type { Clock } from 'girder/core';
import type { Logger } from 'girder/logger';
import type { CatalogReads } from '../catalog/cached.js';
import type { CatalogService } from '../catalog/service.js';
import type { ProductViews } from '../catalog/views.js';
import type { Popular } from '../compose/popular.js';
import type { ShopConfig } from '../config.js';
import type { InventoryService } from '../inventory/service.js';
import type { OpsSnapshot } from '../observe/ops.js';
import type { JobsOpsSnapshot } from '../observe/ops-jobs.js';
import type { MqOpsSnapshot } from '../observe/ops-mq.js';
import type { ShopCounters } from '../observe/shop-metrics.js';
import type { OrdersService } from '../orders/service.js';
import type { PaymentsService } from '../payments/service.js';
import type { UsersService } from '../users/service.js';

/** The services behind the HTTP API. */
export interface Services {
  users: UsersService;
  catalog: CatalogService;
  inventory: InventoryService;
  orders: OrdersService;
  payments: PaymentsService;
}

/** What route modules get. */
export interface RouteContext {
  config: ShopConfig;
  services: Services;
  logger: Logger;
  /** The shop's own counters (prom-client, on the shop's registry). */
  counters: ShopCounters;
  /** The ops page's snapshot (`GET /api/admin/ops`). */
  ops: () => Promise<OpsSnapshot & JobsOpsSnapshot & { mq: MqOpsSnapshot }>;
  clock: Clock;
  /** Catalog reads through the cache, and their invalidation. */
  reads: CatalogReads;
  /** Product-page view counters. */
  views: ProductViews;
  /** The popular-products ranking. */
  popular: Popular;
}
