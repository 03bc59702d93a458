/**
 * Messaging business logic: checks that need no network (E.164, length, schedule window,
 * senders), then the send pipeline (opt-outs, policy, reservation), which makes the one
 * gateway call. No MCP types here.
 */
import { ToolFailure } from '../errors/tool-failure.js';
import type { CreateMessageRequest, MessagePage, TwilioGateway } from '../gateway/twilio-gateway.js';
import type { SendPipeline } from '../pipeline/send-pipeline.js';
import type { OutgoingMessage } from '../policy/send-guard.js';
import { lazy } from '../util/lazy.js';
import { toCompactMessageView, toMessageView, type CompactMessageView, type MessageView } from './message-view.js';
import { decodePageToken, encodePageToken } from './page-token.js';

// libphonenumber metadata and the segment calculator load on the first send, not at start.
const phone = lazy(() => import('../domain/phone.js'));
const segments = lazy(() => import('../domain/segments.js'));

export const MAX_BODY_CHARS = 1600;
const MIN_SCHEDULE_MS = 15 * 60 * 1000;
const MAX_SCHEDULE_MS = 35 * 24 * 60 * 60 * 1000;
/** Bound on pages read per list call when filtering by status (which Twilio cannot do). */
const MAX_PAGES_SCANNED = 10;

export interface MessagingDefaults {
  defaultFrom: string | undefined;
  messagingServiceSid: string | undefined;
  whatsappFrom: string | undefined;
  /**
   * TWILIO_STATUS_CALLBACK_URL, else this server's receiver once it has a public URL.
   * Async because on the sandbox the receiver starts with the sandbox, on first use.
   */
  statusCallbackUrl: () => Promise<string | undefined>;
}

/** Flags that ride along with a send and only the guard reads. */
interface GuardFlags {
  transactional?: boolean;
  allow_duplicate?: boolean;
}

export interface SendOptions {
  /** The user confirmed a first contact (elicitation answered yes). */
  firstContactConfirmed?: boolean;
}

export interface SendSmsInput extends GuardFlags {
  to: string;
  body: string;
  from?: string;
  media_url?: string[];
  status_callback?: string;
  messaging_service_sid?: string;
  send_at?: string;
  /** Twilio's SmartEncoded: replace characters that have GSM-7 look-alikes. */
  smart_encoding?: boolean;
}

export interface SendWhatsappInput extends GuardFlags {
  to: string;
  body?: string;
  content_sid?: string;
  content_variables?: Record<string, string>;
  from?: string;
  media_url?: string[];
  status_callback?: string;
}

export interface ListMessagesInput {
  to?: string;
  from?: string;
  date_sent_after?: string;
  date_sent_before?: string;
  status?: string;
  limit?: number;
  page_token?: string;
}

export interface SendResult extends MessageView {
  encoding: 'GSM-7' | 'UCS-2' | null;
  segments: number | null;
  /** Present in dry-run mode: everything was checked, nothing was sent. */
  dry_run?: true;
  estimated_cost_usd?: number;
  cost_source?: 'policy' | 'pricing_api' | 'price_table';
  /** When a scheduled message will go out (UTC). */
  scheduled_at?: string;
  /** The body is UCS-2 only because of characters with GSM-7 look-alikes: which, and what they cost. */
  gsm_lookalikes?: { characters: string[]; segments: number; segments_if_replaced: number; next_step: string };
  /** Allowed, but worth knowing (near a cap, quiet hours overridden, possible duplicate sent anyway). */
  warnings?: string[];
}

/** Where the service learns what the store remembers of a send (its scheduled time). */
export interface SendMemory {
  scheduledAt(sid: string): Promise<Date | undefined>;
}

export class MessagingService {
  constructor(
    private readonly gateway: TwilioGateway,
    private readonly defaults: MessagingDefaults,
    private readonly pipeline: SendPipeline,
    private readonly memory?: SendMemory,
  ) {}

  async sendSms(input: SendSmsInput, options: SendOptions = {}): Promise<SendResult> {
    const { requireE164 } = await phone();
    const { from: fromInput, messagingServiceSid } = this.pickSender(input);
    const from = fromInput ? requireE164('from', fromInput) : undefined;
    const to = requireE164('to', input.to, from ?? this.defaults.defaultFrom);
    checkBodyLength(input.body);
    // An empty send_at is a mistake, not "now": refuse it rather than send at once.
    const sendAt = input.send_at !== undefined ? checkSchedule(input.send_at, messagingServiceSid) : undefined;

    return this.create(
      {
        to,
        from,
        messagingServiceSid,
        body: input.body,
        mediaUrl: input.media_url,
        statusCallback: input.status_callback,
        sendAt,
        ...(input.smart_encoding && { smartEncoded: true }),
      },
      { channel: input.media_url?.length ? 'mms' : 'sms', policyBody: input.body, flags: input, options },
    );
  }

  async sendWhatsapp(input: SendWhatsappInput, options: SendOptions = {}): Promise<SendResult> {
    const { requireE164 } = await phone();
    const hasBody = input.body !== undefined && input.body.length > 0;
    const hasMedia = (input.media_url?.length ?? 0) > 0;
    if (hasBody && input.content_sid) {
      throw new ToolFailure({
        message: 'Give either "body" or "content_sid", not both.',
        nextStep: 'A template (content_sid) carries its own text; put the values in content_variables.',
      });
    }
    if (!hasBody && !hasMedia && !input.content_sid) {
      throw new ToolFailure({
        message: 'Nothing to send: give "body" (free text), "media_url" (media), or "content_sid" (an approved template).',
        twilioCode: 21602,
        nextStep:
          'Free text and media only reach people who messaged you in the last 24 hours; outside that window send an approved template with content_sid and content_variables.',
      });
    }
    if (input.content_variables && !input.content_sid) {
      throw new ToolFailure({ message: '"content_variables" needs "content_sid".', nextStep: 'Pass the template SID (HX…) in content_sid.' });
    }
    const fromInput = input.from ?? this.defaults.whatsappFrom;
    if (!fromInput) {
      throw new ToolFailure({
        message: 'No WhatsApp sender: "from" was not given and TWILIO_WHATSAPP_NUMBER is not set.',
        twilioCode: 21603,
        nextStep: 'Pass "from" (your WhatsApp-enabled number) or set TWILIO_WHATSAPP_NUMBER.',
      });
    }
    const from = `whatsapp:${requireE164('from', stripWhatsapp(fromInput))}`;
    const to = `whatsapp:${requireE164('to', stripWhatsapp(input.to), stripWhatsapp(fromInput))}`;
    if (hasBody) checkBodyLength(input.body!);

    return this.create(
      {
        to,
        from,
        body: hasBody ? input.body : undefined,
        mediaUrl: input.media_url,
        contentSid: input.content_sid,
        contentVariables: input.content_variables ? JSON.stringify(input.content_variables) : undefined,
        statusCallback: input.status_callback,
      },
      // A template send is identified for the duplicate check by template and variables, media by its URLs.
      { channel: 'whatsapp', policyBody: whatsappContentKey(input, hasBody), flags: input, options },
    );
  }

  async getMessage(sid: string): Promise<MessageView> {
    return this.withSchedule(toMessageView(await this.gateway.fetchMessage(sid)));
  }

  /** Twilio's message resource has no send time for a scheduled message: the store remembers it. */
  private async withSchedule<V extends { message_sid: string; status: string }>(view: V): Promise<V & { scheduled_at?: string }> {
    if (view.status !== 'scheduled' || !this.memory) return view;
    const at = await this.memory.scheduledAt(view.message_sid).catch(() => undefined);
    return at ? { ...view, scheduled_at: at.toISOString() } : view;
  }

  async cancelMessage(sid: string): Promise<MessageView> {
    const current = await this.gateway.fetchMessage(sid);
    if (current.status !== 'scheduled') {
      throw new ToolFailure({
        message: `Message ${sid} is "${current.status}", not "scheduled": only scheduled messages can be canceled.`,
        twilioCode: 30409,
        nextStep: current.status === 'canceled' ? 'Nothing to do: it is already canceled.' : 'A message already on its way cannot be recalled.',
      });
    }
    return toMessageView(await this.gateway.updateMessage(sid, { status: 'canceled' }));
  }

  async listMessages(input: ListMessagesInput): Promise<{ messages: CompactMessageView[]; next_page_token: string | null }> {
    const resume = input.page_token !== undefined ? decodePageToken(input.page_token) : undefined;
    if (resume) {
      // A token carries the listing it continues; different filters would silently be ignored.
      const given = (['to', 'from', 'date_sent_after', 'date_sent_before', 'status'] as const).filter((k) => input[k] !== undefined);
      if (given.length > 0) {
        throw new ToolFailure({
          message: `page_token continues an earlier listing with its own filters; ${given.join(', ')} cannot be given with it.`,
          nextStep: 'Pass only page_token to read the next page, or drop page_token to start a new listing with these filters.',
        });
      }
    }
    const limit = resume ? resume.limit : (input.limit ?? 20);
    const status = resume ? resume.status : input.status;
    const filter = {
      to: input.to,
      from: input.from,
      dateSentAfter: input.date_sent_after ? parseIsoTime('date_sent_after', input.date_sent_after) : undefined,
      dateSentBefore: input.date_sent_before ? parseIsoTime('date_sent_before', input.date_sent_before) : undefined,
    };
    // Without a status filter one Twilio page of `limit` is exact; with one, read wider pages and filter here.
    const pageSize = status ? 100 : limit;
    let page: MessagePage = resume ? await this.gateway.listMessagesAt(resume.url) : await this.gateway.listMessages(filter, pageSize);
    let skip = resume?.skip ?? 0;
    const found: CompactMessageView[] = [];

    for (let scanned = 1; ; scanned++) {
      for (let i = skip; i < page.messages.length; i++) {
        const m = page.messages[i]!;
        if (status && m.status !== status) continue;
        found.push(await this.withSchedule(toCompactMessageView(m)));
        if (found.length === limit) {
          const more = i + 1 < page.messages.length;
          const next = more ? { url: page.pageUrl, skip: i + 1, status, limit } : page.nextPageUrl ? { url: page.nextPageUrl, skip: 0, status, limit } : undefined;
          return { messages: found, next_page_token: next ? encodePageToken(next) : null };
        }
      }
      if (!page.nextPageUrl) return { messages: found, next_page_token: null };
      if (scanned >= MAX_PAGES_SCANNED) {
        return { messages: found, next_page_token: encodePageToken({ url: page.nextPageUrl, skip: 0, status, limit }) };
      }
      page = await this.gateway.listMessagesAt(page.nextPageUrl);
      skip = 0;
    }
  }

  /**
   * An explicit sender wins; otherwise the default number, because its behaviour is the
   * easiest to predict. The default messaging service is used when there is no default
   * number, or to schedule (Twilio only schedules through a messaging service).
   */
  private pickSender(input: SendSmsInput): { from: string | undefined; messagingServiceSid: string | undefined } {
    if (input.messaging_service_sid) return { from: input.from, messagingServiceSid: input.messaging_service_sid };
    if (input.from) return { from: input.from, messagingServiceSid: undefined };
    if (input.send_at && this.defaults.messagingServiceSid) return { from: undefined, messagingServiceSid: this.defaults.messagingServiceSid };
    if (this.defaults.defaultFrom) return { from: this.defaults.defaultFrom, messagingServiceSid: undefined };
    if (this.defaults.messagingServiceSid) return { from: undefined, messagingServiceSid: this.defaults.messagingServiceSid };
    throw new ToolFailure({
      message: 'No sender: "from" was not given and no default sender is configured.',
      twilioCode: 21603,
      nextStep: 'Pass "from" (one of your Twilio numbers, E.164) or set TWILIO_PHONE_NUMBER or TWILIO_MESSAGING_SERVICE_SID.',
    });
  }

  /** Through the pipeline: opt-outs, policy, reservation, then the one Twilio call, settled. */
  private async create(
    request: CreateMessageRequest,
    send: { channel: OutgoingMessage['channel']; policyBody: string | undefined; flags: GuardFlags; options: SendOptions },
  ): Promise<SendResult> {
    const segmentsLib = request.body ? await segments() : undefined;
    const counted = request.body ? segmentsLib!.countSegments(request.body, { smartEncoding: request.smartEncoded }) : undefined;
    request.statusCallback ??= await this.defaults.statusCallbackUrl();
    const outcome = await this.pipeline.sendMessage(
      {
        channel: send.channel,
        to: request.to,
        from: request.from,
        messagingServiceSid: request.messagingServiceSid,
        body: send.policyBody,
        segments: send.channel === 'sms' ? (counted?.segments ?? 1) : 1,
        transactional: send.flags.transactional,
        allowDuplicate: send.flags.allow_duplicate,
        firstContactConfirmed: send.options.firstContactConfirmed,
        sendAt: request.sendAt,
      },
      () => this.gateway.createMessage(request),
    );
    // Only a UCS-2 body can owe its encoding to look-alikes: a GSM-7 one is not counted again.
    const lookalikes = request.body && !request.smartEncoded && send.channel === 'sms' && counted?.encoding === 'UCS-2' ? segmentsLib!.gsmLookalikes(request.body) : undefined;
    const extras = {
      ...(request.sendAt && { scheduled_at: request.sendAt.toISOString() }),
      ...(lookalikes && {
        gsm_lookalikes: {
          ...lookalikes,
          next_step: `Resend with smart_encoding: true (or replace ${lookalikes.characters.map((c) => JSON.stringify(c)).join(', ')}) to pay for ${lookalikes.segments_if_replaced} segment${lookalikes.segments_if_replaced === 1 ? '' : 's'} instead of ${lookalikes.segments}.`,
        },
      }),
      ...(outcome.decision.warnings.length > 0 && { warnings: outcome.decision.warnings }),
    };
    if (outcome.dryRun) return { ...dryRunResult(request, counted, outcome.decision.estimatedCost), ...(outcome.decision.priceSource && { cost_source: outcome.decision.priceSource }), ...extras };
    const record = outcome.result;
    return {
      ...toMessageView(record),
      encoding: counted?.encoding ?? null,
      segments: counted?.segments ?? record.numSegments,
      estimated_cost_usd: round(outcome.decision.estimatedCost),
      ...(outcome.decision.priceSource && { cost_source: outcome.decision.priceSource }),
      ...extras,
    };
  }
}

/** What the duplicate check compares for a WhatsApp send: the text, the template with its values, or the media. */
function whatsappContentKey(input: SendWhatsappInput, hasBody: boolean): string {
  if (input.content_sid) return `${input.content_sid}:${JSON.stringify(input.content_variables ?? {})}`;
  const media = input.media_url?.length ? `\n${input.media_url.join('\n')}` : '';
  return `${hasBody ? input.body : ''}${media}`;
}

const round = (n: number) => Math.round(n * 100_000) / 100_000;

/** What would have been sent: every check passed, Twilio was not called. */
function dryRunResult(request: CreateMessageRequest, counted: { encoding: 'GSM-7' | 'UCS-2'; segments: number } | undefined, cost: number): SendResult {
  return {
    message_sid: 'DRY-RUN (not sent)',
    account_sid: '',
    from: request.from ?? null,
    to: request.to,
    body: request.body ?? null,
    status: 'dry_run',
    direction: 'outbound-api',
    num_segments: counted?.segments ?? 1,
    num_media: request.mediaUrl?.length ?? 0,
    price: null,
    price_unit: null,
    error_code: null,
    error_message: null,
    messaging_service_sid: request.messagingServiceSid ?? null,
    date_created: null,
    date_sent: null,
    date_updated: null,
    encoding: counted?.encoding ?? null,
    segments: counted?.segments ?? null,
    dry_run: true,
    estimated_cost_usd: round(cost),
  };
}

function stripWhatsapp(value: string): string {
  return value.trim().replace(/^whatsapp:/i, '');
}

function checkBodyLength(body: string): void {
  if (body.length > MAX_BODY_CHARS) {
    throw new ToolFailure({
      message: `The body is ${body.length} characters; the limit is ${MAX_BODY_CHARS}.`,
      twilioCode: 21617,
    });
  }
}

function parseIsoTime(field: string, value: string): Date {
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) {
    throw new ToolFailure({
      message: `"${field}" is not a valid time: "${value}".`,
      nextStep: 'Use ISO 8601, e.g. 2026-11-24T15:30:00Z.',
    });
  }
  return at;
}

/** ISO 8601 with a zone: Z or ±HH:MM (a time without one means a different moment on every machine). */
const ZONED_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

function checkSchedule(sendAt: string, messagingServiceSid: string | undefined): Date {
  if (!ZONED_TIME.test(sendAt.trim())) {
    throw new ToolFailure({
      message: sendAt.trim() === '' ? 'send_at is empty.' : `send_at "${sendAt}" has no time zone (or is not ISO 8601).`,
      nextStep: 'Give an ISO 8601 time with its zone, e.g. "2026-12-01T15:30:00Z" (UTC) or "2026-12-01T09:30:00-06:00"; omit send_at to send now.',
    });
  }
  const at = parseIsoTime('send_at', sendAt.trim());
  if (!messagingServiceSid) {
    throw new ToolFailure({ message: 'Scheduling (send_at) needs a messaging service.', twilioCode: 35118 });
  }
  const ahead = at.getTime() - Date.now();
  if (ahead < MIN_SCHEDULE_MS || ahead > MAX_SCHEDULE_MS) {
    throw new ToolFailure({
      message: `send_at ${sendAt} is ${Math.round(ahead / 60000)} minutes from now; it must be 15 minutes to 35 days ahead.`,
      twilioCode: 35114,
    });
  }
  return at;
}
