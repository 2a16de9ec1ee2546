/**
 * Bundles the command line (src/cli.ts) with esbuild for Node. `npm run build` runs it after tsc,
 * replacing tsc's dist/cli.js:
 *
 *   <outdir>/cli.js                  the executable (scripts/cli-launcher.mjs)
 *   <outdir>/mcp-capsule.cjs         everything a start of `serve` runs, as one CommonJS file
 *   <outdir>/mcp-capsule.cjs.v8-<version>.cache
 *                                    V8's compiled code of a start, which the next starts reuse
 *   <outdir>/lazy/*.cjs              what only some starts load, when they first use it: the
 *                                    development setup, Redis support, undici's pooled clients
 *
 *   node scripts/bundle-cli.mjs [outdir]   (default: dist)
 */
import { build, transform } from 'esbuild';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * `import.meta.url` in a CommonJS bundle: the bundle's own file URL. `yaml` is loaded through
 * createRequire(import.meta.url) at run time (src/config/load.ts) and stays outside the bundle.
 */
const IMPORT_META_URL = { banner: "const __capsuleFileUrl = require('node:url').pathToFileURL(__filename).href;", define: '__capsuleFileUrl' };

/**
 * The modules the command line imports dynamically that only some starts use, each bundled on
 * its own into lazy/<name>.cjs, and what `import()` of them becomes in the main bundle: a require
 * of that file, run when the import is. `undici` is the pooled clients alone
 * (scripts/undici-pools.mjs): the package's index loads all of undici, and the CLI uses nothing
 * else from it.
 */
const LAZY_BUNDLES = [
  { name: 'development', entry: 'src/dev/demo-environment.ts', imported: /^\.\/dev\/demo-environment\.js$/ },
  { name: 'redis-replay-store', entry: 'src/store/redis-replay-store.ts', imported: /^\.\.?\/(?:store\/)?redis-replay-store\.js$/ },
  { name: 'undici-pools', entry: 'scripts/undici-pools.mjs', imported: /^undici$/ },
];

/** @type {import('esbuild').Plugin} */
const lazyBundles = {
  name: 'lazy-bundles',
  setup(build) {
    for (const { name, imported } of LAZY_BUNDLES) {
      build.onResolve({ filter: imported, namespace: 'file' }, (args) =>
        args.kind === 'dynamic-import' ? { path: name, namespace: 'lazy-bundle' } : undefined,
      );
    }
    build.onLoad({ filter: /.*/, namespace: 'lazy-bundle' }, (args) => ({
      contents: `module.exports = require(require('node:path').join(__dirname, 'lazy', ${JSON.stringify(`${args.path}.cjs`)}));`,
      loader: 'js',
    }));
  },
};

/**
 * zod's `locales` namespace (error messages in 50 languages, ~300 KB) is reachable from `z`,
 * so the bundle would keep it all. The proxy never calls `z.locales`; zod's default English
 * messages come from their own module and stay.
 * @type {import('esbuild').Plugin}
 */
const withoutZodLocales = {
  name: 'without-zod-locales',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'without-zod-locales' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'without-zod-locales' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

/**
 * Packages whose code reads the names of its own classes at run time: jose and oauth4webapi name
 * their errors after their class (`this.name = this.constructor.name`), oidc-provider looks up
 * `ttl[this.name]` and checks model kinds by class name, the MCP SDK names its auth errors so.
 * Bundling renames a top-level class that clashes with another module's (`AccessToken2`), so these
 * files keep their names. Everything else, the request path above all, is bundled without
 * `keepNames`: it wraps every named function and class in `__name(…)`, an `Object.defineProperty`
 * that V8 runs again each time a closure is created, dozens of times per proxied request.
 */
export const KEEP_NAMES_PACKAGES = ['jose', 'oauth4webapi', 'oidc-provider', '@modelcontextprotocol/sdk'];

/** @type {import('esbuild').Plugin} */
const keepNamesWhereRead = {
  name: 'keep-names-where-read',
  setup(build) {
    const packages = KEEP_NAMES_PACKAGES.map((name) => name.replace('/', '[\\/]')).join('|');
    build.onLoad({ filter: new RegExp(`[\\/]node_modules[\\/](?:${packages})[\\/].*\\.m?js$`) }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      // An inline map from this step is read by the bundle's own source map, so stack traces still point at the package file.
      const { code } = await transform(source, { loader: 'js', keepNames: true, sourcemap: 'inline', sourcefile: args.path, target: 'node20' });
      return { contents: code, loader: 'js' };
    });
  },
};

/** What every bundle shares: CommonJS for Node 20, compacted but with readable names. */
const COMMON = {
  absWorkingDir: root,
  tsconfig: 'tsconfig.build.json',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Readable stack traces: identifiers keep their names; only whitespace and syntax are compacted.
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: false,
  // Only for the packages that read class names (keepNamesWhereRead): never on the request path.
  keepNames: false,
  sourcemap: 'linked',
  sourcesContent: false,
  banner: { js: IMPORT_META_URL.banner },
  define: { 'import.meta.url': IMPORT_META_URL.define },
  logLevel: 'warning',
};

/**
 * @param {{ outdir: string, codeCache?: boolean }} options `codeCache: false` skips the start that writes the code cache.
 * @returns {Promise<{ entry: string }>}
 */
export async function bundleCli({ outdir, codeCache = true }) {
  const out = resolve(outdir);
  // Earlier builds wrote chunks/ (ES modules with code splitting); none may go stale.
  await rm(join(out, 'chunks'), { recursive: true, force: true });
  await rm(join(out, 'lazy'), { recursive: true, force: true });
  for (const file of await codeCaches(out)) await rm(join(out, file), { force: true });
  const builds = [
    build({ ...COMMON, entryPoints: ['src/cli.ts'], outfile: join(out, 'mcp-capsule.cjs'), plugins: [lazyBundles, withoutZodLocales, keepNamesWhereRead] }),
    ...LAZY_BUNDLES.map(({ name, entry }) =>
      build({ ...COMMON, entryPoints: [entry], outfile: join(out, 'lazy', `${name}.cjs`), plugins: [withoutZodLocales, keepNamesWhereRead] }),
    ),
  ];
  for (const result of await Promise.all(builds)) {
    if (result.errors.length > 0) throw new Error(`esbuild failed: ${result.errors.map((error) => error.text).join('; ')}`);
  }
  // The entry's `#!` line would end up inside the launcher's function wrapper; an empty line keeps the source map's lines.
  const main = join(out, 'mcp-capsule.cjs');
  await writeFile(main, (await readFile(main, 'utf8')).replace(/^#!.*/, ''));
  await rm(join(out, 'cli.js.map'), { force: true });
  const entry = join(out, 'cli.js');
  await copyFile(join(root, 'scripts/cli-launcher.mjs'), entry);
  await chmod(entry, 0o755);
  if (codeCache) await writeCodeCache(entry);
  return { entry };
}

/**
 * Starts `serve` once, on a loopback port the system picks, and stops it once it listens: the
 * launcher writes V8's code of everything compiled by then to the cache file as the process
 * exits. The configuration is a throwaway one; the upstream issuer is a closed loopback port,
 * contacted only after listening, by which time the process is already being stopped.
 */
async function writeCodeCache(entry) {
  const child = spawn(process.execPath, [entry, 'serve'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      // V8 flags given this way (--max-old-space-size…) are part of what the cache must match.
      ...(process.env.NODE_OPTIONS ? { NODE_OPTIONS: process.env.NODE_OPTIONS } : {}),
      CAPSULE_CODE_CACHE_WRITE: '1',
      CAPSULE_KEYS: randomBytes(32).toString('base64url'),
      CAPSULE_PUBLIC_URL: 'http://127.0.0.1',
      HOST: '127.0.0.1',
      PORT: '0',
      CAPSULE_UPSTREAM_ISSUER: 'http://127.0.0.1:9',
      CAPSULE_UPSTREAM_CLIENT_ID: 'mcp-capsule',
      CAPSULE_UPSTREAM_CLIENT_SECRET: randomBytes(16).toString('base64url'),
      CAPSULE_MCP_URL: 'http://127.0.0.1:9/mcp',
      CAPSULE_AUDIT_LOG: 'off',
    },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => void (stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const listening = () => stdout.includes('"msg":"mcp-capsule listening"');
  child.stdout.on('data', (chunk) => {
    const before = listening();
    stdout += chunk;
    // Once: a second SIGTERM would end the process before it exits by itself and writes the cache.
    if (!before && listening()) child.kill('SIGTERM');
  });
  const { code, signal } = await exited;
  if (code !== 0 || !listening()) {
    throw new Error(`the start that writes the code cache failed (exit ${code ?? signal}): ${stderr.slice(-2000)}`);
  }
  // bundleCli removed every earlier cache: the one there now is this start's (the launcher names it).
  const [cache] = await codeCaches(dirname(entry));
  if (cache === undefined || (await stat(join(dirname(entry), cache))).size === 0) throw new Error('the start that writes the code cache left none');
}

/** The code caches in `directory`, whatever V8 they are named after (scripts/cli-launcher.mjs names them). */
async function codeCaches(directory) {
  return (await readdir(directory).catch(() => [])).filter((file) => /^mcp-capsule\.cjs\..*cache$/.test(file));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ?? join(root, 'dist');
  const { entry } = await bundleCli({ outdir });
  console.log(`bundled ${entry}`);
}
