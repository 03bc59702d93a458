/**
 * Twilio error codes an agent meets in practice, each with its plain meaning and the
 * next step. This is the one place that turns a Twilio code into words a model can act on.
 * Codes not listed still get Twilio's own message and the `more_info` link.
 */
export interface ErrorExplanation {
  meaning: string;
  nextStep: string;
}

const catalog: Record<number, ErrorExplanation> = {
  20003: {
    meaning: 'Authentication failed: the account SID / auth token (or API key / secret) were refused.',
    nextStep: 'Check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or TWILIO_API_KEY/TWILIO_API_SECRET) and restart the server.',
  },
  20404: {
    meaning: 'The resource does not exist in this account (wrong SID, or it was deleted).',
    nextStep: 'Check the SID; a list tool (list_messages, list_calls, list_recordings, …) finds the right one.',
  },
  20501: {
    meaning: "The sandbox (Twilio emulator) does not emulate this endpoint; it is not a Twilio error.",
    nextStep: 'Use a tool the sandbox supports (get_server_status lists them), or run this against Twilio with live credentials.',
  },
  20429: {
    meaning: 'Too many requests: Twilio is rate-limiting this account.',
    nextStep: 'Wait a few seconds and try again; slow down bulk sends.',
  },
  21211: {
    meaning: "The 'To' number is not a valid phone number.",
    nextStep: 'Ask for the full number in E.164 form (+ country code + number, e.g. +14155550123).',
  },
  21212: {
    meaning: "The 'From' number is not a valid phone number or short code.",
    nextStep: 'Use a number from your Twilio account in E.164 form, or leave from empty to use the default sender.',
  },
  21408: {
    meaning: 'This account has no permission to send to the destination region.',
    nextStep: 'Enable the country in Console → Messaging → Settings → Geo permissions, or choose another recipient.',
  },
  21602: {
    meaning: 'The message has no body, media or content template.',
    nextStep: 'Provide body text (or media_url / content_sid).',
  },
  21603: {
    meaning: "No 'From' number or messaging service was given.",
    nextStep: 'Pass from or messaging_service_sid, or set TWILIO_PHONE_NUMBER / TWILIO_MESSAGING_SERVICE_SID.',
  },
  21604: {
    meaning: "The 'To' number is missing.",
    nextStep: 'Pass the recipient in E.164 form.',
  },
  21606: {
    meaning: "The 'From' number is not an SMS-capable number owned by this account.",
    nextStep: 'Send from one of your own SMS-capable Twilio numbers (see the Console), or use a messaging service.',
  },
  21609: {
    meaning: 'The status callback URL is not a valid URL.',
    nextStep: 'Pass an absolute http(s) URL, or leave status_callback empty.',
  },
  21610: {
    meaning: 'The recipient has opted out (replied STOP) and cannot be messaged from this sender.',
    nextStep: 'Do not retry. The recipient must text START to opt back in.',
  },
  21611: {
    meaning: "The 'From' number has too many messages queued.",
    nextStep: 'Wait for the queue to drain before sending more, or spread the load over a messaging service.',
  },
  21612: {
    meaning: "Twilio cannot route messages from this 'From' number to this 'To' number (carrier or number type).",
    nextStep: 'Check the recipient can receive SMS (not a landline); try another sender.',
  },
  21614: {
    meaning: "The 'To' number is not a mobile number and cannot receive SMS.",
    nextStep: 'Use a mobile number, or call instead.',
  },
  21617: {
    meaning: 'The message body is longer than 1600 characters.',
    nextStep: 'Shorten the body to at most 1600 characters, or split it into several messages.',
  },
  21620: {
    meaning: 'A media URL is invalid.',
    nextStep: 'Use publicly reachable http(s) URLs for media_url.',
  },
  21623: {
    meaning: 'Too many media URLs (the limit is 10).',
    nextStep: 'Send at most 10 media URLs per message.',
  },
  21705: {
    meaning: 'The messaging service SID is invalid or does not belong to this account.',
    nextStep: 'Check TWILIO_MESSAGING_SERVICE_SID or the messaging_service_sid argument.',
  },
  30003: {
    meaning: 'Unreachable destination handset (switched off or out of coverage).',
    nextStep: 'Try again later, or reach the person another way.',
  },
  30005: {
    meaning: 'Unknown destination handset: the number may not exist or is no longer in service.',
    nextStep: 'Confirm the number with the recipient; do not retry as is.',
  },
  30006: {
    meaning: 'Landline or unreachable carrier: the destination cannot receive SMS.',
    nextStep: 'Call the number instead, or ask for a mobile number.',
  },
  30007: {
    meaning: 'The carrier filtered the message (looks like spam or is unregistered traffic).',
    nextStep: 'Do not resend the same text. Check A2P 10DLC registration and message content.',
  },
  30008: {
    meaning: 'Unknown delivery error from the carrier.',
    nextStep: 'Retry once later; if it fails again, contact Twilio support with the message SID.',
  },
  30409: {
    meaning: 'The message cannot be canceled: it is no longer scheduled.',
    nextStep: 'Only messages with status "scheduled" can be canceled. Check get_message for its status.',
  },
  35111: {
    meaning: 'A fixed schedule needs a send time (SendAt).',
    nextStep: 'Pass send_at as an ISO 8601 time.',
  },
  35114: {
    meaning: 'The send_at time is outside the allowed window (15 minutes to 35 days ahead).',
    nextStep: 'Choose a send_at time between 15 minutes and 35 days from now.',
  },
  35118: {
    meaning: 'Scheduling needs a messaging service.',
    nextStep: 'Pass messaging_service_sid or set TWILIO_MESSAGING_SERVICE_SID to schedule a message.',
  },
  63016: {
    meaning: 'WhatsApp: outside the 24-hour customer service window, only approved templates can be sent.',
    nextStep: 'Send an approved template with content_sid and content_variables.',
  },
};

export function explainTwilioError(code: number): ErrorExplanation | undefined {
  return catalog[code];
}

export function moreInfoUrl(code: number): string {
  return `https://www.twilio.com/docs/errors/${code}`;
}
