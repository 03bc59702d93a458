/**
 * The page's built files (scripts/build-dashboard.mjs writes them with Vite into
 * dist/dashboard/page/): read on first request, then kept in memory. Only names Vite
 * makes are served (no path beyond the folder can be named).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the build puts the page, next to this module once compiled (dist/dashboard/page). */
export const DEFAULT_PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface Asset {
  body: Buffer;
  type: string;
}

export class PageAssets {
  private readonly cache = new Map<string, Promise<Asset | undefined>>();

  constructor(private readonly dir: string = DEFAULT_PAGE_DIR) {}

  /** index.html, or undefined when the page was not built. */
  page(): Promise<Asset | undefined> {
    return this.load('index.html', 'index.html');
  }

  /** A file of assets/ by name; undefined for any other name or a missing file. */
  asset(name: string): Promise<Asset | undefined> {
    if (!SAFE_NAME.test(name) || name.includes('..')) return Promise.resolve(undefined);
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    if (!type) return Promise.resolve(undefined);
    return this.load(`assets/${name}`, name);
  }

  private load(relative: string, name: string): Promise<Asset | undefined> {
    let cached = this.cache.get(relative);
    if (!cached) {
      const type = TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream';
      cached = readFile(join(this.dir, relative)).then(
        (body) => ({ body, type }),
        () => {
          // Not remembered: a build that lands later is served without a restart.
          this.cache.delete(relative);
          return undefined;
        },
      );
      this.cache.set(relative, cached);
    }
    return cached;
  }
}
