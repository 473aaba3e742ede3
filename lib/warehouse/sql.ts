/** Small SQL helpers shared by the adapters. */

export function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`unsafe SQL identifier: ${name}`);
  return `"${name}"`;
}

/**
 * Rewrite `@name` parameters to DuckDB's `$name`, leaving string literals, quoted identifiers
 * and comments untouched. Our SQL is written once in the BigQuery style.
 */
export function namedParamsToDollar(sql: string): string {
  let out = '';
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i];
    if (ch === "'" || ch === '"' || ch === '`') {
      const end = closingQuote(sql, i, ch);
      out += sql.slice(i, end + 1);
      i = end;
    } else if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length - 1 : end;
      out += sql.slice(i, stop + 1);
      i = stop;
    } else if (ch === '@' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      out += '$';
    } else {
      out += ch;
    }
  }
  return out;
}

function closingQuote(sql: string, start: number, quote: string): number {
  for (let j = start + 1; j < sql.length; j++) {
    if (sql[j] === quote) {
      if (sql[j + 1] === quote) j++;
      else return j;
    }
  }
  return sql.length - 1;
}
