/**
 * RFC 7523 §2.1: a JWT as the authorization grant. The proxy takes one kind: an identity
 * assertion a trusted enterprise identity provider issued for it (ID-JAG, MCP's
 * enterprise-managed authorization).
 */
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
