import { describe, expect, it } from 'vitest';
import { requestPath } from '../../src/pipeline/route-table.js';

describe('requestPath', () => {
  it('takes the usual target as it is, without its query', () => {
    expect(requestPath('/mcp')).toBe('/mcp');
    expect(requestPath('/mcp?session=1&x=/../y')).toBe('/mcp');
    expect(requestPath('/api/items/7')).toBe('/api/items/7');
  });

  it('removes dot segments, plain or percent-encoded, and reads backslashes as slashes (RFC 3986 §5.2.4, WHATWG URL)', () => {
    expect(requestPath('/api/../admin')).toBe('/admin');
    expect(requestPath('/api/./x')).toBe('/api/x');
    expect(requestPath('/api/%2e%2e/admin')).toBe('/admin');
    expect(requestPath('/api/%2E./admin')).toBe('/admin');
    expect(requestPath('/api\\..\\admin')).toBe('/admin');
    expect(requestPath('/other/../api/x')).toBe('/api/x');
  });

  it('keeps encoded slashes and other escapes: they are not separators', () => {
    expect(requestPath('/api/..%2fadmin')).toBe('/api/..%2fadmin');
    expect(requestPath('/m%63p')).toBe('/m%63p');
  });

  it('reads an origin-form target as a path even when it starts with //, and an absolute-form one by its path', () => {
    expect(requestPath('//evil.example/api/x')).toBe('//evil.example/api/x');
    expect(requestPath('//%F2%B1%A8%BC/')).toBe('//%F2%B1%A8%BC/');
    expect(requestPath('http://proxy.example/mcp?x=1')).toBe('/mcp');
  });

  it('never throws: what is no URL comes back as it is, and no route has that path', () => {
    for (const target of ['*', 'http://[bad/api', '//[::1/api', '%', '\\\\']) expect(() => requestPath(target), target).not.toThrow();
    expect(requestPath('*')).toBe('*');
  });
});
