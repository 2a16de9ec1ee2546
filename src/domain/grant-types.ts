/**
 * RFC 7523 §2.1: a JWT as the authorization grant. The proxy takes one kind at /token: an
 * identity assertion a trusted enterprise identity provider issued for it (ID-JAG, MCP's
 * enterprise-managed authorization); it sends one to Microsoft Entra for on-behalf-of.
 */
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
