// Enforces the layering of CONVENTIONS.md and forbids import cycles, over src/**/*.ts.
// core imports only core; http, orchestrators, stores, workers, config import core (and themselves);
// only main.ts / cli.ts wire adapters together.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', 'src');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts')) files.push(p);
  }
})(root);

const layerOf = (file) => relative(root, file).split('/')[0].replace(/\.ts$/, '');
const allowed = {
  core: ['core'],
  config: ['config', 'core'],
  http: ['http', 'core'],
  orchestrators: ['orchestrators', 'core'],
  stores: ['stores', 'core'],
  workers: ['workers', 'core'],
  ui: ['ui'],
};
const problems = [];
const graph = new Map();
for (const file of files) {
  const src = readFileSync(file, 'utf8');
  const deps = [];
  for (const m of src.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    const target = resolve(dirname(file), m[1].replace(/\.js$/, '.ts'));
    deps.push(target);
    const from = layerOf(file);
    const to = layerOf(target);
    if (allowed[from] && !allowed[from].includes(to)) {
      problems.push(
        `${relative(root, file)} imports ${relative(root, target)}: ${from} may not import ${to}`,
      );
    }
  }
  graph.set(file, deps);
}
const state = new Map();
function visit(node, stack) {
  if (state.get(node) === 'done') return;
  if (state.get(node) === 'active') {
    const cycle = stack
      .slice(stack.indexOf(node))
      .concat(node)
      .map((f) => relative(root, f));
    problems.push(`import cycle: ${cycle.join(' -> ')}`);
    return;
  }
  state.set(node, 'active');
  for (const dep of graph.get(node) ?? []) visit(dep, [...stack, node]);
  state.set(node, 'done');
}
for (const file of files) visit(file, []);
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`imports ok (${files.length} files, no cycles, layers respected)`);
