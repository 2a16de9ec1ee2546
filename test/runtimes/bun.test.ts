import { BUN } from './runtime-proxy.js';
import { runtimeSuite } from './runtime-suite.js';

// `bun --no-install --no-env-file src/runtime/bun.ts`, with the binary of the `bun` npm package.
runtimeSuite(BUN);
