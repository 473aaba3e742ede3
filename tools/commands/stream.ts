/** `retailflow stream ...`: publish generated or replayed order lines, and show stream accounting. */
import { Command } from 'commander';
import { applyLocalModeDefaults, loadConfig, type Config } from '../../lib/config';
import { createPubSubEventBus } from '../../lib/eventbus/pubsub';
import { progressBar, type Progress } from '../../lib/progress';
import { publishedTotal, recordPublish, streamTotals, type StreamTotals } from '../../lib/stream/accounting';
import { DEFAULT_START, generateLines, loadProfile, nextGeneratedInvoice, take } from '../../lib/stream/generator';
import { publishLines, type OutboundLine, type PublishStats } from '../../lib/stream/publisher';
import { planReplay } from '../../lib/stream/replay';
import { ensureStreamTopology } from '../../lib/stream/topology';
import { CliError, isoDate, nonNegativeInt, positiveInt, positiveNumber, requirePubSub, withWarehouse } from './common';

/** Runs longer than this many lines (or seconds) get a progress bar. */
const PROGRESS_MIN_LINES = 10_000;






/** Creates the topology, publishes, records the count in the publish log, prints a summary. */
async function publishAndReport(
  config: Config,
  source: string,
  lines: Iterable<OutboundLine>,
  opts: { rate?: number; durationMs?: number; expected: number; json: boolean },
): Promise<PublishStats> {
  await requirePubSub(config);
  const bus = createPubSubEventBus({ projectId: config.pubsub.projectId, emulatorHost: config.pubsub.emulatorHost });
  let bar: Progress | undefined;
  let stop = false;
  const onSigint = (): void => {
    stop = true;
  };
  // Ctrl-C or a SIGTERM (a service manager, `timeout`): stop publishing, flush, record, report.
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  try {
    await ensureStreamTopology(bus, config.stream);
    if (!opts.json && opts.expected >= PROGRESS_MIN_LINES) bar = progressBar(`publish ${source}`, opts.expected);
    const stats = await publishLines(bus, lines, {
      topic: config.stream.topic,
      source,
      rate: opts.rate,
      durationMs: opts.durationMs,
      onProgress: (n) => bar?.update(n),
      stopRequested: () => stop,
    });
    bar?.finish();
    recordPublish(config.runDir, { at: new Date().toISOString(), source, topic: config.stream.topic, published: stats.published, failed: stats.failed, seconds: stats.seconds });
    if (opts.json) console.log(JSON.stringify(stats));
    else {
      console.log(`published ${stats.published} lines to ${config.stream.topic} in ${stats.seconds.toFixed(1)} s (${Math.round(stats.rate)} lines/s)${stop ? ', stopped early' : ''}`);
      if (stats.failed > 0) console.log(`${stats.failed} publishes failed; first error: ${stats.firstError}`);
    }
    if (stats.failed > 0) process.exitCode = 1;
    return stats;
  } finally {
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigint);
    await bus.close();
  }
}

export function streamCommand(): Command {
  const cmd = new Command('stream').description('Streaming: publish order lines to Pub/Sub (the consumer stores them in orders_stream) and show accounting.');

  cmd.command('generate')
    .description('Publish synthetic order lines sampled from the real data in orders_raw (reproducible by --seed).')
    .option('-r, --rate <lines/s>', 'lines per second (default: as fast as possible)', positiveNumber)
    .option('-n, --count <n>', 'lines to publish', positiveInt)
    .option('-d, --duration <seconds>', 'publish for this long (needs --rate or --count to be bounded otherwise)', positiveNumber)
    .option('-s, --seed <n>', 'random seed (default 42; with --live a new one per run)', nonNegativeInt)
    .option('--start <YYYY-MM-DD>', 'first simulated invoice day', isoDate, DEFAULT_START)
    .option('--live', 'live orders: stamped with the shop\'s current time (SHOP_TIMEZONE), until Ctrl-C (or --count/--duration)', false)
    .option('--json', 'print the result as JSON', false)
    .addHelpText('after', [
      '',
      'Needs the data loaded (retailflow ingest) and Pub/Sub (npm start). Examples:',
      '  retailflow stream generate --rate 2000 --duration 30 --seed 7',
      '  retailflow stream generate --live --rate 50      # today\'s orders, as they happen; Ctrl-C stops',
      'Generated invoices are 9-digit numbers from 900000000, a range real invoices never use; --live',
      'continues after the highest one already stored.',
    ].join('\n'))
    .action(async (opts: { rate?: number; count?: number; duration?: number; seed?: number; start: string; live: boolean; json: boolean }) => {
      if (!opts.live && opts.count === undefined && opts.duration === undefined) throw new CliError('give --count or --duration (or --live to run until stopped)');
      if (opts.live && opts.rate === undefined) throw new CliError('--live needs --rate (lines per second), e.g. --live --rate 50');
      applyLocalModeDefaults();
      const config = loadConfig();
      const { profile, firstInvoice } = await withWarehouse(config, async (wh) => ({
        profile: await loadProfile(wh),
        firstInvoice: opts.live ? await nextGeneratedInvoice(wh) : 0,
      }));
      // Event ids come from the seed: a live run gets a fresh one, or a second run would be all duplicates.
      const seed = opts.seed ?? (opts.live ? Date.now() % 2 ** 31 : 42);
      const live = opts.live ? { timeZone: config.shop.timeZone } : undefined;
      const all = generateLines(profile, { seed, start: opts.start, live, firstInvoice });
      const lines = opts.count !== undefined ? take(all, opts.count) : all;
      const expected = opts.count ?? (opts.rate && opts.duration ? Math.round(opts.rate * opts.duration) : 0);
      if (opts.live && !opts.json) console.log(`live orders for ${config.shop.timeZone} at ${opts.rate} lines/s (seed ${seed}); Ctrl-C stops`);
      await publishAndReport(config, opts.live ? 'live' : 'generator', lines, { rate: opts.rate, durationMs: opts.duration && opts.duration * 1000, expected, json: opts.json });
    });

  cmd.command('replay')
    .description('Publish one real historical day from orders_raw in time order, sped up.')
    .requiredOption('--date <YYYY-MM-DD>', 'the day to replay', isoDate)
    .option('--speed <x>', 'speed-up factor (60: one hour of the day per minute)', positiveNumber, 60)
    .option('--json', 'print the result as JSON', false)
    .addHelpText('after', '\nExample:\n  retailflow stream replay --date 2011-12-09 --speed 60')
    .action(async (opts: { date: string; speed: number; json: boolean }) => {
      applyLocalModeDefaults();
      const config = loadConfig();
      const plan = await withWarehouse(config, (wh) => planReplay(wh, opts.date, opts.speed));
      if (plan.lines.length === 0) throw new CliError(`no lines on ${opts.date} in orders_raw: load the data first ("retailflow ingest")`);
      if (!opts.json) console.log(`replaying ${plan.lines.length} lines of ${opts.date} at ${opts.speed}x: about ${(plan.durationMs / 1000).toFixed(0)} s`);
      await publishAndReport(config, `replay-${opts.date}`, plan.lines, { expected: plan.lines.length, json: opts.json });
    });

  cmd.command('stats')
    .description('Totals of the stream: stored, duplicates, dead-lettered (durable, from the warehouse), and rates.')
    .option('--json', 'print as JSON', false)
    .addHelpText('after', '\nAsks the running consumer first (GET /stats on STREAM_HEALTH_PORT), which has the warehouse open\nalready; without a consumer it reads the warehouse directly.')
    .action(async (opts: { json: boolean }) => {
      applyLocalModeDefaults();
      const config = loadConfig();
      const totals = (await totalsFromConsumer(config)) ?? (await withWarehouse(config, (wh) => streamTotals(wh)));
      const published = publishedTotal(config.runDir, config.stream.topic);
      if (opts.json) return console.log(JSON.stringify({ ...totals, publishedLogged: published }));
      printTotals(totals, published);
    });
  return cmd;
}

async function totalsFromConsumer(config: Config): Promise<StreamTotals | undefined> {
  const { healthHost, healthPort } = config.stream;
  try {
    const res = await fetch(`http://${healthHost}:${healthPort}/stats`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { totals?: StreamTotals };
    return body.totals;
  } catch {
    return undefined; // no consumer running
  }
}

function printTotals(t: StreamTotals, published: number): void {
  const rows: Array<[string, string]> = [
    ['stored', String(t.stored)],
    ['duplicates', String(t.duplicates)],
    ['dead-lettered', String(t.deadLettered)],
    ['accounted (sum)', String(t.accounted)],
    ['high-value lines', String(t.highValue)],
    ['published (log)', published > 0 ? `${published}  (pending: ${Math.max(0, published - t.accounted)})` : '(no publish log)'],
    ['overall rate', `${t.overallRate.toFixed(1)} msg/s (${t.firstAt ?? '-'} .. ${t.lastAt ?? '-'})`],
    ['last 60 s', `stored ${t.recentRate.stored.toFixed(1)}/s, duplicates ${t.recentRate.duplicates.toFixed(1)}/s, dead-lettered ${t.recentRate.deadLettered.toFixed(1)}/s`],
  ];
  for (const [k, v] of rows) console.log(`  ${k.padEnd(18)} ${v}`);
}
