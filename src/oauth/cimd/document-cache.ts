import { RateLimiter } from '../../store/rate-limit.js';
import { DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_BYTES } from '../../net/safe-fetch.js';
import { clientIdUrlProblem } from './client-id-url.js';
import { parseClientMetadataDocument, type ClientMetadataDocument } from './document.js';
import { ClientMetadataError, ClientMetadataFetchLimited } from './errors.js';
import { PublishedJson, type PublishedJsonOptions } from './published-json.js';

/** Every default of the resolver, in one place. */
export const CLIENT_METADATA_DEFAULTS = {
  fetchTimeoutMs: DEFAULT_FETCH_TIMEOUT_MS,
  maxBytes: DEFAULT_MAX_BYTES,
  minCacheSeconds: 60,
  maxCacheSeconds: 24 * 60 * 60,
  defaultCacheSeconds: 5 * 60,
  maxEntries: 1_000,
  fetchesPerAddressPerMinute: 60,
} as const;

export interface ClientMetadataDocumentsOptions extends PublishedJsonOptions {
  /** Development only: also http loopback client_ids. */
  allowPrivateNetwork: boolean;
  /** Private-use redirect schemes on the operator's allowlist (as for dynamic registration). */
  redirectSchemes: readonly string[];
  /** Fetches (documents and their key sets) one client address may cause per minute; what is served from a cache does not count. */
  fetchesPerAddressPerMinute?: number;
  /** Told of every cache lookup, for metrics: true for a hit. */
  onCacheLookup?: (hit: boolean) => void;
}

const FETCH_FAILED = 'The client metadata document could not be fetched.';
const INVALID = 'The client metadata document is invalid.';

/**
 * Resolves URL client_ids (CIMD) to validated metadata documents: fetched through the
 * SSRF guard, parsed, validated, cached per HTTP caching headers within bounds.
 * Failures and invalid documents are never cached (CIMD §4.4).
 */
export class ClientMetadataDocuments {
  private readonly documents: PublishedJson<ClientMetadataDocument>;
  private readonly fetchesPerAddress: RateLimiter;

  constructor(private readonly options: ClientMetadataDocumentsOptions) {
    this.documents = new PublishedJson(options, CLIENT_METADATA_DEFAULTS, 'application/json', options.onCacheLookup);
    this.fetchesPerAddress = new RateLimiter({
      perMinute: options.fetchesPerAddressPerMinute ?? CLIENT_METADATA_DEFAULTS.fetchesPerAddressPerMinute,
      clock: this.documents.clock,
    });
  }

  /**
   * The validated document for a URL client_id, or a ClientMetadataError; `address` is the
   * client address the request came from, which each actual fetch is counted against.
   */
  async resolve(clientId: string, address: string): Promise<ClientMetadataDocument> {
    const problem = clientIdUrlProblem(clientId, { allowHttpLoopback: this.options.allowPrivateNetwork });
    if (problem) {
      throw new ClientMetadataError('invalid_client_id', 'The client_id is not a valid client metadata document URL.', `client_id ${problem}`);
    }
    return this.documents.get(clientId, async () => {
      // Only here does a URL become an outbound request: a cached document, or one already
      // being fetched for someone else, costs the caller nothing, so known clients keep working.
      const wait = this.chargeFetch(address);
      if (wait > 0) throw new ClientMetadataFetchLimited(wait);
      return this.load(clientId);
    });
  }

  /**
   * Counts one fetch a client address caused, against the per-minute limit: 0 when it may go
   * ahead, else the seconds until it may. Key-set fetches for the same clients charge it too.
   */
  chargeFetch(address: string): number {
    return this.fetchesPerAddress.take(address);
  }

  /** Drops a cached document, e.g. after an operator blocks a client. */
  forget(clientId: string): void {
    this.documents.delete(clientId);
  }

  private async load(clientId: string): Promise<{ value: ClientMetadataDocument; ttlSeconds: number }> {
    try {
      const fetched = await this.documents.fetch(clientId);
      if (!fetched.ok) {
        throw fetched.reason === 'fetch_failed'
          ? new ClientMetadataError('fetch_failed', FETCH_FAILED, fetched.detail, fetched.cause)
          : new ClientMetadataError('invalid_document', INVALID, fetched.detail, fetched.cause);
      }
      const parsed = parseClientMetadataDocument(fetched.json, {
        clientId,
        redirectSchemes: this.options.redirectSchemes,
        allowHttpLoopback: this.options.allowPrivateNetwork,
      });
      if (!parsed.ok) throw new ClientMetadataError('invalid_document', INVALID, parsed.problem);
      this.documents.logger.debug('client metadata document fetched', { client_id: clientId, ttl_seconds: fetched.ttlSeconds });
      return { value: parsed.document, ttlSeconds: fetched.ttlSeconds };
    } catch (error) {
      const failure = error instanceof ClientMetadataError ? error : new ClientMetadataError('fetch_failed', FETCH_FAILED, String(error), error);
      this.documents.logger.warn('client metadata document refused', { client_id: clientId, reason: failure.code, detail: failure.detail });
      throw failure;
    }
  }
}
