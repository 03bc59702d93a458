/**
 * Every child process the bench starts is tracked here and killed when the bench ends,
 * however it ends (normal exit, a thrown error, Ctrl-C, the time limit): a server left
 * behind would keep a port or a CPU busy and skew the next run.
 */
const live = new Set();

export function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export function killAll() {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

process.once('exit', killAll);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.once(signal, () => {
    killAll();
    process.exit(code);
  });
}
