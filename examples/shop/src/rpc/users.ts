// users over gRPC: `bindUsers` serves a UsersService (and the phones) on a grpc-js
// server; `usersClient` / `phonesClient` implement the same interfaces on a channel.
import type { Client, Server } from '@grpc/grpc-js';
import type { PhonesService } from '../users/phones.js';
import type { Role, User, UsersService } from '../users/service.js';
import { invoke, unary } from './kit.js';
import { shopProtos } from './protos.js';

interface UserMsg {
  id: string;
  email: string;
  role: string;
  createdAtMs: number;
}
interface MaybeUserMsg {
  found: boolean;
  user?: UserMsg | null;
}
interface MaybeText {
  found: boolean;
  value: string;
}

const toMsg = (u: User): UserMsg => ({
  id: u.id,
  email: u.email,
  role: u.role,
  createdAtMs: u.createdAt.getTime(),
});
const fromMsg = (m: UserMsg): User => ({
  id: m.id,
  email: m.email,
  role: m.role as Role,
  createdAt: new Date(m.createdAtMs),
});
const maybe = (u: User | null): MaybeUserMsg =>
  u ? { found: true, user: toMsg(u) } : { found: false };
const unmaybe = (m: MaybeUserMsg): User | null => (m.found && m.user ? fromMsg(m.user) : null);
const text = (v: string | null): MaybeText => ({ found: v !== null, value: v ?? '' });

/** Serve `users` and `phones` (package `shop.users.v1`) on `server`. */
export function bindUsers(server: Server, users: UsersService, phones: PhonesService): void {
  const { Users, Phones } = shopProtos().users;
  server.addService(Users.service, {
    Signup: unary(async (r: { email: string; password: string }) =>
      toMsg(await users.signup(r.email, r.password)),
    ),
    Authenticate: unary(async (r: { email: string; password: string; ip: string }) =>
      maybe(await users.authenticate(r.email, r.password, { ip: r.ip })),
    ),
    Get: unary(async (r: { id: string }) => maybe(await users.get(r.id))),
    EnsureAdmin: unary(async (r: { email: string; password: string }) =>
      toMsg(await users.ensureAdmin(r.email, r.password)),
    ),
  });
  server.addService(Phones.service, {
    Link: unary(async (r: { userId: string; phone: string }) => {
      await phones.link(r.userId, r.phone);
      return {};
    }),
    UserOf: unary(async (r: { phone: string }) => text(await phones.userOf(r.phone))),
    PhoneOf: unary(async (r: { userId: string }) => text(await phones.phoneOf(r.userId))),
  });
}

/** A UsersService whose calls go over `client` (a `shop.users.v1.Users` client). */
export function usersClient(client: Client): UsersService {
  return {
    signup: async (email, password) =>
      fromMsg(await invoke<UserMsg>(client, 'Signup', { email, password })),
    authenticate: async (email, password, context) =>
      unmaybe(
        await invoke<MaybeUserMsg>(client, 'Authenticate', { email, password, ip: context.ip }),
      ),
    get: async (id) => unmaybe(await invoke<MaybeUserMsg>(client, 'Get', { id })),
    ensureAdmin: async (email, password) =>
      fromMsg(await invoke<UserMsg>(client, 'EnsureAdmin', { email, password })),
  };
}

/** A PhonesService whose calls go over `client` (a `shop.users.v1.Phones` client). */
export function phonesClient(client: Client): PhonesService {
  const value = (m: MaybeText) => (m.found ? m.value : null);
  return {
    async link(userId, phone) {
      await invoke(client, 'Link', { userId, phone });
    },
    userOf: async (phone) => value(await invoke<MaybeText>(client, 'UserOf', { phone })),
    phoneOf: async (userId) => value(await invoke<MaybeText>(client, 'PhoneOf', { userId })),
  };
}
