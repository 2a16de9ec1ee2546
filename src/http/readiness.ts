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
 */
export async function readiness(upstreams: readonly UpstreamClient[]): Promise<{ ready: boolean; checks: Record<string, 'ok' | 'unavailable'> }> {
  const results = await Promise.all(upstreams.map((upstream) => settlesInTime(upstream.ready())));
  const upstreamOk = results.every(Boolean);
  return { ready: upstreamOk, checks: { keys: 'ok', upstream: upstreamOk ? 'ok' : 'unavailable' } };
}
