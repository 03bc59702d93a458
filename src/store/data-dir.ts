/** Where the store lives: TWILIO_MCP_DATA_DIR, else the platform's per-user data directory. */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function resolveDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const explicit = env.TWILIO_MCP_DATA_DIR?.trim();
  if (explicit) return explicit;
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'mcp-server-twilio');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'mcp-server-twilio');
  return join(env.XDG_DATA_HOME?.trim() || join(homedir(), '.local', 'share'), 'mcp-server-twilio');
}
