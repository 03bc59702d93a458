/**
 * The anchor: Twilio's own OpenAPI-generated MCP server, @twilio-alpha/mcp@0.7.0,
 * installed from the npm registry into a scratch folder (falling back to the copy in
 * node_modules, which the project pins as a devDependency, when the install fails).
 *
 * How it is started, from its README and build/utils/args.js: credentials are the first
 * positional argument, "ACCOUNT_SID/API_KEY:API_SECRET", where the SIDs must be "AC"/"SK"
 * plus 32 hex characters (anything else exits with "Invalid AccountSid/ApiKey"); with no
 * --services/--tags it loads its default service, twilio_api_v2010 (the core API). It
 * only talks to Twilio when a tool is called, so tools/list never touches the network
 * (checked with strace: no connect() other than AF_UNIX).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRATCH = join(ROOT, '.bench-tmp', 'anchor');
const NAME = '@twilio-alpha/mcp';
const VERSION = '0.7.0';
export const ANCHOR = `${NAME}@${VERSION}`;

function packageIn(folder) {
  const dir = join(folder, 'node_modules', ...NAME.split('/'));
  if (!existsSync(join(dir, 'package.json'))) return undefined;
  return { dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) };
}

function entryOf({ dir, pkg }) {
  if (pkg.version !== VERSION) throw new Error(`found ${NAME}@${pkg.version} in ${dir}, want ${VERSION}`);
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin['twilio-mcp-server'] ?? Object.values(pkg.bin)[0];
  return join(dir, bin);
}

/** Returns {entry, source}; source says where the anchor came from (printed with the results). */
export function installAnchor(log) {
  try {
    if (packageIn(SCRATCH)?.pkg.version !== VERSION) {
      mkdirSync(SCRATCH, { recursive: true });
      log(`installing ${ANCHOR} into ${SCRATCH} …`);
      execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--prefix', SCRATCH, ANCHOR], { stdio: 'ignore', timeout: 180_000 });
    }
    return { entry: entryOf(packageIn(SCRATCH)), source: `npm registry, installed in ${join('.bench-tmp', 'anchor')}` };
  } catch (error) {
    const reason = error.message.split('\n')[0];
    log(`anchor install into ${SCRATCH} failed (${reason}); falling back to the devDependency copy in node_modules`);
    return { entry: entryOf(packageIn(ROOT)), source: `node_modules devDependency (install into .bench-tmp/anchor failed: ${reason})` };
  }
}

/** Credentials of the right shape, never valid: tools/list needs no network. */
export const FAKE_ANCHOR_ARGS = [`AC${'0'.repeat(32)}/SK${'0'.repeat(32)}:${'f'.repeat(32)}`];
