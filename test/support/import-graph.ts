// The import graph of a source tree, read from the files' import and export-from statements (type-only
// ones included: they tie modules together as much as any other). Relative specifiers only; packages
// and node: built-ins are not part of the graph. Used by test/architecture.test.ts and printed by
// `npx tsx test/support/import-graph.ts [src]` for the counts in docs/architecture.md.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ImportEdge {
  /** Paths relative to the root, with `/`. */
  from: string;
  to: string;
  typeOnly: boolean;
}

export interface ImportGraph {
  files: string[];
  /** One per import statement. */
  edges: ImportEdge[];
  /** Specifiers that name no file (a test fails on them: the graph would be wrong). */
  unresolved: string[];
}

const STATEMENT = /(?:^|\n)\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function target(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) if (existsSync(candidate)) return candidate;
  return undefined;
}

export function importGraph(root: string): ImportGraph {
  const files = sources(root).sort();
  const edges: ImportEdge[] = [];
  const unresolved: string[] = [];
  const name = (file: string) => relative(root, file).split('\\').join('/');
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(STATEMENT)) {
      const specifier = match[2] ?? match[3];
      if (!specifier.startsWith('.')) continue;
      const to = target(file, specifier);
      if (to === undefined) unresolved.push(`${name(file)}: ${specifier}`);
      else edges.push({ from: name(file), to: name(to), typeOnly: match[1] !== undefined });
    }
  }
  return { files: files.map(name), edges, unresolved };
}

/** The layer a file belongs to: its top folder (`engine/`), or the file itself at the root (`index.ts`). */
export function layerOf(file: string): string {
  const slash = file.indexOf('/');
  return slash === -1 ? file : file.slice(0, slash + 1);
}

/** Every group of files that import each other, directly or not (strongly connected, more than one file). */
export function fileCycles(graph: ImportGraph): string[][] {
  const next = new Map<string, string[]>(graph.files.map((f) => [f, []]));
  for (const edge of graph.edges) next.get(edge.from)!.push(edge.to);
  // Tarjan's algorithm.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const visit = (file: string): void => {
    index.set(file, counter);
    low.set(file, counter++);
    stack.push(file);
    onStack.add(file);
    for (const to of next.get(file)!) {
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(file, Math.min(low.get(file)!, index.get(to)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== file);
    if (group.length > 1) cycles.push(group.sort());
  };
  for (const file of graph.files) if (!index.has(file)) visit(file);
  return cycles;
}

/** Import statements between layers, by `from -> to`. */
export function layerEdges(graph: ImportGraph): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { from, to } of graph.edges) {
    const key = `${layerOf(from)} -> ${layerOf(to)}`;
    if (layerOf(from) !== layerOf(to)) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Pairs of layers that import each other, as `a <-> b`. */
export function mutualLayers(graph: ImportGraph): string[] {
  const edges = layerEdges(graph);
  return [...edges.keys()]
    .map((key) => key.split(' -> '))
    .filter(([a, b]) => a < b && edges.has(`${b} -> ${a}`))
    .map(([a, b]) => `${a} <-> ${b}`);
}

export function summary(graph: ImportGraph) {
  return {
    sourceFiles: graph.files.length,
    importStatements: graph.edges.length,
    fileEdges: new Set(graph.edges.map((e) => `${e.from} ${e.to}`)).size,
    layerEdges: layerEdges(graph).size,
    mutualLayers: mutualLayers(graph),
    fileCycles: fileCycles(graph),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const graph = importGraph(resolve(process.argv[2] ?? 'src'));
  console.log(JSON.stringify(summary(graph), null, 2));
  for (const [key, count] of [...layerEdges(graph)].sort()) console.log(`${key} (${count})`);
}
