// Preload (`node --import`) that records which modules a process loads, for tests of lazy loading:
// every ES module URL (through a loader hook, on the hooks thread) and, at exit, every CommonJS module
// in the require cache (createRequire'd libraries do not pass through the ES loader hooks in Node 20).
// Both go to the file named by LOADED_MODULES_FILE, one path or URL per line.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.LOADED_MODULES_FILE;
if (file !== undefined && file !== '') {
  register(new URL('./loaded-modules-hooks.mjs', import.meta.url), { data: { file } });
  process.on('exit', () => {
    const cache = createRequire(import.meta.url).cache;
    appendFileSync(
      file,
      Object.keys(cache)
        .map((path) => `${path}\n`)
        .join(''),
    );
  });
}
