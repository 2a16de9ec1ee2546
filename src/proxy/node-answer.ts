import type { ServerResponse } from 'node:http';
import type { Answer } from '../domain/answer.js';

/** Writes an answer to Node's response in one go, with the proxy's own headers (request id, CORS …) beside its own. */
export function writeAnswer(outgoing: ServerResponse, answer: Answer, proxyHeaders: Readonly<Record<string, string>>): void {
  const headers: Record<string, string | number> = { ...proxyHeaders, ...answer.headers };
  if (answer.body === null) {
    outgoing.writeHead(answer.status, headers).end();
    return;
  }
  headers['content-length'] = Buffer.byteLength(answer.body);
  outgoing.writeHead(answer.status, headers).end(answer.body);
}
