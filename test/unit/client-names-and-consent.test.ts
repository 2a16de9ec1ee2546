import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { CapsuleError } from '../../src/crypto/capsule.js';
import { parseClientMetadataDocument } from '../../src/oauth/cimd/document.js';
import { isDisplayableName } from '../../src/config/client-name.js';
import { ClientDirectory } from '../../src/oauth/clients.js';
import { silentLogger } from '../../src/observability/logger.js';
import { consentKey, hasApproval, withApproval } from '../../src/oauth/consent.js';
import { codecFor, TEST_KEY_A, testConfig } from '../support/deps.js';

const REFUSED = {
  'bidirectional embeddings and overrides': ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E'],
  'bidirectional isolates': ['\u2066', '\u2067', '\u2068', '\u2069'],
  'bidirectional marks': ['\u200E', '\u200F', '\u061C'],
  'zero-width and other format characters': ['\u200B', '\u200D', '\u2060', '\u00AD', '\u{E0041}'],
  'C0, DEL and C1 controls': ['\u0000', '\u0007', '\n', '\u007F', '\u0085', '\u009B'],
  'line and paragraph separators, lone surrogates, Hangul fillers': ['\u2028', '\u2029', '\uD800', '\u3164'],
};

describe('isDisplayableName', () => {
  for (const [kind, characters] of Object.entries(REFUSED)) {
    it(`refuses ${kind}`, () => {
      for (const character of characters) expect(isDisplayableName(`Calendar ${character}elgooG`), JSON.stringify(character)).toBe(false);
    });
  }

  it('refuses a name with nothing visible', () => {
    for (const name of ['', '   ', '\u3000', '\u3164\u3164']) expect(isDisplayableName(name), JSON.stringify(name)).toBe(false);
  });

  it('accepts names in any script, right-to-left letters and emoji included', () => {
    for (const name of ['Café 日本', 'Claude Desktop', 'Ελληνικά', 'تطبيق', 'שלום', '❤️ Notes', 'a-b_c (v2.0)']) {
      expect(isDisplayableName(name), name).toBe(true);
    }
  });
});

describe('client names where they enter', () => {
  it('a configured client with a bidirectional override in its name is a startup error naming the setting', () => {
    let error: unknown;
    try {
      testConfig({ clients: [{ client_id: 'desk', client_name: 'Desk\u202Epot', redirect_uris: ['https://desk.example/cb'] }] });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^clients\[0\]\.client_name: must be visible text/)]);
    // Control: the same client with an ordinary name loads.
    expect(testConfig({ clients: [{ client_id: 'desk', client_name: 'Café 日本', redirect_uris: ['https://desk.example/cb'] }] }).clients[0]!.client_name).toBe('Café 日本');
  });

  it('a metadata document with a hidden character in its name is refused, naming client_name', () => {
    const context = { clientId: 'https://app.example/client.json', redirectSchemes: [] };
    const document = (client_name: string) => ({ client_id: context.clientId, client_name, redirect_uris: ['https://app.example/cb'] });
    const refused = parseClientMetadataDocument(document('App\u2067nimda\u2069'), context);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.problem).toMatch(/^client_name: must be visible text/);
    expect(parseClientMetadataDocument(document('Café 日本'), context).ok).toBe(true);
  });
  it('a registration sealed before the rule keeps working, but its hidden-character name is not shown', async () => {
    const { codec } = await codecFor([TEST_KEY_A]);
    const directory = new ClientDirectory({ capsules: codec, configured: [], documents: undefined, logger: silentLogger });
    const sealed = (client_name: string) =>
      codec.seal('client', { client_name, redirect_uris: ['https://app.example/cb'], token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], response_types: ['code'], iat: codec.nowSeconds() });
    const registrationOf = async (clientId: string) => {
      const found = await directory.lookup(clientId, '127.0.0.1');
      return 'client' in found ? found.client.registration : undefined;
    };
    const spoofed = await registrationOf(await sealed('Calendar \u202Eelgoog'));
    expect(spoofed?.redirect_uris).toEqual(['https://app.example/cb']);
    expect(spoofed?.client_name).toBeUndefined();
    expect((await registrationOf(await sealed('Café 日本')))?.client_name).toBe('Café 日本');
  });
});

describe('remembered consent', () => {
  it('is keyed by client, registered redirect URI and resource', async () => {
    const key = await consentKey('cid', 'https://app.example/cb', 'https://proxy.example/mcp');
    const approved = withApproval(undefined, key, '', 1000, 600);
    expect(hasApproval(approved, key, '')).toBe(true);
    expect(hasApproval(approved, await consentKey('cid', 'https://app.example/cb', 'https://proxy.example/team'), '')).toBe(false);
    expect(hasApproval(approved, await consentKey('cid', 'https://app.example/other', 'https://proxy.example/mcp'), '')).toBe(false);
    expect(hasApproval(approved, await consentKey('other', 'https://app.example/cb', 'https://proxy.example/mcp'), '')).toBe(false);
  });

  it('a consent capsule of the earlier format does not open', async () => {
    const { codec } = await codecFor([TEST_KEY_A]);
    const now = codec.nowSeconds();
    const earlier = await codec.seal('consent', { approvals: [{ key: 'k', at: now }], exp: now + 600 } as never);
    await expect(codec.open('consent', earlier)).rejects.toBeInstanceOf(CapsuleError);
    // Control: one written now opens and keeps its approval.
    const current = await codec.seal('consent', withApproval(undefined, 'k', 'mcp', now, 600));
    expect(hasApproval(await codec.open('consent', current), 'k', 'mcp')).toBe(true);
  });
});
