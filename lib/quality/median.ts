/**
 * Portable medians. BigQuery has PERCENTILE_CONT only as an analytic function and DuckDB spells
 * it differently, so the median is taken with ROW_NUMBER and COUNT, which both run unchanged.
 */

/**
 * A CTE body: the median of `value` per `key` over the rows of CTE `from`, as columns
 * (key, med, n). The middle row is rn = (n+1)/2 for odd n; the two middle rows for even n.
 */
export function medianBy(from: string, key: string, value: string): string {
  return `SELECT ${key}, AVG(v) AS med, MAX(n) AS n FROM (
      SELECT ${key}, ${value} AS v,
             ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY ${value}) AS rn,
             COUNT(*) OVER (PARTITION BY ${key}) AS n
      FROM ${from}) AS ranked
    WHERE rn >= n / 2.0 AND rn <= n / 2.0 + 1
    GROUP BY ${key}`;
}
