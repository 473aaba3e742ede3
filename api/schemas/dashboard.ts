/**
 * Schemas of the dashboard's JSON endpoints (/api/v1/*, api/routes/dashboard.ts). Money is an exact
 * decimal string (the warehouse's NUMERIC); shares and rates are fractions 0..1. They mirror the
 * answers of lib/dashboard/queries.ts.
 */
import { Type, type TSchema } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Money = (description?: string) => Type.String({ description: description ?? 'Exact decimal amount in pounds, e.g. "12345.67".' });
const Day = Type.String({ description: 'A calendar date, YYYY-MM-DD.' });
const Url = Type.String({ description: 'The Temporal Web UI page.' });
const SeverityT = Type.Union([Type.Literal('pass'), Type.Literal('warn'), Type.Literal('fail')]);

const DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';
const DateParam = (description: string) => Type.String({ pattern: DATE_PATTERN, description: `${description} (YYYY-MM-DD, a real calendar date).` });

export const RangeQuery = Type.Object(
  {
    from: Type.Optional(DateParam('First day; default the first analysed day')),
    to: Type.Optional(DateParam('Last day, inclusive; default the last analysed day')),
  },
  { additionalProperties: false },
);

export const LimitedRangeQuery = Type.Object(
  {
    ...RangeQuery.properties,
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: 'How many rows, 1-100 (default 10).' })),
  },
  { additionalProperties: false },
);

export const LimitQuery = Type.Object(
  { limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: 'How many rows, 1-100 (default 20).' })) },
  { additionalProperties: false },
);

export const DateParams = Type.Object({ date: DateParam('The day') }, { additionalProperties: false });

const RangeT = Type.Object({ from: Day, to: Day });

export const RangeResponse = Type.Object({
  first: Nullable(Day),
  last: Nullable(Day),
  days: Type.Integer({ description: 'Days with a daily_metrics row.' }),
  today: Type.String({ description: "The shop's today (SHOP_TIMEZONE)." }),
  time_zone: Type.String(),
  temporal_ui: Type.String({ description: 'Base URL of the Temporal Web UI the links point to.' }),
});

const SourceSplitT = Nullable(Type.Object({
  batch_orders: Type.Integer(),
  stream_orders: Type.Integer(),
  batch_lines: Type.Integer(),
  stream_lines: Type.Integer(),
  stream_order_share: Nullable(Type.Number()),
  stream_line_share: Nullable(Type.Number()),
  recorded_days: Type.Integer(),
}, { description: 'Orders and lines by origin (batch = orders_raw, stream = orders_stream); null when not recorded.' }));

const PeriodT = Type.Object({
  label: Type.String(),
  from: Day,
  to: Day,
  days_with_data: Type.Integer(),
  orders: Type.Integer(),
  gross_revenue: Money(),
  net_revenue: Money(),
  refunds: Money(),
  cancelled_orders: Type.Integer(),
  unique_customers: Type.Integer(),
  avg_order_value: Money('Gross revenue / orders, to the penny.'),
  source: SourceSplitT,
});

const DayT = Type.Object({
  date: Day,
  orders: Type.Integer(),
  gross_revenue: Money(),
  net_revenue: Money(),
  refunds: Money(),
  cancelled_orders: Type.Integer(),
  unique_customers: Type.Integer(),
  items_sold: Type.Integer(),
  avg_order_value: Money(),
  total_lines: Type.Integer(),
  source: SourceSplitT,
  workflow_id: Nullable(Type.String()),
  workflow_url: Nullable(Url),
});

export const KpisResponse = Type.Object({
  range: RangeT,
  totals: PeriodT,
  days: Type.Array(DayT),
  tiles: Type.Object({
    anchor: Nullable(Day),
    today: Day,
    anchor_is_today: Type.Boolean(),
    anchor_day: Nullable(PeriodT),
    previous_day: Nullable(PeriodT),
    last_7: Nullable(PeriodT),
    previous_7: Nullable(PeriodT),
  }),
});

export const CountriesResponse = Type.Object({
  range: RangeT,
  total_revenue: Money(),
  countries: Type.Array(Type.Object({
    country: Type.String(),
    gross_revenue: Money(),
    orders: Type.Integer(),
    countries: Type.Integer({ description: '1, or how many countries "Other" holds.' }),
    is_other: Type.Boolean(),
  })),
});

export const ProductsResponse = Type.Object({
  range: RangeT,
  products: Type.Array(Type.Object({
    rank: Type.Integer(),
    stock_code: Type.String(),
    description: Nullable(Type.String()),
    revenue: Money(),
    quantity: Type.Integer({ description: 'Units sold.' }),
  })),
});

export const PredictionsResponse = Type.Object({
  range: RangeT,
  mae: Nullable(Money('Mean absolute error per order over the range, to the penny.')),
  orders: Type.Integer(),
  days: Type.Array(Type.Object({
    date: Day,
    model_version: Type.String(),
    orders: Type.Integer(),
    lines: Type.Integer(),
    mae: Nullable(Money()),
    predicted_total: Money(),
    actual_total: Money(),
    scored_at: Type.String(),
    workflow_id: Nullable(Type.String()),
    workflow_url: Nullable(Url),
  })),
  by_model: Type.Array(Type.Object({ model_version: Type.String(), days: Type.Integer(), orders: Type.Integer(), mae: Nullable(Money()) })),
});

export const QualityResponse = Type.Object({
  range: RangeT,
  checks: Type.Array(Type.String()),
  days: Type.Array(Type.Object({
    date: Day,
    worst: SeverityT,
    fails: Type.Integer(),
    warns: Type.Integer(),
    passes: Type.Integer(),
    workflow_id: Nullable(Type.String()),
    workflow_url: Nullable(Url),
  })),
  cells: Type.Array(Type.Tuple([Type.Integer(), Type.Integer(), Type.Integer()]), { description: '[day index, check index, 0 pass | 1 warn | 2 fail]' }),
  totals: Type.Object({ pass: Type.Integer(), warn: Type.Integer(), fail: Type.Integer() }),
});

export const QualityDayResponse = Type.Object({
  date: Day,
  worst: Nullable(SeverityT),
  workflow_id: Nullable(Type.String()),
  workflow_url: Nullable(Url),
  results: Type.Array(Type.Object({
    check: Type.String(),
    label: Type.String(),
    category: Type.String(),
    source: Type.String(),
    severity: SeverityT,
    observed: Nullable(Type.Number()),
    warn_threshold: Nullable(Type.Number()),
    fail_threshold: Nullable(Type.Number()),
    flagged_lines: Type.Integer(),
    examples: Type.Array(Type.Object({ invoice_no: Type.String(), stock_code: Type.String() })),
    detail: Type.String(),
    computed_at: Type.String(),
  })),
});

export const ModelsResponse = Type.Object({
  current: Nullable(Type.String()),
  versions: Type.Array(Type.Object({
    version: Type.String(),
    created_at: Type.String(),
    status: Type.String(),
    promoted_at: Nullable(Type.String()),
    mae: Type.Number({ description: 'Holdout MAE.' }),
    mse: Type.Number(),
    r2: Type.Number(),
    baseline_line_mae: Type.Number(),
    baseline_mean_mae: Type.Number(),
    train_from: Day,
    train_to: Day,
    test_from: Day,
    test_to: Day,
    train_rows: Type.Integer(),
    test_rows: Type.Integer(),
    artifact_bytes: Type.Integer(),
    note: Nullable(Type.String()),
    training_runs_url: Type.String({ description: 'Web UI list of the training runs open when this version was registered.' }),
  }), { description: 'Oldest first.' }),
  promotions: Type.Array(Type.Object({
    seq: Type.Integer(),
    at: Type.String(),
    version: Type.String(),
    previous_version: Nullable(Type.String()),
    action: Type.String({ description: 'gate, manual or rollback.' }),
    reason: Nullable(Type.String()),
  })),
});

export const StreamResponse = Type.Object({
  stored: Type.Integer(),
  duplicates: Type.Integer(),
  dead_lettered: Type.Integer(),
  accounted: Type.Integer(),
  high_value: Type.Integer(),
  duplicate_rate: Type.Number(),
  dead_letter_rate: Type.Number(),
  first_at: Nullable(Type.String()),
  last_at: Nullable(Type.String()),
  overall_per_second: Type.Number(),
  recent_per_second: Type.Object({ stored: Type.Number(), duplicates: Type.Number(), dead_lettered: Type.Number() }),
  high_value_lines: Type.Array(Type.Object({
    event_id: Type.String(),
    invoice_no: Type.String(),
    invoice_date: Day,
    invoice_ts: Type.String(),
    stock_code: Type.String(),
    description: Nullable(Type.String()),
    quantity: Type.Integer(),
    unit_price: Money(),
    line_value: Money(),
    country: Type.String(),
    customer_id: Nullable(Type.Integer()),
    predicted_revenue: Nullable(Money()),
    model_version: Nullable(Type.String()),
    stored_at: Type.String(),
    day_workflow_id: Nullable(Type.String()),
    day_workflow_url: Nullable(Url),
  })),
});
