import { UpstreamError, type UpstreamClient, type UpstreamErrorKind } from './upstream-client.js';

/**
 * The same client, reporting the kind of every `UpstreamError` its calls reject with
 * (for metrics). Every method is wrapped, whatever the interface grows to, except
 * `ready()`: readiness probes poll it, and /readyz already reports it.
 */
export function countingUpstreamErrors(client: UpstreamClient, onError: (kind: UpstreamErrorKind) => void): UpstreamClient {
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || property === 'ready' || property === 'constructor') return value;
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.catch((error: unknown) => {
          if (error instanceof UpstreamError) onError(error.kind);
          throw error;
        });
      };
    },
  });
}
