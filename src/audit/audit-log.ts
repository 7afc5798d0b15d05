import { prepared, type Queryable } from '../store/db.ts';
import type { AuditRow } from './audit-event.ts';

const COLUMNS = [
  'recorded', 'compartment', 'patient_nin', 'action', 'interaction', 'outcome', 'agent_kind', 'agent_id',
  'agent_org', 'on_behalf_of', 'purpose_of_use', 'access_basis', 'emergency', 'request_id', 'content',
] as const;
const ROWS_PER_STATEMENT = 1000;

/**
 * The durable, append-only audit log. `append` resolves only once the rows are committed, so a
 * response sent after it is always backed by its audit records. Concurrent requests share one
 * commit (group commit): while one insert runs, the next batch gathers.
 */
export class AuditLog {
  private queue: { rows: AuditRow[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing = false;

  constructor(private readonly db: Queryable) {}

  append(rows: AuditRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length) {
        const batch = this.queue;
        this.queue = [];
        const rows = batch.flatMap((b) => b.rows);
        try {
          for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) await this.insert(rows.slice(i, i + ROWS_PER_STATEMENT));
          for (const b of batch) b.resolve();
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  // One statement is atomic and, on PostgreSQL with synchronous_commit on, durable when it returns.
  private async insert(rows: AuditRow[]): Promise<void> {
    const values: unknown[] = [];
    const tuples = rows.map((r) => {
      const ph = COLUMNS.map((c) => {
        values.push(r[c]);
        return `$${values.length}`;
      });
      return `(${ph.join(', ')})`;
    });
    const text = `insert into audit_event (${COLUMNS.join(', ')}) values ${tuples.join(', ')}`;
    // Group commits of a busy server repeat a few small sizes: those are prepared once per connection.
    await this.db.query(rows.length <= 16 ? prepared(text) : text, values);
  }
}
