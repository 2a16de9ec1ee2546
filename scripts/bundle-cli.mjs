/**
 * Bundles the command line (src/cli.ts) with esbuild: <outdir>/cli.js plus chunks in <outdir>/chunks/.
 * Code splitting keeps what the CLI imports dynamically (the development setup, Redis support)
 * in chunks that are read only when used, so `serve` starts from a handful of files instead of
 * hundreds of small ES modules. `npm run build` runs it after tsc, replacing tsc's dist/cli.js.
 *
 *   node scripts/bundle-cli.mjs [outdir]   (default: dist)
 */
import { build } from 'esbuild';
import { chmod, rm } from 'node:fs/promises';
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
    build.onResolve({ filter: /^undici$/ }, () => ({ path: join(root, 'scripts/undici-pools.cjs') }));
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
    // Bundling renames clashing functions and classes (AccessToken2); dependencies read .name at run time
    // (oidc-provider looks up ttl[this.name], jose names its errors after their class). Costs ~20 ms of start-up.
    keepNames: true,
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: false,
    write: true,
    logLevel: 'warning',
    plugins: [undiciPoolsOnly, withoutZodLocales],
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
