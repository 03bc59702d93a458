// The webhook receiver alone in a process, on SQLite ("receiver") or PostgreSQL ("postgres"),
// or, with "baseline", a bare HTTP server that reads the body and answers 204 without
// verifying or storing: the ingestion bench's subjects. Prints its URL on stdout.
import { createServer } from 'node:http';

const [mode, dataDir, token, publicUrl] = process.argv.slice(2);
if (mode === 'baseline') {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${server.address().port}\n`));
} else {
  const [{ EventHub }, { openStoreInDir }, { openPostgresStore }, { startWebhookListener }, { createWebhookReceiver }] = await Promise.all([
    import('../../dist/services/events.js'),
    import('../../dist/store/sqlite-store.js'),
    import('../../dist/store/postgres/pg-store.js'),
    import('../../dist/transports/webhook-listener.js'),
    import('../../dist/webhooks/receiver.js'),
  ]);
  // "postgres": the data directory argument is the database URL.
  const store = mode === 'postgres' ? await openPostgresStore(dataDir) : openStoreInDir(dataDir);
  const receiver = createWebhookReceiver({
    publicBaseUrl: () => publicUrl,
    authTokens: async () => [token],
    verifySignatures: true,
    store: async () => store,
    events: new EventHub(),
  });
  const listener = await startWebhookListener(receiver.handle, '127.0.0.1', 0);
  process.stdout.write(`${listener.url}\n`);
}
