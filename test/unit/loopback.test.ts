import { describe, expect, it } from 'vitest';
import { isHttpsOrLoopback, isLoopbackHost } from '../../src/net/loopback.js';

describe('loopback hosts', () => {
  it('are localhost, 127.0.0.1 and [::1] as URL.hostname spells them, and nothing else', () => {
    for (const host of ['localhost', '127.0.0.1', '[::1]']) expect(isLoopbackHost(new URL(`http://${host}:8080/`).hostname)).toBe(true);
    for (const host of ['localhost.example.com', '127.0.0.2', '127.0.0.1.nip.io', '[::2]', 'example.com']) {
      expect(isLoopbackHost(new URL(`http://${host}/`).hostname)).toBe(false);
    }
  });

  it('are the only ones plain http may reach', () => {
    expect(isHttpsOrLoopback(new URL('https://idp.example.com/token'))).toBe(true);
    expect(isHttpsOrLoopback(new URL('http://127.0.0.1:9000/token'))).toBe(true);
    expect(isHttpsOrLoopback(new URL('http://[::1]/token'))).toBe(true);
    expect(isHttpsOrLoopback(new URL('http://idp.example.com/token'))).toBe(false);
    expect(isHttpsOrLoopback(new URL('ftp://localhost/token'))).toBe(false);
  });
});
