import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';

/** One token exchange request the provider answered, as it saw it. */
export interface ExchangeSeen {
  readonly clientId: string;
  readonly params: Readonly<Record<string, string | undefined>>;
  /** Whose subject token it was, when it was valid. */
  readonly accountId?: string;
  /** The access token issued, or the OAuth error refused with. */
  readonly issued?: string;
  readonly refused?: string;
}

/**
 * RFC 8693 token exchange at the embedded oidc-provider, through its custom grant type API: the
 * subject token must be an unexpired access token or ID token this provider issued (an ID token
 * issued to the requesting client); the new access token is the same user's, with `aud` set to
 * the requested audience. Every request is recorded, so tests count what reached the provider.
 */
export class TokenExchangeGrant {
  readonly seen: ExchangeSeen[] = [];
  /** Refuses this many of the next exchanges with invalid_grant, as a provider does once a session is revoked. */
  refuseNext = 0;
  private provider: Provider | undefined;

  constructor(private readonly issuedLifetimeSeconds = 600) {}

  readonly install = (provider: Provider): void => {
    this.provider = provider;
    provider.registerGrantType(TOKEN_EXCHANGE, (ctx: KoaContextWithOIDC) => this.handle(ctx), [
      'subject_token',
      'subject_token_type',
      'requested_token_type',
      'audience',
      'resource',
      'scope',
    ]);
  };

  /** The exchanges that issued a token. */
  get issued(): ExchangeSeen[] {
    return this.seen.filter((exchange) => exchange.issued !== undefined);
  }

  /** What the provider itself knows of an access token: whose it is and for which audience; undefined for one it never issued. */
  async introspect(token: string): Promise<{ accountId: string | undefined; aud: unknown; gty: unknown } | undefined> {
    const found = await this.provider?.AccessToken.find(token);
    return found ? { accountId: found.accountId, aud: found.aud, gty: found.gty } : undefined;
  }

  private async handle(ctx: KoaContextWithOIDC): Promise<void> {
    const params = ctx.oidc.params as Record<string, string | undefined>;
    const client = ctx.oidc.client!;
    const record = (outcome: Partial<ExchangeSeen>) => void this.seen.push({ clientId: client.clientId, params: { ...params }, ...outcome });
    const refuse = (error: string, description: string, accountId?: string) => {
      record({ refused: error, ...(accountId ? { accountId } : {}) });
      ctx.status = 400;
      ctx.body = { error, error_description: description };
    };
    const subject = await this.subjectOf(params['subject_token'], params['subject_token_type'], client);
    if (subject === undefined) return refuse('invalid_grant', 'subject_token is invalid or expired');
    const { accountId, grantId } = subject;
    if (this.refuseNext > 0) {
      this.refuseNext--;
      return refuse('invalid_grant', 'the session of the subject token has ended', accountId);
    }
    const token = new this.provider!.AccessToken({
      accountId,
      grantId,
      client,
      gty: 'token_exchange',
      scope: params['scope'],
      expiresIn: this.issuedLifetimeSeconds,
    });
    if (params['audience']) token.setAudience(params['audience']);
    const value = await token.save();
    record({ accountId, issued: value });
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: token.expiration,
      ...(params['scope'] ? { scope: params['scope'] } : {}),
    };
  }

  /** The user (and grant) a valid subject token stands for. ID tokens name no grant; the exchanged token gets a marker. */
  private async subjectOf(
    subjectToken: string | undefined,
    type: string | undefined,
    client: NonNullable<KoaContextWithOIDC['oidc']['client']>,
  ): Promise<{ accountId: string; grantId: string } | undefined> {
    if (!subjectToken) return undefined;
    if (type === ACCESS_TOKEN_TYPE) {
      const found = await this.provider!.AccessToken.find(subjectToken);
      return found && !found.isExpired ? { accountId: found.accountId, grantId: found.grantId } : undefined;
    }
    if (type !== ID_TOKEN_TYPE) return undefined;
    try {
      const { payload } = (await this.provider!.IdToken.validate(subjectToken, client)) as { payload: { sub?: string; exp?: number } };
      const { sub, exp } = payload;
      return sub !== undefined && exp !== undefined && exp * 1000 > Date.now() ? { accountId: sub, grantId: 'exchanged-from-id-token' } : undefined;
    } catch {
      return undefined;
    }
  }
}
