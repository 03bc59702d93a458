/**
 * SQLite store files in temp directories, closed and removed after each test: call once at
 * the top of a test file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';

export function tempStores(prefix = 'mcp-twilio-store-') {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    /** A path for a new store file (nothing created yet). */
    freshFile(): string {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return join(dir, 'store.sqlite');
    },
    /** Opens (migrating) the store at `file`; closed after the test. */
    open(file: string): Store {
      const store = openSqliteStore(file);
      stores.push(store);
      return store;
    },
  };
}
