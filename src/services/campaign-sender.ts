/**
 * How a campaign's recipient is sent: through the one send pipeline (opt-outs, policy,
 * reservation, audit) and the gateway, exactly like send_sms — and how an attempt whose
 * answer was lost is looked up before anything is sent again (reconciliation).
 */
import type { CampaignSend, CampaignSender } from '../campaigns/types.js';
import type { TwilioGateway } from '../gateway/twilio-gateway.js';
import { runInCallContext } from '../pipeline/call-context.js';
import type { PipelineMessage, SendPipeline } from '../pipeline/send-pipeline.js';

const address = (m: CampaignSend) => (m.channel === 'whatsapp' && !m.to.startsWith('whatsapp:') ? `whatsapp:${m.to}` : m.to);
const sender = (m: CampaignSend) => (m.channel === 'whatsapp' && m.from && !m.from.startsWith('whatsapp:') ? `whatsapp:${m.from}` : m.from);

/** The message the pipeline judges for a campaign row (the same for a dry run and the send). */
export function campaignMessage(m: CampaignSend, firstContactConfirmed: boolean): PipelineMessage {
  return {
    channel: m.channel,
    to: address(m),
    from: sender(m),
    messagingServiceSid: m.messagingServiceSid,
    body: m.body ?? (m.contentSid ? `${m.contentSid}:${JSON.stringify(m.contentVariables ?? {})}` : undefined),
    // A later attempt follows a refusal that sent nothing (429, 5xx) or a reconciliation
    // that found nothing: the duplicate rule would refuse it because of the earlier
    // attempt's own reservation and lose the recipient. The engine's reconciliation is
    // the guard against a second copy here.
    allowDuplicate: (m.attempt ?? 1) > 1,
    firstContactConfirmed,
  };
}

/**
 * `firstContactConfirmed`: under first_contact "confirm", a campaign exists only once the
 * user confirmed it as a whole (start_campaign asks once), so its sends count as confirmed;
 * under "refuse", first contacts are refused per recipient (skipped_policy).
 */
export function createCampaignSender(pipeline: SendPipeline, gateway: TwilioGateway, statusCallback: () => Promise<string | undefined>, firstContactConfirmed: () => boolean): CampaignSender {
  return {
    send: (m) =>
      // Audited as the campaign's send, with the row it came from.
      runInCallContext({ tool: 'campaign_send', args: { campaign: m.campaignId, row: m.row, to: m.to }, clientName: 'campaign-engine', sessionId: null }, async () => {
        const callback = await statusCallback();
        const outcome = await pipeline.sendMessage(
          campaignMessage(m, firstContactConfirmed()),
          () =>
            gateway.createMessage({
              to: address(m),
              ...(sender(m) && { from: sender(m) }),
              ...(m.messagingServiceSid && { messagingServiceSid: m.messagingServiceSid }),
              ...(m.body !== undefined && { body: m.body }),
              ...(m.contentSid && { contentSid: m.contentSid, contentVariables: JSON.stringify(m.contentVariables ?? {}) }),
              ...(callback && { statusCallback: callback }),
            }),
        );
        return { sid: outcome.dryRun ? `DRY-RUN-${m.campaignId}-${m.row}` : outcome.result.sid };
      }),
    findSent: async (m, since) => {
      // The recipient's messages since the attempt began, newest first; a queued message has
      // no date_sent yet, so this filters by creation time itself rather than Twilio's DateSent.
      const page = await gateway.listMessages({ to: address(m) }, 50);
      const found = page.messages.find(
        (x) =>
          x.direction !== 'inbound' &&
          (x.dateCreated?.getTime() ?? 0) >= since.getTime() - 1000 &&
          (!sender(m) || x.from === sender(m) || Boolean(m.messagingServiceSid && x.messagingServiceSid === m.messagingServiceSid)) &&
          (m.body === undefined || x.body === m.body),
      );
      return found?.sid;
    },
  };
}
