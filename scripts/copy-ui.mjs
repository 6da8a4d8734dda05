// Copies the dashboard's static files (src/ui) next to the compiled code (dist/ui): tsc copies only TypeScript.
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
rmSync(join(root, 'dist', 'ui'), { recursive: true, force: true });
cpSync(join(root, 'src', 'ui'), join(root, 'dist', 'ui'), { recursive: true });
