/**
 * Authentication and authorization on JWTs (signed with `jose`, verified on `node:crypto`): short access tokens and
 * long, single-use refresh tokens sharing a session id that `logout` revokes on every
 * instance; key rotation and JWKS; reuse detection; user-agent binding and bans;
 * an OAuth `state` helper; and a role-based authorizer with exact / glob / regex rules
 * (deny wins) that changes live across instances. Memory and Redis backends.
 *
 * @module jwt
 */

export {
  type Authorizer,
  type AuthorizerEvents,
  type AuthorizerOptions,
  authorizer,
} from './authorizer.js';
export { ClaimsTooLargeError } from './claims.js';
export {
  AccessDeniedError,
  AmbiguousPathError,
  AuthError,
  type AuthErrorCode,
  type AuthStatus,
  InvalidRuleError,
  type InvalidRuleReason,
  LoginFailedError,
  OAuthStateMismatchError,
  RefreshTokenReusedError,
  SessionRevokedError,
  SessionStoreUnavailableError,
  SubjectBannedError,
  TokenAlgorithmError,
  TokenClaimError,
  TokenExpiredError,
  TokenInvalidError,
  TokenMissingError,
  TokenNotYetValidError,
  TokenTypeError,
  UserAgentMismatchError,
} from './errors.js';
export type { Jwks, JwtAlgorithm, KeyMaterial, KeySpec, PublicJwk, WebCryptoKey } from './keys.js';
export {
  OAUTH_STATE_TYPE,
  type OAuthState,
  type OAuthStateOptions,
  type OAuthStateService,
  oauthState,
} from './oauth-state.js';
export {
  checkRegex,
  compilePattern,
  DEFAULT_REGEX_LIMITS,
  type MatchKind,
  type PatternSpec,
  type RegexLimits,
  type ResourcePattern,
  resourceMatcher,
} from './patterns.js';
export {
  memoryPolicyStore,
  type Permission,
  type PolicyChange,
  type PolicyListener,
  type PolicyRules,
  type PolicySnapshot,
  type PolicyStore,
} from './policy-store.js';
export type { RedisCommandClient, RedisPubSubClient, RedisSubscriber } from './redis.js';
export { type RedisPolicyStoreOptions, redisPolicyStore } from './redis-policy-store.js';
export {
  type RedisSessionStoreOptions,
  redisSessionStore,
  type SessionCacheOptions,
} from './redis-session-store.js';
export {
  memorySessionStore,
  type NewSession,
  type RotateReplay,
  type RotateResult,
  type Rotation,
  type SessionState,
  type SessionStore,
} from './session-store.js';
export { DEFAULT_MAX_TOKEN_LENGTH, type TokenServiceOptions } from './token-options.js';
export {
  ACCESS_TOKEN_TYPE,
  type AccessClaims,
  type IssueOptions,
  REFRESH_TOKEN_TYPE,
  type RefreshOptions,
  type TokenEvents,
  type TokenPair,
  type TokenService,
  type VerifyOptions,
} from './token-types.js';
export { tokenService } from './tokens.js';
