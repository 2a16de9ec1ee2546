/** Bundles src/cli.ts into `<outdir>/cli.js` plus code-split chunks in `<outdir>/chunks/`. */
export function bundleCli(options: { outdir: string }): Promise<{ entry: string }>;
