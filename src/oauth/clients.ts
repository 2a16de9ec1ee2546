import type { StaticClient } from '../config/schema.js';
import type { CapsuleCodec } from '../crypto/capsule.js';
import { CapsuleError } from '../crypto/capsule.js';
import { shortDigest } from '../crypto/encoding.js';
import type { Logger } from '../observability/logger.js';
import type { ClientMetadataDocument } from './cimd/document.js';
import type { ClientSigningKeys } from './cimd/private-key-jwt.js';
import { isDisplayableName } from '../config/client-name.js';

export type ClientAuthMethod = 'none' | 'client_secret_post' | 'client_secret_basic' | 'private_key_jwt';

/** What every kind of client looks like to the authorization and token endpoints. */
export interface ClientView {
  readonly redirect_uris: readonly string[];
  readonly token_endpoint_auth_method: ClientAuthMethod;
  readonly grant_types: readonly string[];
  readonly client_name?: string;
}

interface ClientBase {
  readonly clientId: string;
  /** A digest of the client_id that stands in for it inside other capsules. */
  readonly cid: string;
  readonly registration: ClientView;
  /** Whether the user approves this client before the upstream login (always, except operator-configured clients). */
  readonly requireConsent: boolean;
}

/** The three ways a client_id can be known: its own sealed registration, configuration, or a metadata document URL. */
export type ResolvedClient =
  | (ClientBase & { readonly kind: 'registered'; readonly kid: string })
  | (ClientBase & { readonly kind: 'configured'; readonly secret: string | undefined; readonly keys: ClientSigningKeys })
  | (ClientBase & { readonly kind: 'metadata-document'; readonly document: ClientMetadataDocument });

/** Why a metadata document cannot be used: `unavailable`, not fetched or invalid; `rate-limited`, the address caused too many fetches. */
export type DocumentProblem =
  | { readonly problem: 'unavailable'; readonly detail: string }
  | { readonly problem: 'rate-limited'; readonly detail: string; readonly retryAfterSeconds: number };

export type ClientLookup =
  | { readonly client: ResolvedClient }
  /** `unknown`: not a client of ours. */
  | { readonly problem: 'unknown'; readonly detail: string }
  | DocumentProblem;

export interface MetadataDocumentResolver {
  /** Whether this client_id is a URL naming a metadata document this deployment accepts. */
  accepts(clientId: string): boolean;
  /** The document, fetched (counted against `address`, the requesting client's) or from the cache; never throws. */
  resolve(clientId: string, address: string): Promise<{ readonly document: ClientMetadataDocument } | DocumentProblem>;
}

export class ClientDirectory {
  private readonly configured: ReadonlyMap<string, StaticClient>;

  constructor(
    private readonly deps: {
      readonly capsules: CapsuleCodec;
      readonly configured: readonly StaticClient[];
      readonly documents: MetadataDocumentResolver | undefined;
      readonly logger: Logger;
    },
  ) {
    this.configured = new Map(deps.configured.map((client) => [client.client_id, client]));
  }

  /** The client a client_id names; `address` is the requesting client's, for the limit on metadata document fetches. */
  async lookup(clientId: string, address: string): Promise<ClientLookup> {
    const cid = await shortDigest(clientId);
    const configured = this.configured.get(clientId);
    if (configured) {
      const { client_secret: secret, require_consent: requireConsent, jwks: _jwks, jwks_uri: _jwksUri, ...registration } = configured;
      return { client: { kind: 'configured', clientId, cid, registration, requireConsent, secret, keys: configured } };
    }
    if (this.deps.documents?.accepts(clientId)) return this.lookupDocument(clientId, cid, address, this.deps.documents);
    try {
      const { payload, kid } = await this.deps.capsules.openWithKid('client', clientId);
      // Registrations sealed before names were checked may carry one that cannot be shown as it is.
      const registration = payload.client_name === undefined || isDisplayableName(payload.client_name) ? payload : { ...payload, client_name: undefined };
      return { client: { kind: 'registered', clientId, cid, registration, requireConsent: true, kid } };
    } catch (error) {
      if (error instanceof CapsuleError) return { problem: 'unknown', detail: error.detail };
      throw error;
    }
  }

  private async lookupDocument(clientId: string, cid: string, address: string, documents: MetadataDocumentResolver): Promise<ClientLookup> {
    const found = await documents.resolve(clientId, address);
    if ('problem' in found) {
      if (found.problem === 'unavailable') this.deps.logger.info('client metadata document refused', { client_id: clientId, detail: found.detail });
      return found;
    }
    const { document } = found;
    return { client: { kind: 'metadata-document', clientId, cid, registration: document, requireConsent: true, document } };
  }
}
