/** Bundles src/cli.ts into `<outdir>/cli.js` plus code-split chunks in `<outdir>/chunks/`. */
export function bundleCli(options: { outdir: string }): Promise<{ entry: string }>;
/** The packages bundled with esbuild's keepNames: those that read their own class names at run time. */
export const KEEP_NAMES_PACKAGES: readonly string[];
