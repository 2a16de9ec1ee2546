#!/usr/bin/env node
import { ConfigError, loadConfigFromEnv } from './config/env.js';
import { redactConfig } from './config/redact.js';
import { generateMasterKey, keyId } from './crypto/keyring.js';
import { createLogger } from './observability/logger.js';

const USAGE = `Usage: mcp-capsule [command]

Commands:
  serve    Start the proxy (default). Configured by CAPSULE_* environment variables.
  keygen   Print a new 32-byte key for CAPSULE_KEYS.
  check    Validate the configuration and print it with secrets redacted.
  help     Show this message.`;

async function check(): Promise<number> {
  const config = loadConfigFromEnv(process.env);
  const kids = await Promise.all(config.keys.map(keyId));
  console.log(JSON.stringify(redactConfig(config, kids), null, 2));
  console.error(`Register this redirect URI at the identity provider: ${config.publicUrl}/oauth/callback`);
  return 0;
}

async function serve(): Promise<number> {
  const { prepareDemoEnvironment } = await import('./dev/demo-environment.js');
  const demo = await prepareDemoEnvironment(process.env);
  const env = { ...process.env, ...demo?.env };
  let config;
  try {
    config = loadConfigFromEnv(env);
  } catch (error) {
    await demo?.close();
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  const { startNodeProxy } = await import('./runtime/node.js');
  const proxy = await startNodeProxy(config, logger);
  if (demo) console.error(demo.banner);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    void proxy
      .close()
      .then(() => demo?.close())
      .then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return -1;
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
