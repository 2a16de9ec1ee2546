import { compileGlob, compileGlobs } from './glob.js';
import type { NameMatcher } from './glob.js';

/**
 * Which tools a user may see and call. Patterns are exact tool names or `*` globs
 * (`delete_*`, `*_admin`, `*`), case-sensitive like MCP tool names.
 *
 * A tool is allowed when all of these hold:
 * 1. `enabled` is absent, or the name matches one of its patterns (an allowlist);
 * 2. the name matches no `disabled` pattern (disabled always wins);
 * 3. for EVERY `restricted` pattern the name matches, the user is in at least one of that
 *    pattern's groups (restrictions add up, so a broad `admin_*` rule cannot be loosened by a
 *    narrower one; an empty group list allows nobody).
 */
export interface ToolPolicyConfig {
  readonly disabled?: readonly string[];
  readonly restricted?: Readonly<Record<string, readonly string[]>>;
  readonly enabled?: readonly string[];
}

export interface ToolPolicy {
  isAllowed(toolName: string, userGroups: readonly string[]): boolean;
  /** False when the configuration allows every tool to everyone: callers may skip filtering. */
  readonly restrictsAnything: boolean;
}

interface Restriction {
  readonly matches: NameMatcher;
  readonly groups: ReadonlySet<string>;
}

export function compileToolPolicy(config: ToolPolicyConfig): ToolPolicy {
  const disabled = config.disabled ?? [];
  const enabled = config.enabled === undefined ? undefined : compileGlobs(config.enabled);
  const isDisabled = compileGlobs(disabled);
  const restrictions: Restriction[] = Object.entries(config.restricted ?? {}).map(([pattern, groups]) => ({
    matches: compileGlob(pattern),
    groups: new Set(groups),
  }));

  const isAllowed = (toolName: string, userGroups: readonly string[]): boolean => {
    if (enabled !== undefined && !enabled(toolName)) return false;
    if (isDisabled(toolName)) return false;
    for (const restriction of restrictions) {
      if (restriction.matches(toolName) && !userGroups.some((group) => restriction.groups.has(group))) return false;
    }
    return true;
  };

  return {
    isAllowed,
    restrictsAnything: enabled !== undefined || disabled.length > 0 || restrictions.length > 0,
  };
}
