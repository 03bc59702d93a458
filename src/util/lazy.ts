/**
 * Loads a module on first use and caches the promise. Heavy modules (the `twilio` SDK,
 * libphonenumber metadata) stay out of cold start: `tools/list` must answer fast.
 */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let cached: Promise<T> | undefined;
  return () => {
    cached ??= load();
    return cached;
  };
}
