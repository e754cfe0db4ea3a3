// Tokens, authorization rules and rate limits (girder/jwt, girder/ratelimit).
import { randomBytes } from 'node:crypto';
import { type Authorizer, authorizer, type TokenService, tokenService } from 'girder/jwt';
import type { Logger } from 'girder/logger';
import { type RateLimiter, slidingWindow } from 'girder/ratelimit';
import type { Backends } from '../backends.js';
import type { ShopConfig } from '../config.js';

export interface Security {
  tokens: TokenService;
  authorizer: Authorizer;
  limiters: { api: RateLimiter; loginIp: RateLimiter; loginAccount: RateLimiter };
}

/**
 * The shop's token service: SHOP_JWT_SECRET (random per process when unset) and the
 * session store of `backends`. The gateway issues tokens with it; a service instance
 * only verifies the tokens forwarded on its calls (same secret, same Redis sessions).
 */
export function buildTokens(config: ShopConfig, backends: Backends): TokenService {
  return tokenService({
    keys: [{ kid: 'shop-1', alg: 'HS256', key: config.jwtSecret ?? randomBytes(32) }],
    sessionStore: backends.sessionStore,
    accessTtlMs: 15 * 60_000,
    refreshTtlMs: 7 * 24 * 3_600_000,
    issuer: 'girder-shop',
  });
}

export async function buildSecurity(
  config: ShopConfig,
  backends: Backends,
  logger: Logger,
): Promise<Security> {
  if (config.redisUrl !== undefined && config.jwtSecret === undefined) {
    logger.warn(
      'SHOP_JWT_SECRET is not set: this instance signs tokens with its own random key, so other instances sharing REDIS_URL will refuse them',
    );
  }
  const tokens = buildTokens(config, backends);
  const authz = authorizer({
    store: backends.policyStore,
    defaultRoles: ['user'],
    rules: {
      roles: {
        user: [
          { actions: ['GET'], resource: '/api/users/profile' },
          { actions: ['POST'], resource: '/api/users/logout' },
          { actions: ['GET', 'POST'], resource: '/api/orders/**' },
          { actions: ['GET', 'POST'], resource: '/api/users/phone' },
          { actions: ['POST'], resource: '/api/users/phone/code' },
        ],
        admin: [{ resource: '/api/admin/**' }],
      },
    },
  });
  try {
    await authz.ready();
  } catch (err) {
    await authz.close();
    throw err;
  }

  const limiter = (name: string, quota: { limit: number; windowMs: number }) =>
    slidingWindow({ ...quota, name, store: backends.rateLimitStore });
  return {
    tokens,
    authorizer: authz,
    limiters: {
      api: limiter('shop-api', config.apiRateLimit),
      loginIp: limiter('shop-login-ip', config.loginLimitPerIp),
      loginAccount: limiter('shop-login-account', config.loginLimitPerAccount),
    },
  };
}
