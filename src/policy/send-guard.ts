/**
 * The seam every outgoing send passes through before Twilio is called. The messaging
 * foundation ships with no rules; the opt-out list and the operator's policy plug in here,
 * so no send path can forget a check.
 */
export interface OutgoingMessage {
  channel: 'sms' | 'mms' | 'whatsapp';
  to: string;
  from: string | undefined;
  messagingServiceSid: string | undefined;
  body: string | undefined;
}

export interface SendGuard {
  /** Throws a ToolFailure to refuse; returns normally to allow. */
  checkMessage(message: OutgoingMessage): Promise<void>;
}

export const allowEverySend: SendGuard = { checkMessage: async () => {} };
