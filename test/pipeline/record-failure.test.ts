import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, AuditLog } from '../../src/observability/audit.js';
import { createLogger } from '../../src/observability/logger.js';
import { startDemoMcpServer, type DemoMcpServer } from '../../src/dev/demo-mcp-server.js';
import { startNodeProxy, type RunningProxy } from '../../src/runtime/node.js';
import { freePort } from '../support/ports.js';
import { testConfig } from '../support/deps.js';

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };

/** The record runs after the response is on its way, outside the request's own error handling: a failing audit sink must cost a log line, not the process. */
describe('a record that fails', () => {
  const lines: string[] = [];
  const recorded: AuditEvent[] = [];
  let failing = true;
  const audit: AuditLog = {
    record(event) {
      if (failing) throw new Error('the audit sink is gone');
      recorded.push(event);
    },
  };
  let demo: DemoMcpServer;
  let proxy: RunningProxy;

  beforeAll(async () => {
    demo = await startDemoMcpServer();
    const config = testConfig({
      publicUrl: `http://127.0.0.1:${await freePort()}`,
      port: 0,
      upstream: { issuer: `http://127.0.0.1:${await freePort()}`, clientId: 'proxy', clientSecret: 'upstream-secret' },
      routes: [{ url: demo.url, auth: 'none' }],
    });
    proxy = await startNodeProxy(config, createLogger({ level: 'debug', write: (line) => lines.push(line) }), { audit });
  });
  afterAll(async () => {
    await proxy?.close(100);
    await demo?.close();
  });

  const initialize = () =>
    fetch(`${proxy.listenUrl}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(INITIALIZE) });

  it('leaves the answer as it was and is logged as an error with the request id', async () => {
    const answer = await initialize();
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain('"serverInfo"');
    const id = answer.headers.get('x-request-id');
    const notRecorded = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === 'request not recorded');
    expect(notRecorded).toHaveLength(1);
    expect(notRecorded[0]).toMatchObject({ level: 'error', request_id: id, path: '/mcp' });
  });

  it('leaves the proxy serving, and recording again once the sink works (the control)', async () => {
    failing = false;
    const answer = await initialize();
    expect(answer.status).toBe(200);
    await answer.text();
    expect(recorded.map((event) => event.request_id)).toEqual([answer.headers.get('x-request-id')]);
  });
});
