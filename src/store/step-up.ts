import { replayKeys } from './replay-keys.js';
import type { ReplayStore } from './replay-store.js';

/**
 * How long after a 403 insufficient_scope a refresh of that grant is refused. A refresh keeps the
 * grant's scope (RFC 6749 §6), so the renewed token would meet the same 403; clients that refresh
 * before re-authorizing (the MCP TypeScript SDK up to at least 1.32 does, and then gives up on
 * the identical second challenge) are sent to authorization instead by an invalid_grant, the one
 * refresh error OAuth clients answer by authorizing again. The refresh follows the challenge at
 * once; the window only has to outlast that, and a later refresh of the grant works as before.
 */
export const STEP_UP_REFRESH_WINDOW_SECONDS = 60;

/** Notes that a token of grant `gid` was refused for lacking a scope at `nowSeconds`; each refusal opens the window anew. */
export function noteStepUp(replay: ReplayStore, gid: string, nowSeconds: number): Promise<void> {
  return replay.raise(replayKeys.stepUp(gid), nowSeconds, STEP_UP_REFRESH_WINDOW_SECONDS);
}
