/**
 * Bundles src/cli.ts into `<outdir>/cli.js` (the executable), `<outdir>/mcp-capsule.cjs` with its
 * code cache, and the lazily loaded bundles in `<outdir>/lazy/`; `codeCache: false` skips the cache.
 */
export function bundleCli(options: { outdir: string; codeCache?: boolean }): Promise<{ entry: string }>;
/** The packages bundled with esbuild's keepNames: those that read their own class names at run time. */
export const KEEP_NAMES_PACKAGES: readonly string[];
