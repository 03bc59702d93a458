const t0 = performance.now();
const z = await import('zod');
const t1 = performance.now();
const { allTools } = await import('/work/main/dist/tools/index.js');
const t2 = performance.now();
for (const t of allTools) { z.toJSONSchema(t.input, { io: 'input' }); z.toJSONSchema(t.output, { io: 'output' }); }
const t3 = performance.now();
for (const t of allTools) { z.toJSONSchema(t.input, { io: 'input' }); z.toJSONSchema(t.output, { io: 'output' }); }
const t4 = performance.now();
const sdk = await import('@modelcontextprotocol/server');
const t5 = performance.now();
console.log(`tools=${allTools.length} zod import ${(t1-t0).toFixed(1)} tools import ${(t2-t1).toFixed(1)} convert#1 ${(t3-t2).toFixed(1)} convert#2 ${(t4-t3).toFixed(1)} sdk import ${(t5-t4).toFixed(1)}`);
