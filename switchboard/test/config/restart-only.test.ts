/** The settings `serve` reads once at start: a live change to one is reported by key, the others are not. */
import t from 'tap';
import { switchboardSectionSchema } from '../../config/schema.js';
import { RESTART_ONLY, restartOnlyChanges } from '../../config/restart-only.js';

const base = switchboardSectionSchema.parse({});

t.test('each restart-only key is reported when it changes, and only then', async (t) => {
  t.same(restartOnlyChanges(base, base, false), []);
  const changes: Record<string, unknown> = {
    LISTEN: '127.0.0.1:1',
    ADMIN_LISTEN: '127.0.0.1:2',
    TLS: 'self-signed',
    DASHBOARD: { ADMIN_TOKEN_FILE: 'x' },
    EMBEDDED_REGISTRY: { MODE: 'mirror', DATA_DIR: 'd' },
    REDIS_URL: 'redis://127.0.0.1:6379',
    ACCESS_LOG: 'off',
    MAX_CONNECTIONS: 10,
  };
  t.same(Object.keys(changes).sort(), [...RESTART_ONLY].sort(), 'the test covers every restart-only key');
  for (const [k, v] of Object.entries(changes)) {
    const next = switchboardSectionSchema.parse({ [k]: v });
    t.same(restartOnlyChanges(base, next, false), [`SWITCHBOARD.${k}`], k);
  }
  const live = switchboardSectionSchema.parse({
    UPSTREAMS: { python: 'http://127.0.0.1:1' },
    DEBUG_HEADERS: true,
    POLL_INTERVAL_SECONDS: 1,
    UPSTREAM_TIMEOUT_SECONDS: 5,
    PIN_TTL_SECONDS: 60,
  });
  t.same(restartOnlyChanges(base, live, false), [], 'settings that apply on reload are not reported');
  t.same(restartOnlyChanges(base, base, true), ['SWITCHBOARD.STATE_DIR'], 'STATE_DIR, when it moved');
});
