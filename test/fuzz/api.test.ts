/**
 * Fuzzing /predict and /predict/batch through the real Fastify app (app.inject): generated bodies,
 * valid and not, and an oracle built from the shared input rules (lib/input-rules.ts) that says
 * which fields are wrong. Properties: never a 5xx; a valid body is a 200 with a prediction; an
 * invalid one is a 4xx whose message names one of the offending fields (or the body, when the body
 * as a whole is wrong: not JSON, not an object, too large).
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildApp, type App } from '../../api/app';
import { BATCH_BODY_LIMIT, MAX_BATCH } from '../../api/routes/predict';
import { loadConfig } from '../../lib/config';
import { COUNTRY, DAY_OF_WEEK, HOUR, MAX_ABS_QUANTITY, MAX_CUSTOMER_ID, MAX_UNIT_PRICE } from '../../lib/input-rules';
import { promote, registerModel } from '../../lib/model/registry';
import { FileModelStore } from '../../lib/model/store';
import { DuckDBWarehouse } from '../../lib/warehouse/duckdb';
import { tempDir } from '../support/fixtures';
import { fakeTemporal } from '../support/fakes';
import { fakeModel, smallForest } from '../support/model-fixtures';
import { anyValue, fuzzParams, hostileString, jsonObjectText, SEED } from './arbitraries';

export const SINGLE_RUNS = 6_000;
export const BATCH_RUNS = 4_000;

type Entries = Array<readonly [string, unknown]>;
const REQUIRED = ['Quantity', 'UnitPrice', 'Hour', 'DayOfWeek'] as const;
const OPTIONAL = ['Country', 'CustomerID'] as const;
const KNOWN: ReadonlySet<string> = new Set([...REQUIRED, ...OPTIONAL]);

const isInt = (v: unknown, min: number, max: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

/** Is this (JSON-parsed) value acceptable for the field? The rules of a prediction (a sale). */
function fieldOk(field: string, v: unknown): boolean {
  switch (field) {
    case 'Quantity': return isInt(v, 1, MAX_ABS_QUANTITY);
    case 'UnitPrice': return typeof v === 'number' && v >= 0 && v <= MAX_UNIT_PRICE;
    case 'Hour': return isInt(v, HOUR.minimum, HOUR.maximum);
    case 'DayOfWeek': return isInt(v, DAY_OF_WEEK.minimum, DAY_OF_WEEK.maximum);
    case 'Country': return typeof v === 'string' && COUNTRY.test(v);
    case 'CustomerID': return v === null || isInt(v, 1, MAX_CUSTOMER_ID);
    default: return false;
  }
}

/**
 * A wrong part of a body: field `field` of the object at `at` ('' = the body, 'items.3' = an item),
 * or, with no field, the object at `at` itself (the body is not JSON, not an object, too large).
 */
export interface Problem {
  at: string;
  field?: string;
}

function itemProblems(item: unknown, at: string): Problem[] {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return [{ at }];
  const o = item as Record<string, unknown>;
  const out: Problem[] = Object.keys(o).filter((k) => !KNOWN.has(k) || !fieldOk(k, o[k])).map((field) => ({ at, field }));
  for (const field of REQUIRED) if (!(field in o)) out.push({ at, field });
  return out;
}

function batchProblems(body: unknown): Problem[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [{ at: '' }];
  const o = body as Record<string, unknown>;
  const extra: Problem[] = Object.keys(o).filter((k) => k !== 'items').map((field) => ({ at: '', field }));
  const items = o.items;
  if (!Array.isArray(items) || items.length < 1 || items.length > MAX_BATCH) return [...extra, { at: '', field: 'items' }];
  return [...extra, ...items.flatMap((item, i) => itemProblems(item, `items.${i}`))];
}

/**
 * Does the message name this problem? Field Country of item 3 is named as
 * "body.items.3.Country must ...", "body.items.3 has an unknown field "Country"" or "body.items.3
 * is missing the field "Country""; a whole item as "body.items.3 must be object"; the body by
 * any message about the body or its JSON.
 */
export function names(message: string, p: Problem): boolean {
  const where = p.at === '' ? 'body' : `body.${p.at}`;
  if (p.field === undefined) return p.at === '' ? /\bbody\b|JSON/i.test(message) : message.startsWith(`${where} `);
  return message.startsWith(`${where}.${p.field} `)
    || message.startsWith(`${where} has an unknown field "${p.field}"`)
    || message.startsWith(`${where} is missing the field "${p.field}"`);
}

const show = (p: Problem): string => [p.at || 'body', p.field].filter((x) => x !== undefined).join(' / ');

// ---- generators ----

const goodValue: Record<string, fc.Arbitrary<unknown>> = {
  Quantity: fc.integer({ min: 1, max: MAX_ABS_QUANTITY }),
  UnitPrice: fc.oneof(fc.integer({ min: 0, max: 10_000_000 }).map((c) => c / 100), fc.double({ min: 0, max: MAX_UNIT_PRICE, noNaN: true })),
  Hour: fc.integer({ min: HOUR.minimum, max: HOUR.maximum }),
  DayOfWeek: fc.integer({ min: DAY_OF_WEEK.minimum, max: DAY_OF_WEEK.maximum }),
  Country: fc.constantFrom('United Kingdom', 'France', 'EIRE', "Côte d'Ivoire", 'مصر', 'Unspecified', '𝒜𝒷'),
  CustomerID: fc.oneof(fc.constant(null), fc.integer({ min: 1, max: MAX_CUSTOMER_ID })),
};

/** Near the bounds, wrong types, hostile text: anything a client could send for a field. */
const badValue: fc.Arbitrary<unknown> = fc.oneof(
  anyValue,
  fc.constantFrom(0, 24, 7, -1, MAX_ABS_QUANTITY + 1, MAX_UNIT_PRICE + 0.01, MAX_CUSTOMER_ID + 1, 2.5, 1e308, -1e-9, '3', '12.0', [3], { value: 3 }, { $gt: 0 }),
  fc.integer({ min: -200_000, max: 200_000 }),
);

const extraKey = fc.oneof(
  fc.constantFrom('Discount', 'quantity', '__proto__', 'constructor', 'prototype', '', ' Quantity', 'Quantity\u0000', 'items', 'Country\u202E'),
  hostileString(['Quantity', 'x']),
);

/** `arb` one time in 30, else undefined. */
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.oneof({ arbitrary: fc.constant(undefined), weight: 29 }, { arbitrary: arb, weight: 1 });

const entry = (f: string) => fc.tuple(fc.constant(f), fc.oneof({ arbitrary: goodValue[f], weight: 12 }, { arbitrary: badValue, weight: 1 }));

/** Mostly good fields in any order; sometimes one is wrong, missing or repeated, or an extra one is added. */
const item: fc.Arbitrary<Entries> = fc
  .record({
    required: fc.tuple(...REQUIRED.map(entry)),
    optional: fc.tuple(...OPTIONAL.map((f) => fc.option(entry(f), { nil: undefined }))),
    missing: rarely(fc.constantFrom(...REQUIRED)),
    repeated: rarely(entry('Quantity')),
    extras: fc.oneof({ arbitrary: fc.constant([] as Entries), weight: 10 }, { arbitrary: fc.array(fc.tuple(extraKey, anyValue), { minLength: 1, maxLength: 2 }), weight: 1 }),
  })
  .map(({ required, optional, missing, repeated, extras }): Entries => [
    ...required.filter(([f]) => f !== missing),
    ...optional.filter((e): e is [string, unknown] => e !== undefined),
    ...(repeated ? [repeated] : []),
    ...extras,
  ])
  .chain((entries) => fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }));

/** A body as text: an object written by hand, or something that is not one at all. */
function bodyText(objectText: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: objectText, weight: 40 },
    { arbitrary: objectText.chain((t) => fc.nat(t.length).map((n) => t.slice(0, n))), weight: 1 }, // truncated: not JSON
    { arbitrary: anyValue.map((v) => JSON.stringify(v) ?? 'null'), weight: 1 },
    { arbitrary: hostileString(['{', '[']), weight: 1 },
    { arbitrary: objectText.map((t) => `${t.slice(0, -1)},"Pad":"${'x'.repeat(1_100_000)}"}`), weight: 1 }, // over the 1 MiB body limit
  );
}

export const singleBody = bodyText(item.map(jsonObjectText));

export const batchBody = bodyText(
  fc.record({
    items: fc.oneof(
      { arbitrary: fc.array(item, { minLength: 1, maxLength: 6 }).map((xs) => `[${xs.map(jsonObjectText).join(',')}]`), weight: 30 },
      { arbitrary: fc.constant('[]'), weight: 1 },
      { arbitrary: fc.constant(`[${Array.from({ length: MAX_BATCH + 1 }, () => '{"Quantity":1,"UnitPrice":1,"Hour":1,"DayOfWeek":1}').join(',')}]`), weight: 1 },
      { arbitrary: anyValue.map((v) => JSON.stringify(v) ?? 'null'), weight: 1 },
    ),
    extras: fc.oneof<[fc.WeightedArbitrary<Entries>, fc.WeightedArbitrary<Entries>]>({ arbitrary: fc.constant([]), weight: 15 }, { arbitrary: fc.array(fc.tuple(extraKey, anyValue), { minLength: 1, maxLength: 2 }), weight: 1 }),
    keepItems: fc.oneof({ arbitrary: fc.constant(true), weight: 30 }, { arbitrary: fc.constant(false), weight: 1 }),
  }).map(({ items, extras, keepItems }) => {
    const rest = extras.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`);
    return `{${[...(keepItems ? [`"items":${items}`] : []), ...rest].join(',')}}`;
  }),
);

// ---- the properties ----

/** The wrong paths of a body text, judged as the API's JSON parser reads it. */
function problemsOf(text: string, limitBytes: number, problems: (body: unknown) => Problem[]): Problem[] {
  if (Buffer.byteLength(text) > limitBytes) return [{ at: '' }];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [{ at: '' }];
  }
  if (poisoned(body)) return [{ at: '' }];
  return problems(body);
}

/**
 * Fastify's JSON parser (secure-json-parse) refuses a "__proto__" key, and a "constructor" whose
 * value has a "prototype", anywhere in the body: prototype poisoning.
 */
function poisoned(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
  if (own(v, '__proto__')) return true;
  const c = (v as Record<string, unknown>).constructor;
  if (own(v, 'constructor') && typeof c === 'object' && c !== null && own(c, 'prototype')) return true;
  return Object.values(v).some(poisoned);
}

/** 200 with `check200` when nothing is wrong; otherwise a 4xx whose message names one of `problems`. */
export function checkOutcome(text: string, problems: Problem[], res: { statusCode: number; body: string }, check200: (body: Record<string, unknown>) => void): void {
  const what = `${text.slice(0, 300)} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
  assert.ok(res.statusCode < 500, `5xx: ${what}`);
  if (problems.length === 0) {
    assert.equal(res.statusCode, 200, what);
    check200(JSON.parse(res.body) as Record<string, unknown>);
    return;
  }
  assert.ok(res.statusCode >= 400, `accepted a body with wrong ${problems.map(show).join(', ')}: ${what}`);
  const message = (JSON.parse(res.body) as { message?: unknown }).message;
  assert.equal(typeof message, 'string', what);
  assert.ok(problems.some((p) => names(message as string, p)), `the message names none of ${problems.slice(0, 5).map(show).join(', ')}: ${what}`);
}

describe('fuzz: /predict and /predict/batch (generated bodies through app.inject)', function () {
  this.timeout(120_000);
  let wh: DuckDBWarehouse;
  let app: App;
  const storeDir = tempDir();
  const config = { ...loadConfig(), model: { ...loadConfig().model, storeDir, reloadIntervalMs: 0 } };

  before(async () => {
    wh = new DuckDBWarehouse({ path: ':memory:' });
    await registerModel(wh, new FileModelStore(storeDir), fakeModel('rf-fuzz', 5, { artifact: await smallForest(1, 10) }));
    await promote(wh, 'rf-fuzz');
    app = buildApp({ config, warehouse: wh, temporal: fakeTemporal(), logger: false, modelReloadIntervalMs: 0 });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await wh.close();
  });

  const post = (url: string, payload: string) => app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } });

  const predictOne = async (text: string) => {
    checkOutcome(text, problemsOf(text, config.api.bodyLimit, (b) => itemProblems(b, '')), await post('/predict', text), (b) => {
      assert.equal(b.status, 'success');
      assert.ok(Number.isFinite(b.predicted_revenue), JSON.stringify(b));
    });
  };
  const predictBatch = async (text: string) => {
    const problems = problemsOf(text, BATCH_BODY_LIMIT, batchProblems);
    checkOutcome(text, problems, await post('/predict/batch', text), (b) => {
      const n = (JSON.parse(text) as { items: unknown[] }).items.length;
      assert.equal(b.count, n);
      assert.ok(Array.isArray(b.predictions) && b.predictions.length === n && b.predictions.every(Number.isFinite), JSON.stringify(b).slice(0, 200));
    });
  };

  it(`/predict: ${SINGLE_RUNS} bodies, no 5xx, 200 iff valid, every 4xx names a wrong field`, async () => {
    await fc.assert(fc.asyncProperty(singleBody, predictOne), fuzzParams(SEED, SINGLE_RUNS));
  });

  it(`/predict/batch: ${BATCH_RUNS} bodies (empty, oversize, mixed items), same properties`, async () => {
    await fc.assert(fc.asyncProperty(batchBody, predictBatch), fuzzParams(SEED + 1, BATCH_RUNS));
  });
});
