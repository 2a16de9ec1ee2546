/** The library surface: embed the proxy in another server or build on its parts. */
export { createApp, type ProxyApp } from './http/app.js';
export type { AppDeps } from './http/deps.js';
export { buildDeps } from './runtime/deps.js';
export { startNodeProxy } from './runtime/node.js';
export { loadConfig, loadConfigFromEnv, parseConfig, ConfigError } from './config/load.js';
export { ENV_BINDINGS } from './config/env.js';
export type { Config, ConfigInput } from './config/schema.js';
export { KeyRing, generateMasterKey } from './crypto/keyring.js';
export { CapsuleCodec, CapsuleError } from './crypto/capsule.js';
export { ProblemError, loggedError, type LoggedError } from './domain/errors.js';
export { MemoryReplayStore } from './store/replay-store.js';
export type { ReplayStore } from './store/replay-store.js';
export { createLogger } from './observability/logger.js';
export { Metrics } from './observability/metrics.js';
export { createMetricsApp } from './http/metrics.js';
