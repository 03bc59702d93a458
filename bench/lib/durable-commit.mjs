/**
 * The floor under the send path's durability: one SQLite commit that is on disk when it
 * returns (WAL, synchronous = FULL, one small row), on this machine's disk, in this run.
 * Every send pays one such commit for its reservation before the request leaves, so no
 * server that keeps that promise can send faster than direct REST plus this; the MCP
 * overhead beyond it is what the server's own code costs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export function measureDurableCommit(samples) {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-twilio-bench-commit-'));
  const db = new Database(join(dir, 'commit.sqlite'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, at TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO t (at) VALUES (?)');
    const commit = db.transaction(() => insert.run(new Date().toISOString()));
    const times = [];
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      commit.immediate();
      times.push(performance.now() - started);
    }
    return times;
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
