export { exchangeKey, TokenExchanges, type ExchangeRequest } from './exchanges.js';
export { grantParameters, subjectTokenKind, type ExchangeGrant, type SubjectTokenKind } from './grant.js';
