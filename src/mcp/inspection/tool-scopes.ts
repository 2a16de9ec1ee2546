import { scopesLacking, scopeUnion } from '../../domain/scope.js';
import { compileGlob } from './glob.js';
import type { JsonRpcMessageSummary, JsonRpcSummary } from './jsonrpc.js';

/**
 * The scopes a tool needs: every scope of every `tools.scopes` pattern its name matches (patterns
 * as in tool-policy.ts; requirements add up, so a narrower pattern cannot loosen a broader one).
 * Undefined when no pattern is configured, so callers may skip the check.
 */
export type ToolScopes = (toolName: string) => readonly string[];

export function compileToolScopes(config: Readonly<Record<string, readonly string[]>>): ToolScopes | undefined {
  const rules = Object.entries(config).map(([pattern, scopes]) => ({ matches: compileGlob(pattern), scopes }));
  if (rules.length === 0) return undefined;
  return (toolName) => scopeUnion(...rules.filter((rule) => rule.matches(toolName)).map((rule) => rule.scopes));
}

/** The `tools/call` messages (requests and notifications) whose tool needs a scope not in `held`, and every scope they lack. */
export function callsLackingScope(
  summary: JsonRpcSummary,
  required: ToolScopes,
  held: readonly string[],
): { readonly calls: readonly JsonRpcMessageSummary[]; readonly lacking: readonly string[] } {
  const calls: JsonRpcMessageSummary[] = [];
  const lacking: string[][] = [];
  for (const message of summary.messages) {
    if (message.toolName === undefined) continue;
    const missing = scopesLacking(held, required(message.toolName));
    if (missing.length === 0) continue;
    calls.push(message);
    lacking.push(missing);
  }
  return { calls, lacking: scopeUnion(...lacking) };
}
