/**
 * The anchor: Twilio's own OpenAPI-generated MCP server, @twilio-alpha/mcp@0.7.0,
 * installed from the npm registry into a scratch folder (falling back to the copy in
 * node_modules, which the project pins as a devDependency, when the install fails).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRATCH = join(ROOT, '.bench-tmp', 'anchor');
export const ANCHOR = '@twilio-alpha/mcp@0.7.0';

function entryIn(folder) {
  const pkgDir = join(folder, 'node_modules', '@twilio-alpha', 'mcp');
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  return join(pkgDir, pkg.bin['twilio-mcp-server']);
}

export function installAnchor(log) {
  try {
    if (!existsSync(join(SCRATCH, 'node_modules', '@twilio-alpha', 'mcp'))) {
      mkdirSync(SCRATCH, { recursive: true });
      log(`installing ${ANCHOR} into ${SCRATCH} …`);
      execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--prefix', SCRATCH, ANCHOR], { stdio: 'ignore', timeout: 180_000 });
    }
    return { entry: entryIn(SCRATCH), source: `npm registry → ${SCRATCH}` };
  } catch (error) {
    log(`anchor install failed (${error.message.split('\n')[0]}); using the devDependency copy`);
    return { entry: entryIn(ROOT), source: 'node_modules (devDependency)' };
  }
}

/** Credentials of the right shape, never valid: tools/list needs no network. */
export const FAKE_ANCHOR_ARGS = [`AC${'0'.repeat(32)}/SK${'0'.repeat(32)}:${'f'.repeat(32)}`];
