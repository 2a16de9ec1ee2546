import { expect } from 'vitest';
import type { LogFields, Logger } from '../../src/observability/logger.js';
import { TokenEndpointError } from '../../src/downstream/token-endpoint/index.js';

/** A fetch that passes through and records every request to one URL (the token endpoint). */
export function countingFetch(tokenUrl: string, base: () => typeof fetch = () => globalThis.fetch) {
  const requests: Array<{ headers: Headers; body: URLSearchParams }> = [];
  const counted: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url === tokenUrl) requests.push({ headers: new Headers(init?.headers), body: new URLSearchParams(String(init?.body ?? '')) });
    return base()(input, init);
  };
  return { fetch: counted, requests };
}

/**
 * Keeps every log call exactly as it was made, before any redaction: a secret that
 * reaches the logger at all shows up here.
 */
export function recordingLogger(): Logger & { entries: Array<{ level: string; message: string; fields: LogFields | undefined }>; text(): string } {
  const entries: Array<{ level: string; message: string; fields: LogFields | undefined }> = [];
  const record = (level: string) => (message: string, fields?: LogFields) => void entries.push({ level, message, fields });
  return {
    entries,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    text: () => JSON.stringify(entries),
  };
}

/** Awaits a rejection and checks that it is a TokenEndpointError. */
export async function failure(promise: Promise<unknown>): Promise<TokenEndpointError> {
  const outcome = await promise.then(
    () => 'resolved' as const,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(TokenEndpointError);
  return outcome as TokenEndpointError;
}

/** Every text an error offers a caller or a log: none may hold a secret. */
export function errorText(error: TokenEndpointError): string {
  return [error.message, error.detail, error.oauthError ?? '', String(error.stack)].join('\n');
}

export { manualClock } from '../support/deps.js';
