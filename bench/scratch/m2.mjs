const t0 = performance.now();
await import('@modelcontextprotocol/server');
const t1 = performance.now();
await import('zod');
const t2 = performance.now();
console.log(`sdk first ${(t1-t0).toFixed(1)} then zod ${(t2-t1).toFixed(1)}`);
