// inventory over gRPC: `bindInventory` serves an InventoryService; `inventoryClient`
// implements the same interface on a channel.
import type { Client, Server } from '@grpc/grpc-js';
import type { InventoryService, StockLine } from '../inventory/service.js';
import { invoke, unary } from './kit.js';
import { shopProtos } from './protos.js';

/** Serve `inventory` (`shop.inventory.v1.Inventory`) on `server`. */
export function bindInventory(server: Server, inventory: InventoryService): void {
  server.addService(shopProtos().inventory.Inventory.service, {
    StockOf: unary(async (r: { productIds: number[] }) => ({
      entries: [...(await inventory.stockOf(r.productIds))].map(([productId, available]) => ({
        productId,
        available,
      })),
    })),
    SetStock: unary(async (r: { productId: number; available: number }) => ({
      available: await inventory.setStock(r.productId, r.available),
    })),
    Reserve: unary(async (r: { reservationId: string; lines: StockLine[] }) => {
      await inventory.reserve(r.reservationId, r.lines);
      return {};
    }),
    Release: unary(async (r: { reservationId: string }) => ({
      changed: await inventory.release(r.reservationId),
    })),
    Commit: unary(async (r: { reservationId: string }) => ({
      changed: await inventory.commit(r.reservationId),
    })),
    Unsettled: unary(async (r: { beforeMs: number; limit: number }) => ({
      ids: await inventory.unsettled(new Date(r.beforeMs), r.limit),
    })),
  });
}

/** An InventoryService whose calls go over `client` (a `shop.inventory.v1.Inventory` client). */
export function inventoryClient(client: Client): InventoryService {
  return {
    async stockOf(productIds) {
      const stock = new Map(productIds.map((id) => [id, 0]));
      if (productIds.length === 0) return stock;
      const r = await invoke<{ entries: Array<{ productId: number; available: number }> }>(
        client,
        'StockOf',
        { productIds: [...productIds] },
      );
      for (const e of r.entries) stock.set(e.productId, e.available);
      return stock;
    },
    setStock: async (productId, available) =>
      (await invoke<{ available: number }>(client, 'SetStock', { productId, available })).available,
    async reserve(reservationId, lines) {
      await invoke(client, 'Reserve', { reservationId, lines: [...lines] });
    },
    release: async (reservationId) =>
      (await invoke<{ changed: boolean }>(client, 'Release', { reservationId })).changed,
    commit: async (reservationId) =>
      (await invoke<{ changed: boolean }>(client, 'Commit', { reservationId })).changed,
    unsettled: async (before, limit) =>
      (await invoke<{ ids: string[] }>(client, 'Unsettled', { beforeMs: before.getTime(), limit }))
        .ids,
  };
}
