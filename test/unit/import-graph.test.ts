import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** The node a source file belongs to: its top folder under src/, or the file itself when it lies in src/. */
function nodeOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts.length > 1 ? parts[0]! : parts[0]!.replace(/\.ts$/, '');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Edges between nodes, each with the imports that make it: static imports, `export … from` and `import('…')`, type-only ones included. */
type FolderGraph = Map<string, Map<string, string[]>>;

function folderGraph(files: readonly string[]): FolderGraph {
  const graph: FolderGraph = new Map();
  for (const file of files) {
    const from = nodeOf(file);
    if (!graph.has(from)) graph.set(from, new Map());
    for (const imported of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!imported.fileName.startsWith('.')) continue;
      const to = nodeOf(resolve(dirname(file), imported.fileName));
      if (to === from) continue;
      const edges = graph.get(from)!;
      edges.set(to, [...(edges.get(to) ?? []), `${relative(SRC, file)} imports ${imported.fileName}`]);
    }
  }
  return graph;
}

/**
 * The cycles of the graph: for each strongly connected component (Tarjan), the shortest cycle
 * through each of its members, e.g. ['http', 'mcp', 'http'], each cycle once.
 */
function cycles(graph: ReadonlyMap<string, ReadonlyMap<string, unknown>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const components: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (stack.includes(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      component.push(member);
    } while (member !== node);
    if (component.length > 1) components.push(component);
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  const found = new Map<string, string[]>();
  for (const component of components) {
    for (const start of [...component].sort()) {
      const cycle = cycleThrough(graph, new Set(component), start);
      const key = [...new Set(cycle)].sort().join(' ');
      if (!found.has(key)) found.set(key, cycle);
    }
  }
  return [...found.values()];
}

/** A shortest way from `start` back to itself, staying inside its component. */
function cycleThrough(graph: ReadonlyMap<string, ReadonlyMap<string, unknown>>, component: ReadonlySet<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of graph.get(node)?.keys() ?? []) {
      if (!component.has(next)) continue;
      if (next === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, node);
        queue.push(next);
      }
    }
  }
  throw new Error('a strongly connected component always holds a cycle');
}

function describeCycle(graph: FolderGraph, cycle: readonly string[]): string {
  const steps = cycle.slice(1).map((to, i) => `  ${cycle[i]} → ${to}: ${graph.get(cycle[i]!)!.get(to)![0]}`);
  return [cycle.join(' → '), ...steps].join('\n');
}

describe('folder import graph of src/', () => {
  const graph = folderGraph(sourceFiles(SRC));

  it('reads the real tree', () => {
    // The composition root reaches the route modules: a parser that saw no imports would pass vacuously.
    expect(graph.get('http')?.has('oauth')).toBe(true);
    expect(graph.get('runtime')?.has('http')).toBe(true);
    expect(graph.size).toBeGreaterThan(10);
  });

  it('has no cycle between folders', () => {
    expect(cycles(graph).map((cycle) => describeCycle(graph, cycle))).toEqual([]);
  });

  it('names a cycle when there is one', () => {
    const edges = (...to: string[]) => new Map(to.map((node) => [node, []]));
    const looped = new Map([
      ['a', edges('b')],
      ['b', edges('c', 'd')],
      ['c', edges('a')],
      ['d', edges()],
      ['e', edges('f')],
      ['f', edges('e')],
    ]);
    expect(cycles(looped)).toEqual(expect.arrayContaining([['a', 'b', 'c', 'a'], ['e', 'f', 'e']]));
    expect(cycles(looped)).toHaveLength(2);
  });
});
