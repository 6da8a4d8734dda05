import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The dashboard's files: `src/ui/`, copied to `dist/ui/` by the build (next to this module's folder). */
export const DEFAULT_UI_DIRECTORY = fileURLToPath(new URL('../ui/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

/**
 * A fixed set of files read once at start-up and served from memory. Only a path that is exactly a
 * loaded file's URL is served, so no request path can reach outside the directory (no traversal, no
 * symlinks followed at request time). Every answer revalidates (`no-cache` + a strong `ETag`): the
 * file names carry no hash, so a new version must be picked up at once; unchanged files cost a 304.
 */
export class StaticFiles {
  readonly #files: ReadonlyMap<string, StaticFile>;

  constructor(files: ReadonlyMap<string, StaticFile>) {
    this.#files = files;
  }

  /** Loads the regular files of `directory` (one level of sub-folders); a missing directory serves nothing. */
  static load(directory: string): StaticFiles {
    const files = new Map<string, StaticFile>();
    const visit = (dir: string, prefix: string, depth: number): void => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const type = CONTENT_TYPES[extname(entry.name).toLowerCase()];
        if (entry.isDirectory() && depth > 0)
          visit(join(dir, entry.name), `${prefix}${entry.name}/`, depth - 1);
        if (!entry.isFile() || type === undefined) continue;
        const body = readFileSync(join(dir, entry.name));
        const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
        files.set(`${prefix}${entry.name}`, { body, contentType: type, etag });
      }
    };
    visit(directory, '/', 1);
    const index = files.get('/index.html');
    if (index !== undefined) files.set('/', index);
    return new StaticFiles(files);
  }

  /** True when `path` (no query) names a loaded file; `/` is `index.html`. */
  has(path: string): boolean {
    return this.#files.has(path);
  }

  /** Answers `GET`/`HEAD` for a loaded file; 304 when `If-None-Match` matches. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): void {
    const file = this.#files.get(path);
    if (file === undefined) throw new Error(`not a static file: ${path}`);
    const headers = {
      'content-type': file.contentType,
      'cache-control': 'no-cache',
      etag: file.etag,
      'x-content-type-options': 'nosniff',
    };
    if (req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, {
      ...headers,
      'content-length': file.body.length,
      ...(file.contentType.startsWith('text/html')
        ? {
            'content-security-policy':
              "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
          }
        : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  }
}
