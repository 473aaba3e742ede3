/**
 * Hostile strings (SQL fragments, NUL, 10 kB, U+202E, emoji, lone surrogates, newlines, escapes)
 * where users and publishers put text: CLI date, number and ID arguments, the API's query and path
 * parameters and body fields, and stream message fields. Each is refused (a one-line CLI error,
 * a 4xx naming the parameter, a dead letter) or stored verbatim (read back and compared), never
 * executed: the tables are still there with the counts they had. Then the regressions: the
 * concrete cases the fuzzing found.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CommanderError } from 'commander';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { buildApp, type App } from '../../api/app';
import { loadConfig, PROJECT_ROOT } from '../../lib/config';
import { isIsoDate } from '../../lib/dates';
import { loadOrdersFile } from '../../lib/ingest/load';
import { COUNTRY } from '../../lib/input-rules';
import { registerModel } from '../../lib/model/registry';
import { FileModelStore } from '../../lib/model/store';
import { streamTotals } from '../../lib/stream/accounting';
import { StreamConsumer } from '../../lib/stream/consumer';
import { DuckDBWarehouse } from '../../lib/warehouse/duckdb';
import type { Row } from '../../lib/warehouse/types';
import { buildCli, expectedFailureMessage, forEachCommand, oneLine } from '../../tools/cli';
import { boundedInt, isoDate, positiveInt } from '../../tools/commands/common';
import { tempDir, writeCsv } from '../support/fixtures';
import { fakeTemporal } from '../support/fakes';
import { fakeModel } from '../support/model-fixtures';
import { asReadBack, delivery, fuzzParams, HOSTILE, hostileString, messageBody, SEED } from './arbitraries';

export const PARSER_RUNS = 10_000;
export const CLI_RUNS = 300;
export const API_PARAM_RUNS = 2_000;
export const STREAM_FIELD_RUNS = 500;

const ORDERS = [
  'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
  '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom',
  '536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom',
  '536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850,United Kingdom',
];

/** Raw control, format and bidi characters, or lone surrogates: what must not reach a terminal unescaped. */
// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const UNSAFE_ON_SCREEN = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udfff]/u;

function assertOneLineError(err: string, what: string): void {
  const lines = err.replace(/\n$/, '').split('\n');
  assert.equal(lines.length, 1, `${what}: not one line: ${JSON.stringify(err.slice(0, 300))}`);
  assert.match(lines[0], /^error: /, what);
  assert.doesNotMatch(err, /^\s+at /m, `${what}: a stack trace`);
  assert.doesNotMatch(err, UNSAFE_ON_SCREEN, `${what}: raw control or bidi characters`);
}

/** Percent-encoding that also writes a lone surrogate (encodeURIComponent throws on one) as its 3 bytes, not UTF-8. */
function percentEncode(s: string): string {
  return s.replace(/[\ud800-\udfff]|[^\ud800-\udfff]+/gu, (part) => {
    if (part.length === 1 && /[\ud800-\udfff]/u.test(part)) {
      const c = part.charCodeAt(0);
      return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    }
    return encodeURIComponent(part);
  });
}

/** A warehouse file with orders and a model, to show the tables survive whatever was typed. */
async function seededWarehouse(file: string): Promise<{ orders: number; models: number }> {
  const wh = new DuckDBWarehouse({ path: file });
  try {
    await loadOrdersFile(wh, writeCsv(ORDERS));
    await registerModel(wh, new FileModelStore(path.join(path.dirname(file), 'models')), fakeModel('rf-a', 10));
    return { orders: await count(wh, 'orders_raw'), models: await count(wh, 'model_versions') };
  } finally {
    await wh.close();
  }
}

async function count(wh: DuckDBWarehouse, table: string): Promise<number> {
  return Number((await wh.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);
}

describe('fuzz: hostile strings in CLI arguments', function () {
  this.timeout(120_000);
  const dir = tempDir('retailflow-fuzz-cli-');
  const file = path.join(dir, 'w.duckdb');
  const savedPath = process.env.DUCKDB_PATH;
  let before0: { orders: number; models: number };

  before(async () => {
    before0 = await seededWarehouse(file);
    process.env.DUCKDB_PATH = file; // the commands read their config as a user's shell gives it
  });
  after(() => {
    if (savedPath === undefined) delete process.env.DUCKDB_PATH;
    else process.env.DUCKDB_PATH = savedPath;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`the argument parsers: ${PARSER_RUNS} strings, each a valid value or an InvalidArgumentError`, () => {
    const anyString = fc.oneof(hostileString(), fc.string({ unit: 'binary', maxLength: 20 }), fc.stringMatching(/^\d{4}-\d{2}-\d{2}$/));
    fc.assert(fc.property(anyString, (s) => {
      for (const [name, parse, valid] of [
        ['isoDate', isoDate, (v: unknown) => v === s && isIsoDate(s)],
        ['positiveInt', positiveInt, (v: unknown) => Number.isInteger(v) && (v as number) >= 1],
        ['boundedInt', (x: string) => boundedInt(x, 1, 64), (v: unknown) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 64],
      ] as const) {
        let value: unknown;
        try {
          value = parse(s);
        } catch (err) {
          assert.equal((err as Error).name, 'InvalidArgumentError', `${name}(${JSON.stringify(s).slice(0, 80)}) threw ${String(err)}`);
          continue;
        }
        if (s === 'today' || s === 'yesterday') continue;
        assert.ok(valid(value), `${name}(${JSON.stringify(s).slice(0, 80)}) accepted it as ${String(value)}`);
      }
    }), fuzzParams(SEED, PARSER_RUNS));
  });

  /** The CLI in this process: what main() prints and its exit code. */
  async function runCli(args: string[]): Promise<{ code: number; err: string }> {
    let err = '';
    const program = buildCli();
    forEachCommand(program, (c) => c.exitOverride().configureOutput({ writeErr: (t) => void (err += t), writeOut: () => undefined }));
    try {
      await program.parseAsync(['node', 'retailflow', ...args]);
      return { code: 0, err };
    } catch (e) {
      if (e instanceof CommanderError) return { code: e.exitCode, err };
      const line = expectedFailureMessage(e);
      if (line === undefined) throw e; // main() would print a stack trace: a bug
      return { code: 1, err: `${err}error: ${oneLine(line)}\n` };
    }
  }

  it(`dates, numbers and model versions: ${CLI_RUNS} hostile arguments, each a one-line error and exit code 1`, async () => {
    const commands: Array<(h: string) => string[]> = [
      (h) => ['analytics', 'run', '--date', h],
      (h) => ['analytics', 'backfill', '--from', '2011-12-01', '--to', h],
      (h) => ['analytics', 'backfill', '--from', '2011-12-01', '--to', '2011-12-02', '--concurrency', h],
      (h) => ['dq', 'report', '--from', h, '--to', '2011-12-09'],
      (h) => ['stream', 'replay', '--date', h],
      (h) => ['models', 'show', h],
      (h) => ['models', 'promote', h],
    ];
    const hostile = hostileString(['2011-12-01', 'rf-a', '5']).filter((h) => !isIsoDate(h) && !/^\d+$/.test(h) && h !== 'rf-a' && !['today', 'yesterday'].includes(h));
    await fc.assert(fc.asyncProperty(fc.nat(commands.length - 1), hostile, async (i, h) => {
      const args = commands[i](h);
      const res = await runCli(args);
      assert.equal(res.code, 1, `${JSON.stringify(args).slice(0, 120)}: exit ${res.code}`);
      assertOneLineError(res.err, JSON.stringify(args).slice(0, 120));
    }), fuzzParams(SEED, CLI_RUNS));
    const wh = new DuckDBWarehouse({ path: file });
    try {
      assert.deepEqual({ orders: await count(wh, 'orders_raw'), models: await count(wh, 'model_versions') }, before0, 'the tables are as they were');
    } finally {
      await wh.close();
    }
  });

  it('the real CLI process (3 runs): exit code 1, one line on stderr, no stack trace, tables intact', async () => {
    const env = { ...process.env, RETAILFLOW_STACK_ENV: 'none', TEMPORAL_ADDRESS: '127.0.0.1:1', DUCKDB_PATH: file, METADATA_SERVER_DETECTION: 'none' };
    const run = (args: string[]) => new Promise<{ code: number | null; err: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(PROJECT_ROOT, 'tools', 'cli.ts'), ...args], { cwd: PROJECT_ROOT, env, timeout: 60_000 });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, err }));
    });
    // argv cannot carry NUL (the kernel ends the string there) nor lone surrogates (written as U+FFFD).
    const cases = [
      ['analytics', 'run', '--date', "2011-12-01'; DROP TABLE orders_raw; --\n\u202Efake"],
      ['models', 'show', "rf-a'; DROP TABLE model_versions; --🎁\u001b[2J"],
      ['dq', 'report', '--from', 'x'.repeat(10_240), '--to', '2011-12-09'],
    ];
    const results = await Promise.all(cases.map(run));
    results.forEach((r, i) => {
      assert.equal(r.code, 1, r.err);
      assertOneLineError(r.err, cases[i].join(' ').slice(0, 80));
    });
    const wh = new DuckDBWarehouse({ path: file });
    try {
      assert.deepEqual({ orders: await count(wh, 'orders_raw'), models: await count(wh, 'model_versions') }, before0);
    } finally {
      await wh.close();
    }
  });
});

describe('fuzz: hostile strings in API parameters and body fields', function () {
  this.timeout(120_000);
  let wh: DuckDBWarehouse;
  let app: App;
  let orders: number;

  before(async () => {
    wh = new DuckDBWarehouse({ path: ':memory:' });
    await loadOrdersFile(wh, writeCsv(ORDERS));
    orders = await count(wh, 'orders_raw');
    app = buildApp({ config: loadConfig(), warehouse: wh, temporal: fakeTemporal(), logger: false, modelReloadIntervalMs: 0, dashboardCache: { maxAgeMs: 0 } });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await wh.close();
  });

  const limitOk = (h: string) => /^[0-9]{1,3}$/.test(h) && Number(h) >= 1 && Number(h) <= 100;
  /** [url of the hostile value, is it acceptable, what a refusal must name] */
  const routes: Array<(h: string) => [string, boolean, RegExp]> = [
    (h) => [`/api/v1/kpis?from=${percentEncode(h)}`, isIsoDate(h), /^querystring\.from /],
    (h) => [`/api/v1/countries?from=2011-01-01&to=${percentEncode(h)}`, isIsoDate(h) && h >= '2011-01-01', /^querystring\.(to|from) /],
    (h) => [`/api/v1/products?limit=${percentEncode(h)}`, limitOk(h), /^querystring\.limit /],
    (h) => [`/api/v1/stream?limit=${percentEncode(h)}`, limitOk(h), /^querystring\.limit /],
    (h) => [`/api/v1/kpis?${percentEncode(h)}=1`, false, /^querystring (has an unknown field|must)/],
    // A path that is no URL component, or too long, is refused by the router before any route: it
    // quotes the URL. A real day with no checks is a 404 that names the day.
    (h) => [`/api/v1/quality/${percentEncode(h)}`, false, /^params\.date |^'\/api\/v1\/quality\/|^Route GET .* not found|^no data-quality results for \d{4}-\d{2}-\d{2}:/],
  ];

  it(`GET query and path parameters: ${API_PARAM_RUNS} hostile values, a 200 or a 4xx naming the parameter, never a 5xx`, async () => {
    await fc.assert(fc.asyncProperty(fc.nat(routes.length - 1), hostileString(['2011-12-01', '5', '2011-01-01']), async (i, h) => {
      const [url, ok, names] = routes[i](h);
      const res = await app.inject({ method: 'GET', url });
      const what = `${url.slice(0, 200)} -> ${res.statusCode} ${res.body.slice(0, 200)}`;
      assert.ok(res.statusCode < 500, what);
      if (ok) return assert.equal(res.statusCode, 200, what);
      assert.ok(res.statusCode >= 400, what);
      assert.match(String(res.json<{ message?: unknown }>().message), names, what);
    }), fuzzParams(SEED, API_PARAM_RUNS));
    assert.equal(await count(wh, 'orders_raw'), orders, 'orders_raw is as it was');
  });

  it('body fields: every hostile string as Country, as a number and as a key, on /predict and /predict/batch', async () => {
    const base = { Quantity: 3, UnitPrice: 12, Hour: 10, DayOfWeek: 2 };
    for (const h of HOSTILE) {
      for (const [url, wrap, at] of [['/predict', (o: object) => o, 'body'], ['/predict/batch', (o: object) => ({ items: [o] }), 'body.items.0']] as const) {
        const post = (o: object) => app.inject({ method: 'POST', url, payload: JSON.stringify(wrap(o)), headers: { 'content-type': 'application/json' } });
        const country = await post({ ...base, Country: h });
        // 503: no model is promoted in this app, so a valid body gets that far and no further.
        assert.equal(country.statusCode, COUNTRY.test(h) ? 503 : 400, `${JSON.stringify(h).slice(0, 40)}: ${country.body.slice(0, 200)}`);
        if (!COUNTRY.test(h)) assert.ok(country.json<{ message: string }>().message.startsWith(`${at}.Country `), country.body.slice(0, 200));
        const quantity = await post({ ...base, Quantity: h });
        assert.ok(quantity.json<{ message: string }>().message.startsWith(`${at}.Quantity must be integer`), quantity.body.slice(0, 200));
        const key = await post({ ...base, [h]: 1 });
        assert.ok(key.json<{ message: string }>().message.startsWith(`${at} has an unknown field "${h}"`), key.body.slice(0, 200));
      }
    }
    assert.equal(await count(wh, 'orders_raw'), orders);
  });
});

describe('fuzz: hostile strings in stream message fields', function () {
  this.timeout(120_000);
  const FIELDS = ['InvoiceNo', 'StockCode', 'Description', 'Country', 'event_id', 'InvoiceDate', 'UnitPrice', 'CustomerID', 'source', 'schema_version'] as const;
  type Field = (typeof FIELDS)[number];
  /** The column a field is stored in as it came (the others are parsed: a date, a decimal, an id). */
  const VERBATIM: Partial<Record<Field, string>> = { InvoiceNo: 'invoice_no', StockCode: 'stock_code', Description: 'description', Country: 'country', event_id: 'event_id', source: 'source', schema_version: 'schema_version' };
  const ATTRIBUTES: ReadonlySet<Field> = new Set(['source', 'schema_version']);
  const base = { InvoiceNo: '536365', StockCode: '85123A', Description: 'x', Quantity: 6, InvoiceDate: new Date('2011-06-15T10:30:00Z'), UnitPrice: 2.55, CustomerID: 17850, Country: 'France' };

  /** Every hostile string in every field, then generated ones. Attributes come from Pub/Sub, whose strings are UTF-8: no lone surrogates. */
  function cases(): Array<[Field, string]> {
    const all: Array<[Field, string]> = FIELDS.flatMap((f) => HOSTILE.map((h): [Field, string] => [f, h]));
    const generated = fc.sample(fc.tuple(fc.constantFrom(...FIELDS), hostileString(['536365', 'France', 'evt-1', '2.55', 'x'])), { seed: SEED, numRuns: STREAM_FIELD_RUNS });
    return [...all, ...generated].filter(([f, h]) => !ATTRIBUTES.has(f) || !/[\ud800-\udfff]/u.test(h));
  }

  it(`every hostile string in every field, and ${STREAM_FIELD_RUNS} generated: dead-lettered or stored verbatim, tables intact`, async () => {
    const wh = new DuckDBWarehouse({ path: ':memory:' });
    try {
      await loadOrdersFile(wh, writeCsv(ORDERS));
      const consumer = new StreamConsumer({ warehouse: wh, registry: new Registry(), log: () => undefined, deadLetter: async () => undefined });
      const sent = cases().map(([field, value], i) => {
        const body = { ...messageBody(base, 0, `evt-h${i}`), ...(ATTRIBUTES.has(field) ? {} : { [field]: value }) };
        return { field, value, m: delivery(`h${i}`, Buffer.from(JSON.stringify(body)), ATTRIBUTES.has(field) ? { [field]: value } : {}) };
      });
      for (let i = 0; i < sent.length; i += 100) await consumer.processBatch(sent.slice(i, i + 100).map((x) => x.m));

      const stored = new Map((await wh.query<Row>('SELECT * FROM orders_stream')).map((r) => [String(r.message_id), r]));
      const dead = new Set((await wh.query<{ message_id: string }>("SELECT message_id FROM stream_ledger WHERE outcome = 'dead_lettered'")).map((r) => r.message_id));
      for (const { field, value, m } of sent) {
        const what = `${field}=${JSON.stringify(value).slice(0, 60)}`;
        const row = stored.get(m.id);
        assert.ok(!(row !== undefined && dead.has(m.id)), `${what}: both stored and dead-lettered`);
        assert.ok(row !== undefined || dead.has(m.id), `${what}: neither stored nor dead-lettered`);
        const column = VERBATIM[field];
        if (row === undefined || column === undefined) continue;
        assert.equal(row[column], asReadBack(value), `${what}: read back differently`);
        // Byte for byte, in SQL against the value as sent (the read-back above loses a leading BOM).
        const [same] = await wh.query<{ n: number }>(`SELECT COUNT(*) AS n FROM orders_stream WHERE message_id = @id AND ${column} = @value`, { id: m.id, value });
        assert.equal(Number(same.n), 1, `${what}: not stored as sent`);
      }
      const totals = await streamTotals(wh);
      assert.equal(totals.accounted, sent.length, 'stored + duplicates + dead-lettered = messages');
      assert.ok(totals.stored > 0 && totals.deadLettered > 0, JSON.stringify(totals));
      assert.equal(await count(wh, 'orders_raw'), ORDERS.length - 1, 'orders_raw is as it was');
    } finally {
      await wh.close();
    }
  });
});

describe('fuzz regressions: the cases fuzzing found', function () {
  this.timeout(60_000);

  it('API: an unknown field named "" is named (was "body must NOT have additional properties")', async () => {
    const wh = new DuckDBWarehouse({ path: ':memory:' });
    const app = buildApp({ config: loadConfig(), warehouse: wh, temporal: fakeTemporal(), logger: false, modelReloadIntervalMs: 0 });
    try {
      await app.ready();
      const one = await app.inject({ method: 'POST', url: '/predict', payload: '{"Hour":0,"Quantity":1,"UnitPrice":0,"":0,"DayOfWeek":0}', headers: { 'content-type': 'application/json' } });
      assert.deepEqual([one.statusCode, one.json<{ message: string }>().message], [400, 'body has an unknown field ""']);
      const batch = await app.inject({ method: 'POST', url: '/predict/batch', payload: '{"items":[{"Hour":0,"Quantity":1,"DayOfWeek":0,"UnitPrice":0}],"":null}', headers: { 'content-type': 'application/json' } });
      assert.deepEqual([batch.statusCode, batch.json<{ message: string }>().message], [400, 'body has an unknown field ""']);
    } finally {
      await app.close();
      await wh.close();
    }
  });

  it('stream: a lone surrogate in Description, or bytes that are not UTF-8, are dead-lettered (were stored as U+FFFD)', async () => {
    const wh = new DuckDBWarehouse({ path: ':memory:' });
    try {
      const consumer = new StreamConsumer({ warehouse: wh, registry: new Registry(), log: () => undefined, deadLetter: async () => undefined });
      const line = messageBody({ InvoiceNo: '536365', StockCode: '85123A', Description: 'x', Quantity: 6, InvoiceDate: new Date('2011-06-15T10:30:00Z'), UnitPrice: 2.55, CustomerID: 17850, Country: 'France' }, 0, 'evt-a');
      const text = JSON.stringify({ ...line, Description: 'ab' });
      const notUtf8 = Buffer.concat([Buffer.from(text.slice(0, text.indexOf('"ab"') + 2)), Buffer.from([0xff]), Buffer.from(text.slice(text.indexOf('"ab"') + 2))]);
      await consumer.processBatch([delivery('1', Buffer.from(JSON.stringify({ ...line, Description: 'lone \uD800' }))), delivery('2', Buffer.from(notUtf8.toString('latin1'), 'latin1'))]);
      const rows = await wh.query<{ message_id: string; outcome: string; reason: string }>('SELECT message_id, outcome, reason FROM stream_ledger ORDER BY message_id');
      assert.deepEqual(rows.map((r) => [r.message_id, r.outcome]), [['1', 'dead_lettered'], ['2', 'dead_lettered']]);
      assert.match(rows[0].reason, /^Description has a lone UTF-16 surrogate/);
      assert.equal(rows[1].reason, 'body is not valid UTF-8');
      assert.equal(await count(wh, 'orders_stream'), 0);
    } finally {
      await wh.close();
    }
  });

  it('CLI: a newline, an escape or U+202E in an argument stays on the one error line, escaped', () => {
    assert.equal(oneLine('got "2011-01-01\nfoo\u202E\u001b[2J\uD800"'), 'got "2011-01-01\\u{000a}foo\\u{202e}\\u{001b}[2J\\u{d800}"');
    assert.equal(oneLine('date must be a calendar date YYYY-MM-DD, got "🎁 مصر"'), 'date must be a calendar date YYYY-MM-DD, got "🎁 مصر"');
  });
});
