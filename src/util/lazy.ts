/**
 * Loads a module (or starts a component) on first use and caches the promise. Heavy
 * modules (the `twilio` SDK, libphonenumber metadata, the embedded sandbox) stay out of
 * cold start: `tools/list` must answer fast. A failure is not cached, so the next use
 * tries again.
 */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let cached: Promise<T> | undefined;
  return () => {
    cached ??= load().catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
}
