#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { issuedBeforeRequestSchema, revokeEverythingIssuedBefore } from './admin/revoke-issued-before.js';
import { ConfigError, loadConfig } from './config/load.js';
import { redactConfig } from './config/redact.js';
import { generateMasterKey, keyId } from './crypto/keyring.js';
import { endpointsFor } from './oauth/endpoints.js';
import { loadServeConfig, serveUntilSignalled } from './runtime/serve-common.js';

const USAGE = `Usage: mcp-capsule [command]

Commands:
  serve    Start the proxy (default). Configured by CAPSULE_* environment variables.
  keygen   Print a new 32-byte key for CAPSULE_KEYS.
  check    Validate the configuration and print it with secrets redacted.
  revoke   --user <subject> | --client <client_id>
           Revoke every token of a user or client issued until now, on every
           instance sharing CAPSULE_REDIS_URL.
  help     Show this message.`;

async function check(): Promise<number> {
  const { config, notes } = loadConfig(process.env);
  const kids = await Promise.all(config.keys.map(keyId));
  console.log(JSON.stringify(redactConfig(config, kids), null, 2));
  for (const note of notes) console.error(`warning: ${note}`);
  console.error(`Register this redirect URI at the identity provider: ${endpointsFor(config).callback}`);
  return 0;
}

async function revoke(args: readonly string[]): Promise<number> {
  let request;
  try {
    const { values } = parseArgs({ args: [...args], options: { user: { type: 'string' }, client: { type: 'string' } }, strict: true });
    request = issuedBeforeRequestSchema.parse(values);
  } catch {
    console.error(`mcp-capsule revoke: give exactly one of --user <subject> and --client <client_id>.\n\n${USAGE}`);
    return 2;
  }
  const { config } = loadConfig(process.env);
  if (config.redis.url === undefined) {
    throw new ConfigError([
      'CAPSULE_REDIS_URL: revoke writes to the shared set in Redis. Without Redis each instance keeps its own set: call POST /admin/revoke on every instance instead.',
    ]);
  }
  const { RedisReplayStore } = await import('./store/redis-replay-store.js');
  const store = RedisReplayStore.connect(config.redis.url, { keyPrefix: config.redis.keyPrefix });
  try {
    if (!(await store.waitUntilReady(5000))) {
      console.error('mcp-capsule revoke: Redis at CAPSULE_REDIS_URL is unreachable; nothing was revoked.');
      return 69;
    }
    const result = await revokeEverythingIssuedBefore(store, request, {
      nowSeconds: Math.floor(Date.now() / 1000),
      refreshTtlSeconds: config.ttl.refreshToken,
    });
    console.log(JSON.stringify({ revoked: request.user !== undefined ? 'user' : 'client', ...result }));
    return 0;
  } finally {
    await store.close();
  }
}

async function serve(): Promise<number> {
  await serveUntilSignalled(start, {
    onSignal: (signal, handler) => process.once(signal, handler),
    exit: (code) => {
      // Let stdout drain (process.exit would cut pending log lines); leave anyway if a handle lingers.
      process.exitCode = code;
      setTimeout(() => process.exit(code), 2000).unref();
    },
  });
  return -1;
}

async function start(): Promise<{ close(): Promise<void> }> {
  const { config, logger, development } = await loadServeConfig(process.env, {
    name: 'Node',
    startDevelopment: async (decision) => (await import('./dev/demo-environment.js')).prepareDemoEnvironment(process.env, decision),
  });
  const { startNodeProxy } = await import('./runtime/node.js');
  let proxy;
  try {
    proxy = await startNodeProxy(config, logger);
  } catch (error) {
    await development?.close();
    throw error;
  }
  if (development) console.error(development.banner);
  return {
    close: async () => {
      await proxy.close();
      await development?.close();
    },
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const command = argv[0] ?? 'serve';
  switch (command) {
    case 'serve':
      return serve();
    case 'keygen':
      console.log(generateMasterKey());
      return 0;
    case 'check':
      return check();
    case 'revoke':
      return revoke(argv.slice(1));
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(`mcp-capsule: ${error.message}`);
      process.exitCode = 78;
    } else {
      console.error(`mcp-capsule: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  },
);
