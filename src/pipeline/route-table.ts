import type { RoutePipeline } from './route-pipeline.js';

/** A request that belongs to a route: its pipeline, its path, and the route label its metrics carry. */
export interface RouteMatch {
  readonly pipeline: RoutePipeline;
  readonly path: string;
  readonly metricsRoute: string;
}

// Characters after which a path means something else once a URL parser has read it: dot segments
// (also percent-encoded), backslashes read as slashes, a fragment, an absolute-form target.
const NEEDS_PARSING = /[\\%#]|\/\.|^[^/]/;

/**
 * The path of a request target as the routes match it: the query cut off, and where it could
 * mean something else, read the way a URL parser reads it (dot segments removed, RFC 3986
 * §5.2.4, `%2e` counting as a dot as the WHATWG URL parser counts it), so `/api/../admin` is
 * never taken for a subpath of `/api` (nor forwarded as one). The common target is used as it
 * is. An origin-form target is always read as a path, `//host/x` included (resolved against a
 * base, it would name a host); one that is no URL at all (`*`, garbage) comes back as it is,
 * and no route has that path. Never throws: it runs before anything could answer an error.
 */
export function requestPath(target: string): string {
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  if (!NEEDS_PARSING.test(path)) return path;
  try {
    return new URL(path.startsWith('/') ? `http://path.invalid${path}` : path).pathname;
  } catch {
    return path;
  }
}

/**
 * Finds the route of a request target: an MCP route answers at its path exactly, an http route
 * at its path and every subpath below it. No match means the request is not a route's (the
 * OAuth endpoints, metadata, or nothing).
 */
export function routeTable(pipelines: readonly RoutePipeline[]): (target: string) => RouteMatch | undefined {
  const exact = new Map<string, RoutePipeline>();
  const prefixes: Array<{ readonly prefix: string; readonly pipeline: RoutePipeline; readonly metricsRoute: string }> = [];
  for (const pipeline of pipelines) {
    const { path, route } = pipeline.endpoint;
    exact.set(path, pipeline);
    if (route.kind === 'http') prefixes.push({ prefix: `${path}/`, pipeline, metricsRoute: `${path}/*` });
  }
  return (target) => {
    const path = requestPath(target);
    const pipeline = exact.get(path);
    if (pipeline !== undefined) return { pipeline, path, metricsRoute: pipeline.endpoint.path };
    for (const candidate of prefixes) {
      if (path.startsWith(candidate.prefix)) return { pipeline: candidate.pipeline, path, metricsRoute: candidate.metricsRoute };
    }
    return undefined;
  };
}
