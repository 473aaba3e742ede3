/** Worker thread of RandomForestModel.compileOffThread: builds the threshold grid, transfers it back. */
import { parentPort, workerData } from 'node:worker_threads';
import type { TableJob, TableReply } from './forest';
import { ForestTable } from './forest-table';

const job = workerData as TableJob;
try {
  const parts = ForestTable.build(job.forest, job.maxCells)?.toParts() ?? null;
  const transfer = parts ? [parts.cells.buffer, parts.strides.buffer, ...parts.cuts.map((c) => c.buffer)] : [];
  const reply: TableReply = { parts };
  parentPort?.postMessage(reply, transfer as ArrayBuffer[]);
} catch (e) {
  const reply: TableReply = { error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  parentPort?.postMessage(reply);
}
