import { credentialDigest } from '../../src/downstream/credential.js';

// Run by the runtime suite under Bun and Deno: the caller digest of a fixed credential, as that runtime computes it.
console.log(credentialDigest('client', 'secret'));
