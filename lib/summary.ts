/**
 * Dataset summary (successor of the seed's dataset_summary.csv): per column count, nulls,
 * distinct values, min, max and mean for numbers, plus whole-table facts. Computed in the
 * warehouse with SQL both backends accept.
 */
import type { Warehouse } from './warehouse/types';
import { writeFileAtomicSync } from './files';

export interface ColumnSummary {
  column: string;
  count: number;
  nulls: number;
  distinct: number;
  min: string | null;
  max: string | null;
  mean: string | null;
}

export interface DatasetSummary {
  table: string;
  rows: number;
  columns: ColumnSummary[];
  firstDate: string | null;
  lastDate: string | null;
  cancellationLines: number;
  cancelledInvoices: number;
  countries: number;
}

/** Columns of orders_raw a data team asks about; provenance columns are left out. */
const SUMMARY_COLUMNS: ReadonlyArray<{ name: string; numeric: boolean }> = [
  { name: 'invoice_no', numeric: false },
  { name: 'stock_code', numeric: false },
  { name: 'description', numeric: false },
  { name: 'quantity', numeric: true },
  { name: 'invoice_ts', numeric: false },
  { name: 'unit_price', numeric: true },
  { name: 'customer_id', numeric: false },
  { name: 'country', numeric: false },
];

export async function summarizeOrders(wh: Warehouse, table = 'orders_raw'): Promise<DatasetSummary> {
  const columns: ColumnSummary[] = [];
  for (const col of SUMMARY_COLUMNS) columns.push(await summarizeColumn(wh, table, col.name, col.numeric));
  const [facts] = await wh.query<{
    n: number; first_date: string | null; last_date: string | null; cancel_lines: number; cancel_invoices: number; countries: number;
  }>(`SELECT COUNT(*) AS n, MIN(invoice_date) AS first_date, MAX(invoice_date) AS last_date,
            SUM(CASE WHEN is_cancellation THEN 1 ELSE 0 END) AS cancel_lines,
            COUNT(DISTINCT CASE WHEN is_cancellation THEN invoice_no END) AS cancel_invoices,
            COUNT(DISTINCT country) AS countries
     FROM ${table}`);
  return {
    table,
    rows: facts.n,
    columns,
    firstDate: facts.first_date,
    lastDate: facts.last_date,
    cancellationLines: facts.cancel_lines ?? 0,
    cancelledInvoices: facts.cancel_invoices,
    countries: facts.countries,
  };
}

async function summarizeColumn(wh: Warehouse, table: string, column: string, numeric: boolean): Promise<ColumnSummary> {
  const mean = numeric ? `AVG(CAST(${column} AS FLOAT64))` : 'NULL';
  const [r] = await wh.query(
    `SELECT COUNT(${column}) AS n, COUNT(*) - COUNT(${column}) AS nulls, COUNT(DISTINCT ${column}) AS distinct_values,
            MIN(${column}) AS min_v, MAX(${column}) AS max_v, ${mean} AS mean_v
     FROM ${table}`,
  );
  return {
    column,
    count: Number(r.n),
    nulls: Number(r.nulls),
    distinct: Number(r.distinct_values),
    min: r.min_v === null ? null : String(r.min_v),
    max: r.max_v === null ? null : String(r.max_v),
    // Rounded here, not in SQL, so both backends print the same text.
    mean: r.mean_v === null ? null : Number(r.mean_v).toFixed(4),
  };
}

export function summaryToCsv(s: DatasetSummary): string {
  const esc = (v: string | number | null): string => {
    const t = v === null ? '' : String(v);
    return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
  };
  const lines = ['column,count,nulls,distinct,min,max,mean'];
  for (const c of s.columns) lines.push([c.column, c.count, c.nulls, c.distinct, c.min, c.max, c.mean].map(esc).join(','));
  lines.push(['(table) rows', s.rows, '', '', s.firstDate, s.lastDate, ''].map(esc).join(','));
  lines.push(['(table) cancellation_lines', s.cancellationLines, '', s.cancelledInvoices, '', '', ''].map(esc).join(','));
  lines.push(['(table) countries', s.countries, '', s.countries, '', '', ''].map(esc).join(','));
  return `${lines.join('\n')}\n`;
}

export function summaryToMarkdown(s: DatasetSummary): string {
  const rows = s.columns.map((c) => `| ${c.column} | ${c.count} | ${c.nulls} | ${c.distinct} | ${c.min ?? ''} | ${c.max ?? ''} | ${c.mean ?? ''} |`);
  return [
    `Table \`${s.table}\`: ${s.rows} rows, invoice dates ${s.firstDate} to ${s.lastDate}, ` +
      `${s.cancellationLines} cancellation lines on ${s.cancelledInvoices} cancelled invoices, ${s.countries} countries.`,
    '',
    '| column | count | nulls | distinct | min | max | mean |',
    '| --- | ---: | ---: | ---: | --- | --- | ---: |',
    ...rows,
    '',
  ].join('\n');
}

export function writeSummaryCsv(s: DatasetSummary, file: string): void {
  writeFileAtomicSync(file, summaryToCsv(s));
}
