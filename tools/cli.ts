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
  forEachCommand(program, (cmd) => cmd.configureOutput({ outputError: (text, write) => write(`${oneLine(text.replace(/\n$/, ''))}\n`) }));
  return program;
}

/** `fn` on the command and every subcommand (added ones do not inherit output settings). */
export function forEachCommand(cmd: Command, fn: (c: Command) => void): void {
  fn(cmd);
  for (const sub of cmd.commands) forEachCommand(sub, fn);
}

/**
 * An error echoes what the user typed; a newline, a terminal escape, a bidi override (U+202E
 * reorders the line on screen) or a lone surrogate in it would break the one line or fake its
 * content (found by test/fuzz/hostile.test.ts). They are shown escaped, as \u{XXXX}.
 */
export function oneLine(text: string): string {
  return Array.from(text, (c) => {
    const cp = c.codePointAt(0) ?? 0;
    return unsafeOnScreen(cp) ? `\\u{${cp.toString(16).padStart(4, '0')}}` : c;
  }).join('');
}

/** C0 and C1 controls, DEL, bidi marks, embeddings, overrides and isolates, line separators, lone surrogates. */
function unsafeOnScreen(cp: number): boolean {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp === 0x61c || cp === 0x200e || cp === 0x200f
    || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || (cp >= 0xd800 && cp <= 0xdfff);
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
    console.error(line === undefined ? err : `error: ${oneLine(line)}`);
    process.exit(1);
  }
}

if (require.main === module) void main(process.argv);
