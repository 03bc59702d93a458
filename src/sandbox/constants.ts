/**
 * Fixed identities of the emulated account. Fixed (not random) so a server can name
 * them before the sandbox has started: the embedded sandbox starts on first use.
 */
export const SANDBOX_ACCOUNT_SID = 'AC5a4db0c0000000000000000000000000';
export const SANDBOX_MESSAGING_SERVICE_SID = 'MG5a4db0c0000000000000000000000000';
/** Twilio's documented "always valid" test sender. */
export const TEST_SENDER = '+15005550006';
/** The WhatsApp sender's channel installation; fixed like the SIDs above. */
export const SANDBOX_WHATSAPP_CHANNEL_INSTALL_SID = 'XE5a4db0c0000000000000000000000000';
/**
 * The sandbox's API key (SK…). Fixed like the SIDs above so a server can name it before
 * the sandbox starts; its secret is random per start (handle.apiKey.secret). Basic auth
 * accepts `SK…:secret` wherever it accepts `AccountSid:AuthToken`, as Twilio does.
 */
export const SANDBOX_API_KEY_SID = 'SK5a4db0c0000000000000000000000000';
