/**
 * `retailflow monitor`: one table, one row per part of the running platform (the successor of the
 * seed's monitor.py). Every check runs in parallel, each bounded in time (--timeout, 2 s); a check
 * that does not answer in time is a FAIL row "timed out after 2 s". The DuckDB warehouse check
 * runs after the others (lib/monitor/warehouse.ts says why), so a run takes at most twice that. Exit code 1 when a row is
 * FAIL, 0 otherwise (WARN rows, e.g. a paused Schedule or a high backlog, do not fail it).
 * Each run appends one JSON line to RUN_DIR/monitor.log (rotated like the stack's logs).
 * Endpoints come from loadConfig(), which fills them from run/stack.env: nothing to export.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { temporalChecks } from '../../clients/monitor';
import { loadConfig, type Config } from '../../lib/config';
import { hostCheck, stackCheck } from '../../lib/monitor/host';
import { pubsubCheck } from '../../lib/monitor/pubsub';
import { exitCodeOf, logRecord, renderTable, runChecks, seconds, type Check, type MonitorReport } from '../../lib/monitor/rows';
import { apiCheck, consumerCheck, consumerStatsOnce, webUiCheck } from '../../lib/monitor/services';
import { warehouseCheck } from '../../lib/monitor/warehouse';
import { LogSink } from '../../lib/process/output';
import { publishedTotal } from '../../lib/stream/accounting';
import { positiveNumber } from './common';

const DEFAULT_WATCH_S = 5;
const DEFAULT_TIMEOUT_S = 2;

export function monitorLogPath(config: Config): string {
  return path.join(config.runDir, 'monitor.log');
}

/** Every check of one monitor run, in table order, and what to close afterwards. */
export function monitorChecks(config: Config, timeoutMs: number, now: () => Date = () => new Date()): { checks: Check[]; close: () => Promise<void> } {
  const { temporal: t, stream: s, api } = config;
  const temporal = temporalChecks({ address: t.address, namespace: t.namespace, taskQueue: t.taskQueue, security: t.security }, timeoutMs, now);
  const [frontend, taskQueues, ...schedules] = temporal.checks;
  const stats = consumerStatsOnce(`http://${s.healthHost}:${s.healthPort}/stats`, timeoutMs);
  const published = (): number => publishedTotal(config.runDir, s.topic);
  const pubsubTarget = { projectId: config.pubsub.projectId, emulatorHost: config.pubsub.emulatorHost, subscription: s.subscription, deadLetterSubscription: s.deadLetterSubscription };
  return {
    checks: [
      frontend,
      webUiCheck(`http://${t.uiHost}:${t.uiPort}/`),
      taskQueues,
      pubsubCheck(pubsubTarget, stats, published, timeoutMs),
      consumerCheck(`http://${s.healthHost}:${s.healthPort}/health`, stats, published, now),
      apiCheck(`http://${api.host}:${api.port}`),
      warehouseCheck(config.warehouse, timeoutMs, now),
      ...schedules,
      stackCheck(path.join(config.runDir, 'stack.json'), now),
      hostCheck(),
    ],
    close: temporal.close,
  };
}

export async function monitorOnce(config: Config, timeoutMs: number): Promise<MonitorReport> {
  const { checks, close } = monitorChecks(config, timeoutMs);
  try {
    return await runChecks(checks, timeoutMs);
  } finally {
    await close().catch(() => undefined);
  }
}

function openLog(config: Config): LogSink {
  const file = monitorLogPath(config);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return new LogSink(file, { maxBytes: config.logs.maxBytes, maxFiles: config.logs.maxFiles }, (err) => console.error(`monitor: cannot write ${file}: ${err.message}`));
}

function watchSeconds(value: string): number {
  const n = positiveNumber(value);
  if (n < 0.5) throw new InvalidArgumentError(`expected at least 0.5 seconds, got "${value}"`);
  return n;
}

/** Cursor home, each line cleared to its end, the rest of the screen cleared: a redraw without flicker. */
function redraw(text: string): string {
  return `\x1b[H${text.split('\n').map((l) => `${l}\x1b[K`).join('\n')}\n\x1b[J`;
}

export function monitorCommand(): Command {
  return new Command('monitor')
    .description('Health of the running platform in one table (Temporal, task queues, Pub/Sub, consumer, API, warehouse, Schedules, processes, host). Exit code 1 if a row is FAIL.')
    .option('-w, --watch [seconds]', `refresh in place every N seconds (default ${DEFAULT_WATCH_S}) until Ctrl-C`, watchSeconds)
    .option('--json', 'print the report as JSON (with --watch: one line per refresh)', false)
    .option('--timeout <seconds>', 'time limit of each check', positiveNumber, DEFAULT_TIMEOUT_S)
    .addHelpText(
      'after',
      `
Rows: temporal frontend, temporal web ui, task queue <queue>/workflow|activity (pollers as the
server sees them), pubsub and each subscription (backlog estimated: publish log - consumer
totals), consumer (lag, rates), api (health, model), warehouse (last load, newest order line),
schedule <id> (next run, last result), stack and process <part> (state, restarts, RSS), host.
Each run appends a JSON line to RUN_DIR/monitor.log. Examples:
  retailflow monitor
  retailflow monitor --watch 2
  retailflow monitor --json | jq '.rows[] | select(.status != "ok")'`,
    )
    .action(async (opts: { watch?: number | true; json: boolean; timeout: number }) => {
      const config = loadConfig();
      const timeoutMs = Math.round(opts.timeout * 1000);
      const log = openLog(config);
      const record = (report: MonitorReport): void => void log.write(`${JSON.stringify(logRecord(report))}\n`);
      if (opts.watch === undefined) {
        const report = await monitorOnce(config, timeoutMs);
        console.log(opts.json ? JSON.stringify(report) : renderTable(report));
        record(report);
        await log.close();
        // A check that timed out may still hold a socket or a retry timer: do not wait for it.
        process.exit(exitCodeOf(report));
      }
      const intervalMs = Math.round((opts.watch === true ? DEFAULT_WATCH_S : opts.watch) * 1000);
      const tty = Boolean(process.stdout.isTTY) && !opts.json;
      const stop = (): void => {
        if (tty) process.stdout.write('\n');
        void log.close(1_000).finally(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (tty) process.stdout.write('\x1b[2J');
      for (;;) {
        const report = await monitorOnce(config, timeoutMs);
        if (opts.json) console.log(JSON.stringify(report));
        else if (tty) process.stdout.write(redraw(`${renderTable(report)}\n\nevery ${seconds(intervalMs)}; Ctrl-C to stop`));
        else console.log(`${renderTable(report)}\n`);
        record(report);
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    });
}
