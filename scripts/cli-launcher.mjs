#!/usr/bin/env node
/**
 * The executable of the bundled command line (copied to <outdir>/cli.js by scripts/bundle-cli.mjs).
 *
 * It runs mcp-capsule.cjs, beside it, as a CommonJS module compiled with `cachedData`: V8's code
 * from an earlier start (mcp-capsule.cjs.cache, written by the build). V8 takes the cache only if
 * it was made from this very source by a V8 of the same version with the same flags; otherwise it
 * compiles the source as usual, and this says so on stderr (without the file, it compiles silently).
 * Compiling is the largest part of what a start of the proxy adds to Node's own, and Node 20 has
 * no compile cache for ES modules: hence CommonJS, and this file.
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
const cacheFile = `${bundle}.cache`;

let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})`, { filename: bundle, cachedData });
if (script.cachedDataRejected === true) {
  process.stderr.write(`mcp-capsule: ${cacheFile} does not match this build, this Node.js (${process.version}) or its flags, so this start compiles everything; building again renews it\n`);
}
if (process.env.CAPSULE_CODE_CACHE_WRITE === '1') process.once('exit', () => writeFileSync(cacheFile, script.createCachedData()));
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, directory);
