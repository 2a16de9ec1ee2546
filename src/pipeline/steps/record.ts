import type { AuditEvent } from '../../observability/audit.js';
import { logsAt } from '../../observability/logger.js';
import { methodLabel } from '../../observability/metrics.js';
import type { RequestState, RouteContext } from '../route-context.js';

/** How the request ended, for its audit event. */
export type Outcome = Pick<AuditEvent, 'outcome' | 'reason'>;

/** What was sent, for the record: the request's method, path and route label, the status, and how long until it was sent. */
export interface Sending {
  readonly method: string;
  readonly path: string;
  readonly metricsRoute: string;
  readonly status: number;
  /** Milliseconds by the pipeline's clock, for the audit event and the access log. */
  readonly ms: number;
  /** Seconds by the monotonic clock, for the latency histogram. */
  readonly seconds: number;
}

/** The last step: the audit event (for requests past admission), the access log line, the metrics, all from the status sent. */
export function record(route: RouteContext, state: RequestState, sent: Sending, outcome: Outcome): void {
  const { deps } = route;
  const { ms } = sent;
  const audit = state.audit;
  if (audit !== undefined) {
    if (outcome.outcome !== undefined) audit.outcome = outcome.outcome;
    if (outcome.reason !== undefined) audit.reason = outcome.reason;
    audit.status = sent.status;
    audit.latency_ms = ms;
    deps.audit.record(audit);
  }
  if (logsAt(deps.logger, 'info')) deps.logger.info('request', { request_id: state.requestId, method: sent.method, path: sent.path, status: sent.status, ms });
  if (deps.config.metrics.enabled) {
    deps.metrics.httpRequests.inc({ route: sent.metricsRoute, method: methodLabel(sent.method), status: sent.status });
    deps.metrics.httpRequestDuration.observe({ route: sent.metricsRoute }, sent.seconds);
  }
}
