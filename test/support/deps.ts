import { CapsuleCodec } from '../../src/crypto/capsule.js';
import { KeyRing } from '../../src/crypto/keyring.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config, ConfigInput } from '../../src/config/schema.js';

export const TEST_KEY_A = 'A'.repeat(43);
export const TEST_KEY_B = 'B'.repeat(43);

/** A valid configuration for unit tests; override any part. */
export function testConfig(overrides: Partial<Record<keyof ConfigInput, unknown>> = {}): Config {
  return parseConfig({
    keys: TEST_KEY_A,
    publicUrl: 'https://proxy.example.com',
    upstream: { issuer: 'https://idp.example.com', clientId: 'proxy', clientSecret: 'upstream-secret' },
    routes: [{ url: 'http://127.0.0.1:9/mcp' }],
    // Tests register far more clients than an operator's limit allows.
      registration: { perMinute: 10_000 },
    clientMetadataDocuments: {},
    ttl: {},
    ...overrides,
  });
}

/** A settable clock in milliseconds. */
export function manualClock(start = Date.UTC(2026, 0, 1)) {
  let now = start;
  const clock = () => now;
  clock.advance = (seconds: number) => {
    now += seconds * 1000;
  };
  return clock;
}

export async function codecFor(keys: readonly string[], clock: () => number = Date.now) {
  const ring = await KeyRing.create(keys.map((key) => new Uint8Array(Buffer.from(key, 'base64url'))));
  return { ring, codec: new CapsuleCodec(ring, clock) };
}

/** The real app in-process (Hono's app.request), for endpoints that never reach the upstream. */
export async function inProcessApp(config: Config = testConfig(), clock: () => number = Date.now) {
  const { buildDeps } = await import('../../src/runtime/deps.js');
  const { createApp } = await import('../../src/http/app.js');
  const { createForwarder } = await import('../../src/proxy/index.js');
  const { silentLogger } = await import('../../src/observability/logger.js');
  const deps = await buildDeps(config, {
    logger: silentLogger,
    clock,
    createForwarder: (headersTimeoutMs) => createForwarder({ runtime: 'web', headersTimeoutMs, logger: silentLogger }),
  });
  return { app: createApp(deps), deps };
}
