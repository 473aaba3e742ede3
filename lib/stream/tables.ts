/**
 * Warehouse tables of the streaming pipeline.
 *
 * Every message the consumer takes off the subscription is accounted in exactly one place:
 * - `orders_stream`: one row per stored line, keyed by `event_id` (the dedupe key) and carrying
 *   the Pub/Sub `message_id` that delivered it;
 * - `stream_ledger`: one row per message that was *not* stored: `duplicate` or `dead_lettered`,
 *   keyed by `message_id`, with the reason.
 * A message is written to one table only, so a micro-batch that dies half-way leaves each message
 * either fully accounted or not at all (then it is redelivered and handled again). A redelivered
 * message already present in either table (same message_id) is acked without a second count.
 * Both are written with `insertNew` (unique key, insert-if-absent in one statement), so consumer
 * processes racing on one event or one message store it once.
 */
import { ORDER_LINE_COLUMNS } from '../schema';
import type { TableDef } from '../warehouse/types';

export const ORDERS_STREAM: TableDef = {
  name: 'orders_stream',
  columns: [
    { name: 'event_id', type: 'STRING' },
    { name: 'message_id', type: 'STRING' },
    ...ORDER_LINE_COLUMNS,
    { name: 'line_value', type: 'NUMERIC' },
    { name: 'high_value', type: 'BOOL' },
    /** Predicted revenue of the line by the promoted model; NULL while no model is promoted. */
    { name: 'predicted_revenue', type: 'NUMERIC', nullable: true },
    { name: 'model_version', type: 'STRING', nullable: true },
    { name: 'schema_version', type: 'STRING' },
    { name: 'source', type: 'STRING', nullable: true },
    { name: 'published_at', type: 'TIMESTAMP', nullable: true },
    { name: 'stored_at', type: 'TIMESTAMP' },
    /**
     * The identity of the loaded line this message republishes (stream replay): orders_raw's
     * source_sha256 and line_no. NULL for a new line. order_lines (lib/order-lines.ts) counts a
     * line with an identity found in orders_raw once, as the loaded line.
     */
    { name: 'source_sha256', type: 'STRING', nullable: true, addedLater: true },
    { name: 'source_line_no', type: 'INT64', nullable: true, addedLater: true },
  ],
  key: ['event_id'],
  partitionBy: 'invoice_date',
  clusterBy: ['event_id'],
};

export type LedgerOutcome = 'duplicate' | 'dead_lettered';

export const STREAM_LEDGER: TableDef = {
  name: 'stream_ledger',
  columns: [
    { name: 'message_id', type: 'STRING' },
    { name: 'outcome', type: 'STRING' },
    /** The dedupe key for duplicates; for dead letters, the event_id if one could be read. */
    { name: 'event_id', type: 'STRING', nullable: true },
    { name: 'reason', type: 'STRING', nullable: true },
    { name: 'published_at', type: 'TIMESTAMP', nullable: true },
    { name: 'recorded_at', type: 'TIMESTAMP' },
  ],
  key: ['message_id'],
  clusterBy: ['message_id'],
};

export const STREAM_TABLES: readonly TableDef[] = [ORDERS_STREAM, STREAM_LEDGER];
