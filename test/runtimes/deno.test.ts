import { DENO } from './runtime-proxy.js';
import { runtimeSuite } from './runtime-suite.js';

// `deno run --node-modules-dir=manual --cached-only --sloppy-imports --allow-net --allow-env src/runtime/deno.ts`,
// with the binary of the `deno` npm package and the packages already in node_modules.
runtimeSuite(DENO);
