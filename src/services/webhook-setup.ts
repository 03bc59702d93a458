/**
 * Connects Twilio to this server's webhook receiver: points a number's SMS URL at it,
 * and (on the sandbox only) simulates an inbound message exactly as Twilio would send it.
 */
import { canonicalPhoneAddress } from '../domain/phone-address.js';
import { ToolFailure } from '../errors/tool-failure.js';
import type { TwilioGateway } from '../gateway/twilio-gateway.js';

export interface ReceiverUrls {
  inbound: string;
  messageStatus: string;
  callStatus: string;
}

/** The part of the sandbox this service uses (services never import the sandbox). */
export interface InboundSimulator {
  simulateInbound(fields: { from: string; body: string; mediaUrls?: string[] }): Promise<{ messageSid: string; webhookUrl: string | null; webhookStatus: number | undefined }>;
  simulateConversationInbound(fields: { from: string; proxy: string; body: string }): Promise<{ messageSid: string; webhookUrl: string | null; webhookStatus: number | undefined }>;
}

export class WebhookSetupService {
  constructor(
    private readonly gateway: TwilioGateway,
    private readonly receiverUrls: () => ReceiverUrls | undefined,
    private readonly defaultNumber: string | undefined,
    private readonly simulator: (() => Promise<InboundSimulator>) | undefined,
  ) {}

  async configureWebhooks(input: { phone_number?: string }) {
    const urls = this.receiverUrls();
    if (!urls) {
      throw new ToolFailure({
        message: 'The webhook receiver has no public URL, so Twilio could not reach it.',
        nextStep: 'Set TWILIO_WEBHOOK_URL to the public https URL of this server (e.g. an ngrok tunnel) and restart; with stdio also pass --webhook-port.',
      });
    }
    // The argument is canonical already (the tool schema); the configured default may be typed loosely.
    const phoneNumber = input.phone_number ?? (this.defaultNumber && (canonicalPhoneAddress(this.defaultNumber) ?? this.defaultNumber));
    if (!phoneNumber) {
      throw new ToolFailure({ message: 'Which number? No phone_number given and TWILIO_PHONE_NUMBER is not set.', nextStep: 'Pass phone_number (E.164).' });
    }
    const number = await this.gateway.findIncomingNumber(phoneNumber);
    if (!number) {
      throw new ToolFailure({ message: `${phoneNumber} is not a number of this account.`, twilioCode: 20404, nextStep: 'Use one of your Twilio numbers (Console → Phone Numbers).' });
    }
    const updated = await this.gateway.updateIncomingNumber(number.sid, { smsUrl: urls.inbound });
    return {
      phone_number: updated.phoneNumber,
      sms_url: updated.smsUrl,
      previous_sms_url: number.smsUrl,
      status_callback_for_sends: urls.messageStatus,
      note: 'Inbound messages to this number now reach this server; sends made here ask for status callbacks automatically.',
    };
  }

  async simulateInbound(input: { from: string; body: string; media_url?: string[]; conversation?: boolean }) {
    if (!this.simulator) throw new ToolFailure({ message: 'simulate_inbound_message only works on the sandbox.', nextStep: 'Start the server without credentials, or with --sandbox.' });
    const simulator = await this.simulator();
    if (input.conversation) {
      if (!this.defaultNumber) throw new ToolFailure({ message: 'No sandbox number to write to.', nextStep: 'This should not happen on the sandbox; check get_server_status.' });
      // The person texts the sandbox number they talk to the conversation through.
      const result = await simulator.simulateConversationInbound({ from: input.from, proxy: this.defaultNumber, body: input.body }).catch((error: unknown) => {
        throw new ToolFailure({
          message: `${input.from} is not an SMS participant of an open conversation through ${this.defaultNumber}: ${error instanceof Error ? error.message : String(error)}`,
          nextStep: 'Add them first: manage_conversation with action add_participant.',
        });
      });
      return { message_sid: result.messageSid, delivered_to: result.webhookUrl, receiver_status: result.webhookStatus ?? null, stored: result.webhookStatus !== undefined && result.webhookStatus < 300 };
    }
    const result = await simulator.simulateInbound({ from: input.from, body: input.body, mediaUrls: input.media_url });
    return {
      message_sid: result.messageSid,
      delivered_to: result.webhookUrl,
      receiver_status: result.webhookStatus ?? null,
      stored: result.webhookStatus === 200,
    };
  }
}
