// notifications over gRPC: `bindNotifications` serves its read side;
// `notificationsClient` implements the same interface on a channel.
import type { Client, Server } from '@grpc/grpc-js';
import type { Notification, NotificationsService } from '../notifications/service.js';
import { invoke, unary } from './kit.js';
import { shopProtos } from './protos.js';

interface NotificationMsg {
  orderNo: string;
  userId: string;
  channel: string;
  sentAtMs: number;
}

/** Serve `notifications` (`shop.notifications.v1.Notifications`) on `server`. */
export function bindNotifications(server: Server, notifications: NotificationsService): void {
  server.addService(shopProtos().notifications.Notifications.service, {
    ForOrder: unary(async (r: { orderNo: string }) => {
      const n = await notifications.forOrder(r.orderNo);
      return n
        ? {
            found: true,
            notification: { ...n, sentAtMs: n.sentAt.getTime(), sentAt: undefined },
          }
        : { found: false };
    }),
  });
}

/** A NotificationsService whose calls go over `client`. */
export function notificationsClient(client: Client): NotificationsService {
  return {
    async forOrder(orderNo) {
      const r = await invoke<{ found: boolean; notification?: NotificationMsg | null }>(
        client,
        'ForOrder',
        { orderNo },
      );
      if (!r.found || !r.notification) return null;
      const n = r.notification;
      return {
        orderNo: n.orderNo,
        userId: n.userId,
        channel: n.channel,
        sentAt: new Date(n.sentAtMs),
      } satisfies Notification;
    },
  };
}
