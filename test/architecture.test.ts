// The structure the code promises (docs/architecture.md): the engine is a library that imports no
// other layer, no two layers import each other, no file cycle, and the repository cites no document
// outside itself.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileCycles, importGraph, layerOf, mutualLayers } from './support/import-graph.js';

const graph = importGraph('src');

describe('imports in src/', () => {
  it('resolve, every one of them (otherwise the checks below would miss edges)', () => {
    expect(graph.unresolved).toEqual([]);
    expect(graph.edges.length).toBeGreaterThan(200);
  });

  it('the engine imports nothing from config/, gateway/, api/, cli/, ops/ (only itself and the root catalogues)', () => {
    const allowed = new Set(['engine/', 'events.ts', 'errors.ts']);
    const outward = graph.edges.filter((e) => layerOf(e.from) === 'engine/' && !allowed.has(layerOf(e.to)));
    expect(outward.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('no two layers import each other', () => {
    expect(mutualLayers(graph)).toEqual([]);
  });

  it('no file cycle', () => {
    expect(fileCycles(graph)).toEqual([]);
  });
});

describe('the repository stands alone', () => {
  // Spelt in pieces so this file does not cite them itself.
  const outside = [['PRODUCT', 'md'].join('.'), ['..', 'shared'].join('/'), ['shared', 'STYLE'].join('/')];
  const files = (path: string): string[] =>
    statSync(path).isDirectory() ? readdirSync(path).flatMap((name) => (name === 'node_modules' || name === 'results' ? [] : files(join(path, name)))) : [path];

  it('no file in src/, test/, bench/, docs/, examples/ or config/ cites a document outside it', () => {
    const all = ['src', 'test', 'bench', 'docs', 'examples', 'config', 'README.md', 'Dockerfile']
      .flatMap(files)
      .filter((f) => /\.(ts|js|md|ya?ml|html)$|Dockerfile$/.test(f));
    expect(all.length).toBeGreaterThan(150);
    const citing = all.filter((file) => outside.some((name) => readFileSync(file, 'utf8').includes(name)));
    expect(citing).toEqual([]);
  });

  it('no file holds a merge left unresolved (conflict markers)', () => {
    const all = ['src', 'test', 'bench', 'docs', 'examples', 'config', 'bin', 'README.md', 'Dockerfile']
      .flatMap(files)
      .filter((f) => /\.(ts|js|md|ya?ml|html|json)$|Dockerfile$/.test(f));
    // Spelt in pieces so this file does not hold one itself.
    const marker = new RegExp(`^(${'<'.repeat(7)} |${'>'.repeat(7)} |${'='.repeat(7)}$)`, 'm');
    expect(all.filter((file) => marker.test(readFileSync(file, 'utf8')))).toEqual([]);
  });
});
