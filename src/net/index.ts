export { SafeFetchError, type SafeFetchErrorCode } from './errors.js';
export { classifyAddress, isLocalHostname, type AddressClass, type AddressKind } from './ip-address.js';
export { safeFetch, DEFAULT_FETCH_TIMEOUT_MS, DEFAULT_MAX_BYTES, type SafeFetchOptions, type SafeResponse } from './safe-fetch.js';
export { checkTarget, systemLookup, type CheckedTarget, type HostLookup, type ResolvedAddress } from './target-guard.js';
