/**
 * RFC 6750 §3 / RFC 9728 §5.1 challenges. Without credentials the challenge
 * carries no error (RFC 6750 §3.1); with a bad token it says invalid_token.
 */
export function bearerChallenge(options: {
  resourceMetadata: string;
  scope?: string;
  error?: 'invalid_token' | 'insufficient_scope';
  description?: string;
}): string {
  const parts = [`resource_metadata="${options.resourceMetadata}"`];
  if (options.scope) parts.push(`scope="${options.scope}"`);
  if (options.error) parts.push(`error="${options.error}"`);
  if (options.description) parts.push(`error_description="${options.description.replace(/["\\]/g, '')}"`);
  return `Bearer ${parts.join(', ')}`;
}
