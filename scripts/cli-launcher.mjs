#!/usr/bin/env node
/**
 * The executable of the bundled command line (copied to <outdir>/cli.js by scripts/bundle-cli.mjs).
 *
 * It runs mcp-capsule.cjs, beside it, as a CommonJS module compiled with `cachedData`: V8's code
 * from an earlier start, which the build writes to mcp-capsule.cjs.v8-<V8 version>.cache. A
 * Node.js with another V8 finds no file of its name and compiles the bundle as usual. V8 also
 * refuses a cache made from another source or with other V8 flags; then this says so on stderr
 * and the bundle is compiled as usual too. Compiling is the largest part of what a start of the
 * proxy adds to Node's own, and Node 20 has no compile cache for ES modules: hence CommonJS, and
 * this file.
 *
 * With CAPSULE_CODE_CACHE_WRITE=1 the cache is written when the process exits, holding everything
 * compiled until then: the build runs a start that way.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const directory = dirname(fileURLToPath(import.meta.url));
const bundle = join(directory, 'mcp-capsule.cjs');
const cacheFile = `${bundle}.v8-${process.versions.v8}.cache`;

let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})`, { filename: bundle, cachedData });
if (script.cachedDataRejected === true) {
  const options = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ').trim();
  process.stderr.write(`mcp-capsule: V8 refused ${cacheFile}: it was made from another build, or under other V8 flags than this start's (${JSON.stringify(options)}); the bundle was compiled instead\n`);
}
if (process.env.CAPSULE_CODE_CACHE_WRITE === '1') process.once('exit', () => writeFileSync(cacheFile, script.createCachedData()));
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, directory);
