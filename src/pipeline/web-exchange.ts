import { readCappedStream, settleBodyRead } from '../net/capped-body.js';
import type { Forwarder } from '../proxy/forwarder.js';
import { outboundRequestHeaders } from '../proxy/outbound-headers.js';
import { answerResponse } from '../proxy/web-answer.js';
import type { Exchange } from './exchange.js';

/** The request target (path and query) of an absolute URL, without parsing it. */
export function targetOf(url: string): string {
  const authority = url.indexOf('//');
  const path = url.indexOf('/', authority === -1 ? 0 : authority + 2);
  return path === -1 ? '/' : url.slice(path);
}

/** The portable adapter (Bun, Deno, in-process): a web Request in, a web Response out, forwarded with fetch. */
export function webExchange(request: Request, peer: string | undefined, forwarder: Forwarder): Exchange<Response> {
  return {
    method: request.method,
    target: targetOf(request.url),
    headers: request.headers,
    outboundHeaders: (options) => outboundRequestHeaders(request.headers, options),
    peer,
    readBody: (maxBytes) => settleBodyRead(readCappedStream(request.body, maxBytes, { declaredLength: request.headers.get('content-length') })),
    // A HEAD answer has the head of the GET answer and no body (RFC 9110 §9.3.2).
    reply: (answer, responseHeaders) => answerResponse(request.method === 'HEAD' ? { ...answer, body: null } : answer, responseHeaders),
    async forward(forwardRequest) {
      const response = await forwarder.forward(forwardRequest, { body: request.body, signal: request.signal });
      return { status: response.status, result: response };
    },
    canReply: () => true,
    // The runtime writes the Response once the pipeline returns it: no later moment is known here.
    afterResponse: (task) => task(),
  };
}
