export { exchangeKey, TokenExchanges, type ExchangeRequest } from './exchanges.js';
export { grantParameters, JWT_BEARER_GRANT, SUBJECT_TOKEN_TYPES, subjectTokenKind, TOKEN_EXCHANGE_GRANT, type ExchangeGrant, type SubjectTokenKind } from './grant.js';
