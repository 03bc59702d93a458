/**
 * Group commit for a synchronous database (better-sqlite3): calls made in the same turn of
 * the event loop are handed to `commit` together, so they share one transaction and one
 * fsync instead of paying one each, and every caller's promise settles only after `commit`
 * returned, that is after the transaction holding its write committed. `commit` reports an
 * outcome per item (one refused item need not fail the others: each runs in a savepoint);
 * if it throws, the transaction did not commit and every item of the group is rejected.
 */
export type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Runs `work` and captures its result or its error as an Outcome. */
export function outcomeOf<R>(work: () => R): Outcome<R> {
  try {
    return { ok: true, value: work() };
  } catch (error) {
    return { ok: false, error };
  }
}

interface Waiting<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<T, R> {
  private waiting: Array<Waiting<T, R>> = [];
  private scheduled = false;

  constructor(
    private readonly commit: (items: T[]) => Array<Outcome<R>>,
    private readonly options: {
      /**
       * When the group is committed: 'turn' (default) after the current turn of the event
       * loop, so calls arriving from other I/O callbacks of the same turn join; 'microtask'
       * as soon as the running code yields, so only calls made together join (callers
       * released together by an earlier group, say) but no caller waits a turn.
       */
      after?: 'turn' | 'microtask';
      /** Most items in one transaction (a huge burst is committed in several). */
      maxGroup?: number;
    } = {},
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        if (this.options.after === 'microtask') queueMicrotask(() => this.flush());
        else setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything waiting now (also called before the database closes). */
  flush(): void {
    this.scheduled = false;
    while (this.waiting.length > 0) {
      const group = this.waiting.splice(0, this.options.maxGroup ?? 512);
      let outcomes: Array<Outcome<R>>;
      try {
        outcomes = this.commit(group.map((w) => w.item));
      } catch (error) {
        for (const w of group) w.reject(error);
        continue;
      }
      group.forEach((w, i) => {
        const outcome = outcomes[i];
        if (!outcome) w.reject(new Error('group commit: no outcome for an item'));
        else if (outcome.ok) w.resolve(outcome.value);
        else w.reject(outcome.error);
      });
    }
  }
}
