/**
 * A client that obtains a token for itself (client credentials) is its own subject: `client:` and
 * its client_id. The prefix is reserved: no user identity may carry it (a provider's subject that
 * does is refused at sign-in), so an MCP server that reads the subject can tell the two apart,
 * and no user can be taken for a client or a client for a user.
 */
const CLIENT_SUBJECT_PREFIX = 'client:';

export function clientSubject(clientId: string): string {
  return CLIENT_SUBJECT_PREFIX + clientId;
}

/** The client_id a client's own subject names, or undefined for any other subject. */
export function clientIdOfSubject(subject: string): string | undefined {
  return subject.startsWith(CLIENT_SUBJECT_PREFIX) ? subject.slice(CLIENT_SUBJECT_PREFIX.length) : undefined;
}
