import type { Answer } from '../domain/answer.js';

/** An answer as a web Response, with the proxy's own headers (request id, CORS …) beside its own. */
export function answerResponse(answer: Answer, proxyHeaders: Readonly<Record<string, string>>): Response {
  return new Response(answer.body, { status: answer.status, headers: { ...proxyHeaders, ...answer.headers } });
}
