#!/usr/bin/env node
/**
 * retailflow: the operator's command line. Run `retailflow --help` (or `npm run cli -- --help`).
 * Commands work directly on the configured warehouse; they do not need the stack to be running.
 */
import * as path from 'node:path';
import { Command } from 'commander';
import { applyLocalModeDefaults, loadConfig } from '../lib/config';
import { ExpectedError } from '../lib/errors';
import { countLines } from '../lib/ingest/csv';
import { loadOrdersFile } from '../lib/ingest/load';
import { progressBar } from '../lib/progress';
import { summarizeOrders, summaryToMarkdown, writeSummaryCsv } from '../lib/summary';
import { analyticsCommand } from './commands/analytics';
import { withWarehouse } from './commands/common';
import { dqCommand } from './commands/dq';
import { modelsCommand } from './commands/models';
import { monitorCommand } from './commands/monitor';
import { streamCommand } from './commands/stream';

// Local mode must never reach for the cloud metadata server (cloud mode keeps ADC working).
applyLocalModeDefaults();


export function buildCli(): Command {
  const program = new Command('retailflow')
    .description('E-commerce analytics on Temporal: ingest, analytics, models, data quality, streaming.')
    .showHelpAfterError();

  program
    .command('ingest')
    .description('Load an Online Retail CSV (plain or .gz) into orders_raw; malformed lines go to orders_quarantine.')
    .option('-f, --file <path>', 'CSV file to load (default: DATA_CSV)')
    .option('--force', 'reload even if this file content was already loaded', false)
    .option('--json', 'print the result as JSON', false)
    .action(async (opts: { file?: string; force: boolean; json: boolean }) => {
      const file = path.resolve(opts.file ?? loadConfig().dataCsv);
      const bar = opts.json ? undefined : progressBar('ingest', await countLines(file).catch(() => 0));
      const result = await withWarehouse(loadConfig(), (wh) => loadOrdersFile(wh, file, { force: opts.force, onProgress: (n) => bar?.update(n) }));
      bar?.finish();
      if (opts.json) return console.log(JSON.stringify(result));
      const verb = result.status === 'already-loaded' ? 'already loaded (use --force to reload)' : 'loaded';
      console.log(`${file}: ${verb}: ${result.rowsLoaded} rows, ${result.rowsQuarantined} quarantined, ${result.durationMs} ms`);
      if (result.rowsQuarantined > 0) console.log('see the table orders_quarantine for the lines and reasons');
    });

  program
    .command('summary')
    .description('Summarise orders_raw per column and write data/dataset_summary.csv.')
    .option('-o, --out <path>', 'CSV output path', path.join(loadConfig().dataDir, 'dataset_summary.csv'))
    .option('--markdown', 'also print a Markdown table', false)
    .action(async (opts: { out: string; markdown: boolean }) => {
      const summary = await withWarehouse(loadConfig(), (wh) => summarizeOrders(wh));
      writeSummaryCsv(summary, opts.out);
      console.log(`wrote ${opts.out}`);
      if (opts.markdown) console.log(summaryToMarkdown(summary));
    });

  program.addCommand(analyticsCommand());
  program.addCommand(dqCommand());
  program.addCommand(modelsCommand());
  program.addCommand(streamCommand());
  program.addCommand(monitorCommand());
  return program;
}

/**
 * The one line an expected failure gets: our own ExpectedErrors, and the few library errors that
 * mean "a dependency is missing" rather than a bug. Anything else keeps its stack (a bug report).
 */
export function expectedFailureMessage(err: unknown): string | undefined {
  if (err instanceof ExpectedError) return err.message;
  const message = err instanceof Error ? err.message : '';
  if (/Could not load the default credentials/.test(message)) {
    return 'Google Cloud credentials not found: set GOOGLE_APPLICATION_CREDENTIALS or run "gcloud auth application-default login"; for the local platform leave WAREHOUSE unset or set RETAILFLOW_ENV=local';
  }
  return undefined;
}

async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    const line = expectedFailureMessage(err);
    console.error(line === undefined ? err : `error: ${line}`);
    process.exit(1);
  }
}

if (require.main === module) void main(process.argv);
