/** Where the store lives: TWILIO_MCP_DATA_DIR, else the platform's per-user data directory. */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function resolveDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const explicit = env.TWILIO_MCP_DATA_DIR?.trim();
  // MCP clients start servers from JSON configs, where no shell expands "~": do it here, and
  // make a relative path absolute now (the client's working directory is often "/").
  if (explicit) return resolve(explicit.replace(/^~(?=$|[\\/])/, homedir()));
  if (platform === 'win32') return join(env.APPDATA?.trim() || join(homedir(), 'AppData', 'Roaming'), 'mcp-server-twilio');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'mcp-server-twilio');
  return join(env.XDG_DATA_HOME?.trim() || join(homedir(), '.local', 'share'), 'mcp-server-twilio');
}
