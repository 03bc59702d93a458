/**
 * The emulated account: its SID, token, numbers and messaging service, as fixed facts
 * the rest of the sandbox reads.
 */
import { SANDBOX_MESSAGING_SERVICE_SID, SANDBOX_WHATSAPP_CHANNEL_INSTALL_SID } from './constants.js';
import { newSid, rfc2822 } from './wire.js';

export interface PhoneNumberConfig {
  sid: string;
  phoneNumber: string;
  friendlyName: string;
  /** ISO 3166 alpha-2, as the Messaging Services PhoneNumbers resource names it. */
  countryCode: string;
  smsUrl: string | null;
  smsMethod: string;
  voiceUrl: string | null;
  /** How an inbound call fetches voiceUrl: GET or POST (default). */
  voiceMethod: string;
  /** Voice status callback of the number: an inbound call's `completed` event goes there. */
  statusCallback: string | null;
  dateCreated: Date;
  dateUpdated: Date;
}

export interface Account {
  sid: string;
  authToken: string;
  friendlyName: string;
  dateCreated: Date;
  messagingServiceSid: string;
  /** The WhatsApp sender's channel installation (XE…), named in WhatsApp status callbacks. */
  whatsappChannelInstallSid: string;
  numbers: PhoneNumberConfig[];
}

export function createAccount(sid: string, authToken: string, sender: string): Account {
  const now = new Date();
  return {
    sid,
    authToken,
    friendlyName: 'mcp-server-twilio sandbox',
    dateCreated: now,
    messagingServiceSid: SANDBOX_MESSAGING_SERVICE_SID,
    whatsappChannelInstallSid: SANDBOX_WHATSAPP_CHANNEL_INSTALL_SID,
    numbers: [
      {
        sid: newSid('PN'),
        phoneNumber: sender,
        friendlyName: '(500) 555-0006',
        countryCode: 'US',
        smsUrl: null,
        smsMethod: 'POST',
        voiceUrl: null,
        voiceMethod: 'POST',
        statusCallback: null,
        dateCreated: now,
        dateUpdated: now,
      },
    ],
  };
}

export function accountJson(account: Account) {
  const uri = `/2010-04-01/Accounts/${account.sid}.json`;
  const base = `/2010-04-01/Accounts/${account.sid}`;
  return {
    auth_token: account.authToken,
    date_created: rfc2822(account.dateCreated),
    date_updated: rfc2822(account.dateCreated),
    friendly_name: account.friendlyName,
    owner_account_sid: account.sid,
    sid: account.sid,
    status: 'active',
    // The list api.twilio.com gives; only some of these routes exist in the sandbox.
    subresource_uris: Object.fromEntries(
      [
        ['addresses', 'Addresses'], ['conferences', 'Conferences'], ['signing_keys', 'SigningKeys'],
        ['transcriptions', 'Transcriptions'], ['connect_apps', 'ConnectApps'], ['sip', 'SIP'],
        ['authorized_connect_apps', 'AuthorizedConnectApps'], ['usage', 'Usage'], ['keys', 'Keys'],
        ['applications', 'Applications'], ['recordings', 'Recordings'], ['short_codes', 'SMS/ShortCodes'],
        ['calls', 'Calls'], ['notifications', 'Notifications'], ['incoming_phone_numbers', 'IncomingPhoneNumbers'],
        ['queues', 'Queues'], ['messages', 'Messages'], ['outgoing_caller_ids', 'OutgoingCallerIds'],
        ['available_phone_numbers', 'AvailablePhoneNumbers'], ['balance', 'Balance'],
      ].map(([key, name]) => [key, `${base}/${name}.json`]),
    ),
    type: 'Full',
    uri,
  };
}

export function phoneNumberJson(account: Account, n: PhoneNumberConfig) {
  return {
    account_sid: account.sid,
    address_sid: null,
    address_requirements: 'none',
    api_version: '2010-04-01',
    beta: false,
    capabilities: { voice: true, sms: true, mms: true, fax: false },
    date_created: rfc2822(n.dateCreated),
    date_updated: rfc2822(n.dateUpdated),
    friendly_name: n.friendlyName,
    identity_sid: null,
    phone_number: n.phoneNumber,
    origin: 'twilio',
    sid: n.sid,
    sms_application_sid: null,
    sms_fallback_method: 'POST',
    // null, not "", where nothing is configured: what Twilio answers.
    sms_fallback_url: null,
    sms_method: n.smsMethod,
    sms_url: n.smsUrl,
    status_callback: n.statusCallback,
    status_callback_method: 'POST',
    trunk_sid: null,
    uri: `/2010-04-01/Accounts/${account.sid}/IncomingPhoneNumbers/${n.sid}.json`,
    voice_receive_mode: 'voice',
    voice_application_sid: null,
    voice_caller_id_lookup: false,
    voice_fallback_method: 'POST',
    voice_fallback_url: null,
    voice_method: n.voiceMethod,
    voice_url: n.voiceUrl,
    emergency_status: 'Inactive',
    emergency_address_sid: null,
    emergency_address_status: 'unregistered',
    bundle_sid: null,
    status: 'in-use',
    // In Twilio's current spec (twilio-oai, 2026), not yet in the older one the tests pin.
    type: 'local',
  };
}
