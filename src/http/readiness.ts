import type { UpstreamClient } from '../upstream/upstream-client.js';

const CHECK_TIMEOUT_MS = 2000;

async function settlesInTime(work: Promise<void>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * /readyz: the keys are loaded (they are, or the process would not have started)
 * and every identity provider's discovery is done. A failed discovery is retried
 * by the check itself, so an instance becomes ready without a restart.
 * An unreachable Redis is reported; it fails readiness only when the operator
 * asked for that, because the proxy keeps serving without it and
 * failing every replica's readiness at once would be an outage.
 */
export async function readiness(
  upstreams: readonly UpstreamClient[],
  options: { readonly sharedReplay?: { reachable(): Promise<boolean> }; readonly sharedReplayRequired?: boolean } = {},
): Promise<{ ready: boolean; checks: Record<string, 'ok' | 'unavailable' | 'degraded'> }> {
  const [upstreamResults, redisOk] = await Promise.all([
    Promise.all(upstreams.map((upstream) => settlesInTime(upstream.ready()))),
    options.sharedReplay ? options.sharedReplay.reachable().catch(() => false) : Promise.resolve(undefined),
  ]);
  const upstreamOk = upstreamResults.every(Boolean);
  const checks: Record<string, 'ok' | 'unavailable' | 'degraded'> = { keys: 'ok', upstream: upstreamOk ? 'ok' : 'unavailable' };
  if (redisOk !== undefined) checks['redis'] = redisOk ? 'ok' : options.sharedReplayRequired ? 'unavailable' : 'degraded';
  return { ready: upstreamOk && (redisOk !== false || !options.sharedReplayRequired), checks };
}
