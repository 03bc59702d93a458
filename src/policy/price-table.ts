/**
 * Default outbound SMS price per segment, USD, by destination country: rounded from
 * Twilio's public price list (twilio.com/en-us/sms/pricing, 2025), used only to estimate
 * spend for the daily cap. Override in the policy file (`prices`). Unknown countries use
 * the default, deliberately high so an unknown destination is not under-counted.
 */
export const DEFAULT_SMS_PRICE_PER_SEGMENT: Readonly<Record<string, number>> = {
  US: 0.0083, CA: 0.0083, GB: 0.0524, IE: 0.0839, FR: 0.0804, DE: 0.0914, ES: 0.0773, IT: 0.0878, NL: 0.1128,
  BE: 0.0998, PT: 0.0405, SE: 0.0613, NO: 0.0761, DK: 0.0513, FI: 0.0956, PL: 0.0382, AU: 0.0515, NZ: 0.1117,
  IN: 0.0832, BR: 0.0625, MX: 0.0520, JP: 0.0806, SG: 0.0489, ZA: 0.0277, IL: 0.1150, AE: 0.0613,
};
export const DEFAULT_SMS_PRICE = 0.12;
/** MMS and WhatsApp are priced per message, not per segment. */
export const DEFAULT_MMS_PRICE = 0.02;
export const DEFAULT_WHATSAPP_PRICE = 0.05;
