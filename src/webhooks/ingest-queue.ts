/**
 * Group commit: webhooks that arrive together are written in one transaction, so the
 * fsync that makes "200 = on disk" true is paid once per batch, not once per request.
 * A request is answered only after the transaction that holds it has committed.
 *
 * One batch is written at a time: webhooks that arrive while a batch commits wait for the
 * next one (which then holds all of them). So a store whose commit awaits (a networked
 * database) sees batches in arrival order, never two of this queue's at once.
 */
import type { Ingest, IngestResult, Store, WebhookEvent } from '../store/store.js';

interface Pending {
  item: { event: WebhookEvent; change: Ingest };
  resolve: (result: IngestResult) => void;
  reject: (error: unknown) => void;
}

const MAX_BATCH = 500;

export class IngestQueue {
  private pending: Pending[] = [];
  private scheduled = false;
  private writing = false;

  constructor(private readonly store: () => Promise<Store>) {}

  enqueue(event: WebhookEvent, change: Ingest): Promise<IngestResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item: { event, change }, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.writing || this.pending.length === 0) return;
    this.scheduled = true;
    // setImmediate lets every request already read in this tick join the batch.
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.writing = true;
    try {
      await this.write(this.pending.splice(0, MAX_BATCH));
    } finally {
      this.writing = false;
      this.schedule();
    }
  }

  /** Settles every request of the batch; never throws. */
  private async write(batch: Pending[]): Promise<void> {
    let store: Store;
    try {
      store = await this.store();
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    try {
      const results = await store.ingestBatch(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // The batch rolled back as a whole. Commit each on its own, so one webhook the store
      // refuses fails alone instead of failing (and, through Twilio's retries, re-failing)
      // every webhook that happened to arrive with it.
      for (const p of batch) {
        try {
          p.resolve((await store.ingestBatch([p.item]))[0]!);
        } catch (itemError) {
          p.reject(itemError);
        }
      }
    }
  }
}
