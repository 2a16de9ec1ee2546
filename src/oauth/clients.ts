import type { StaticClient } from '../config/schema.js';
import type { CapsuleCodec } from '../crypto/capsule.js';
import { CapsuleError } from '../crypto/capsule.js';
import { shortDigest } from '../crypto/encoding.js';
import type { Logger } from '../observability/logger.js';
import type { ClientMetadataDocument } from './cimd/document.js';
import { isDisplayableName } from './client-name.js';

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
  | (ClientBase & { readonly kind: 'configured'; readonly secret: string | undefined })
  | (ClientBase & { readonly kind: 'metadata-document'; readonly document: ClientMetadataDocument });

export type ClientLookup =
  | { readonly client: ResolvedClient }
  /** `unknown`: not a client of ours. `unavailable`: its metadata document could not be fetched or is invalid. */
  | { readonly problem: 'unknown' | 'unavailable'; readonly detail: string };

export interface MetadataDocumentResolver {
  /** Whether this client_id is a URL naming a metadata document this deployment accepts. */
  accepts(clientId: string): boolean;
  resolve(clientId: string): Promise<ClientMetadataDocument>;
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

  async lookup(clientId: string): Promise<ClientLookup> {
    const cid = await shortDigest(clientId);
    const configured = this.configured.get(clientId);
    if (configured) {
      const { client_secret: secret, require_consent: requireConsent, ...registration } = configured;
      return { client: { kind: 'configured', clientId, cid, registration, requireConsent, secret } };
    }
    if (this.deps.documents?.accepts(clientId)) return this.lookupDocument(clientId, cid, this.deps.documents);
    try {
      const { payload, kid } = await this.deps.capsules.openWithKid('client', clientId);
      // Registrations sealed before names were checked may carry one that cannot be shown as it is.
      const registration = payload.client_name === undefined || isDisplayableName(payload.client_name) ? payload : { ...payload, client_name: undefined };
      return { client: { kind: 'registered', clientId, cid, registration, requireConsent: true, kid } };
    } catch (error) {
      if (error instanceof CapsuleError) return { problem: 'unknown', detail: error.reason };
      throw error;
    }
  }

  private async lookupDocument(clientId: string, cid: string, documents: MetadataDocumentResolver): Promise<ClientLookup> {
    try {
      const document = await documents.resolve(clientId);
      return { client: { kind: 'metadata-document', clientId, cid, registration: document, requireConsent: true, document } };
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      this.deps.logger.info('client metadata document refused', { client_id: clientId, detail });
      return { problem: 'unavailable', detail };
    }
  }

  /** The client, or undefined for any problem; for callers that answer every failure alike. */
  async resolve(clientId: string): Promise<ResolvedClient | undefined> {
    const found = await this.lookup(clientId);
    return 'client' in found ? found.client : undefined;
  }
}
