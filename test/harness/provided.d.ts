// Types for the values global-setup.ts provides, so `inject('redisUrl')` is typed.
export {};

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the Redis shared by all test files. */
    redisUrl: string;
    /** Client endpoints of the etcd shared by all test files. */
    etcdEndpoints: string[];
  }
}
