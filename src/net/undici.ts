type UndiciClients = Pick<typeof import('undici'), 'Pool' | 'Agent'>;

let loading: Promise<UndiciClients> | undefined;

/**
 * undici's pooled clients, imported on first use. Nothing needs them before the first forwarded
 * request or outbound fetch, so a start neither reads nor compiles them before it listens (the
 * bundled command line keeps them in a file of its own, dist/lazy/undici-pools.cjs).
 */
export function undiciClients(): Promise<UndiciClients> {
  return (loading ??= import('undici'));
}
