/**
 * Bundles the command line (src/cli.ts) with esbuild: <outdir>/cli.js plus chunks in <outdir>/chunks/.
 * Code splitting keeps what the CLI imports dynamically (the development setup, Redis support)
 * in chunks that are read only when used, so `serve` starts from a handful of files instead of
 * hundreds of small ES modules. `npm run build` runs it after tsc, replacing tsc's dist/cli.js.
 *
 *   node scripts/bundle-cli.mjs [outdir]   (default: dist)
 */
import { build, transform } from 'esbuild';
import { chmod, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * CommonJS dependencies inside an ESM bundle call require(); esbuild's shim needs a real one.
 * `yaml` is also loaded through createRequire at run time (src/config/load.ts) and stays external.
 */
const BANNER = "import { createRequire as __capsuleCreateRequire } from 'node:module'; const require = __capsuleCreateRequire(import.meta.url);";

/**
 * `import { Pool } from 'undici'` (and Agent) resolves to the two pooled clients alone: the
 * package's index loads all of undici, and the CLI uses nothing else from it.
 * @type {import('esbuild').Plugin}
 */
const undiciPoolsOnly = {
  name: 'undici-pools-only',
  setup(build) {
    build.onResolve({ filter: /^undici$/ }, () => ({ path: join(root, 'scripts/undici-pools.mjs') }));
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

/**
 * @param {{ outdir: string }} options
 * @returns {Promise<{ entry: string }>}
 */
export async function bundleCli({ outdir }) {
  const out = resolve(outdir);
  // Chunk names carry content hashes: remove the previous build's so none go stale.
  await rm(join(out, 'chunks'), { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { cli: 'src/cli.ts' },
    tsconfig: 'tsconfig.build.json',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    splitting: true,
    outdir: out,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    banner: { js: BANNER },
    // Readable stack traces: identifiers keep their names; only whitespace and syntax are compacted.
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: false,
    // Only for the packages that read class names (keepNamesWhereRead): never on the request path.
    keepNames: false,
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: false,
    write: true,
    logLevel: 'warning',
    plugins: [undiciPoolsOnly, withoutZodLocales, keepNamesWhereRead],
  });
  if (result.errors.length > 0) throw new Error(`esbuild failed: ${result.errors.map((error) => error.text).join('; ')}`);
  const entry = join(out, 'cli.js');
  await chmod(entry, 0o755);
  return { entry };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = process.argv[2] ?? join(root, 'dist');
  const { entry } = await bundleCli({ outdir });
  console.log(`bundled ${entry}`);
}
