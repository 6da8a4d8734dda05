// Import-only memory of modules: for each argument (a package name or a path such as dist/main.js), a fresh
// `node --expose-gc` imports it alone, collects garbage and prints VmRSS, heapUsed and heapTotal (MiB); the
// first line is a bare node. What a module costs by itself, not in the running process (shared dependencies
// and heap growth overlap): use it to find candidates, then confirm with bench/idle-rss.mjs.
//   node bench/import-rss.mjs zod undici dist/main.js dist/http/metrics.js
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const CHILD = `
const specifier = process.argv[1];
if (specifier !== '') await import(specifier);
for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 50)); }
const { readFileSync } = await import('node:fs');
const rssKiB = Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
const { heapUsed, heapTotal } = process.memoryUsage();
const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);
console.log([(rssKiB / 1024).toFixed(1), mib(heapUsed), mib(heapTotal)].join(' | '));
`;

const specifiers = process.argv.slice(2);
console.log('| module | VmRSS | heapUsed | heapTotal |\n| --- | --- | --- | --- |');
for (const argument of ['', ...specifiers]) {
  const isPath = argument.startsWith('.') || argument.startsWith('/') || argument.startsWith('dist/');
  const specifier = isPath ? pathToFileURL(resolve(argument)).href : argument;
  const line = execFileSync(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', CHILD, specifier],
    { encoding: 'utf8', cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
  ).trim();
  console.log(`| ${argument === '' ? '(bare node)' : argument} | ${line} |`);
}
