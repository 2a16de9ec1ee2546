import type { Dispatcher } from 'undici';

/** Where a relayed body goes: the client's response, or the first stage of a rewrite. */
export interface BodySink {
  /** false when the sink is full: the downstream is paused until it drains. */
  write(chunk: Uint8Array): boolean;
  end(): void;
  once(event: 'drain', listener: () => void): unknown;
}

/** The final response head (never a 1xx): what the proxy decides on before the body moves. */
export interface ResponseHead {
  readonly statusCode: number;
  readonly headers: Dispatcher.ResponseData['headers'];
}

/** How much of an unwanted body `drop` reads to keep the connection, as undici's own `dump`. */
const DROP_LIMIT_BYTES = 128 * 1024;

/**
 * One request dispatched to undici, its response relayed as it arrives. The head settles `head`;
 * the body is written straight into the sink it is given, with the downstream paused while the
 * sink is full. Bytes that come before a sink (the head is decided on asynchronously) are held,
 * with the downstream paused, so no more than one read waits in memory. Nothing stands between
 * the downstream's socket and the client's response: no body stream, no pipe.
 */
export class ResponseRelay implements Dispatcher.DispatchHandler {
  readonly head: Promise<ResponseHead>;
  #resolveHead!: (head: ResponseHead) => void;
  #rejectHead!: (error: Error) => void;
  #controller: Dispatcher.DispatchController | undefined;
  #started = false;
  #ended = false;
  #failure: Error | undefined;
  /** Set once nobody wants the rest: later bytes are dropped and the request is cancelled. */
  #abortReason: Error | undefined;
  #sink: BodySink | undefined;
  #onError: ((error: Error) => void) | undefined;
  #held: Buffer[] | undefined;

  constructor() {
    this.head = new Promise((resolve, reject) => {
      this.#resolveHead = resolve;
      this.#rejectHead = reject;
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason !== undefined) controller.abort(this.#abortReason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: ResponseHead['headers']): void {
    // An informational response: the final head follows.
    if (statusCode < 200) return;
    this.#started = true;
    this.#resolveHead({ statusCode, headers });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#abortReason !== undefined) return;
    const sink = this.#sink;
    if (sink === undefined) {
      (this.#held ??= []).push(chunk);
      controller.pause();
    } else if (!sink.write(chunk)) {
      this.#resumeOnDrain(sink, controller);
    }
  }

  onResponseEnd(): void {
    this.#ended = true;
    this.#sink?.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    if (!this.#started) {
      this.#rejectHead(error);
      return;
    }
    this.#failure = error;
    this.#onError?.(error);
  }

  /** Sends the body, from its first byte, into `sink`; `onError` hears of a failure after the head. */
  relayTo(sink: BodySink, onError: (error: Error) => void): void {
    this.#sink = sink;
    this.#onError = onError;
    const held = this.#held;
    this.#held = undefined;
    let full = false;
    if (held !== undefined) for (const chunk of held) full = !sink.write(chunk);
    if (this.#failure !== undefined) onError(this.#failure);
    else if (this.#ended) sink.end();
    else if (held !== undefined && this.#controller !== undefined) {
      if (full) this.#resumeOnDrain(sink, this.#controller);
      else this.#controller.resume();
    }
  }

  /** Reads the rest of a body nobody wants, so the connection can carry the next request; a long one is cut instead. */
  drop(): Promise<void> {
    return new Promise((resolve) => {
      let bytes = 0;
      const sink: BodySink = {
        write: (chunk) => {
          bytes += chunk.byteLength;
          if (bytes > DROP_LIMIT_BYTES) {
            this.discard();
            resolve();
          }
          return true;
        },
        end: resolve,
        once: () => undefined,
      };
      this.relayTo(sink, () => resolve());
    });
  }

  /** Lets go of a body nobody will read: what comes is dropped and, unless it is complete, the request is cancelled. */
  discard(): void {
    this.#sink = undefined;
    this.#onError = undefined;
    this.#held = undefined;
    this.abort(new Error('the response body was let go'));
  }

  /** Cancels the request (the client left): before the head, `head` rejects with `reason`; after it, the sink's `onError` hears it. */
  abort(reason: Error): void {
    if (this.#abortReason !== undefined || this.#ended || this.#failure !== undefined) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }

  #resumeOnDrain(sink: BodySink, controller: Dispatcher.DispatchController): void {
    controller.pause();
    sink.once('drain', () => controller.resume());
  }
}
