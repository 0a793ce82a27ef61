/**
 * The dashboard's login limiter is the one the registry's /v2/auth uses:
 * registryd/auth/login-limiter.ts (the switchboard embeds the registry, so
 * the shared auth pieces live on the registry's side).
 */
export { LoginLimiter, DEFAULT_LOGIN_LIMITS, LOGIN_WINDOW_SECONDS, MAX_FAILURES_PER_NAME, MAX_FAILURES_PER_ADDRESS, addressKey } from '../../lib/passwords/login-limiter.js';
export type { LoginLimits, LoginRefusal } from '../../lib/passwords/login-limiter.js';
