/**
 * Build step after tsc: converts every tool's zod schemas to JSON Schema once, into
 * dist/tools/tool-manifest.json, so the server answers tools/list without loading the
 * toolset modules (see src/tools/catalog.ts for why and how it is checked at run time).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const { buildManifestTools, fingerprintOf, MANIFEST_FILE } = await import(join(dist, 'tools', 'catalog.js'));
const tools = await buildManifestTools();
writeFileSync(join(dist, 'tools', MANIFEST_FILE), `${JSON.stringify({ fingerprint: fingerprintOf(dist), tools })}\n`);
process.stderr.write(`tool manifest: ${tools.length} tools → dist/tools/${MANIFEST_FILE}\n`);
