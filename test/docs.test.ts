/**
 * The architecture picture is generated from its source: docs/architecture.svg carries the
 * SHA-256 of docs/architecture.dot it was made from (scripts/diagram.ts). Content, not file
 * times: a fresh clone's mtimes are checkout times and say nothing about which is newer.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { DIAGRAM_SOURCE, DIAGRAM_SVG, sourceHash, stampOf, stampSvg } from '../scripts/diagram';

describe('docs: the architecture diagram', () => {
  it('docs/architecture.svg was generated from the current docs/architecture.dot (else: npm run docs:diagram)', () => {
    const svg = fs.readFileSync(DIAGRAM_SVG, 'utf8');
    const stamp = stampOf(svg);
    assert.ok(stamp, `${DIAGRAM_SVG} has no "<!-- source-sha256: ... -->" stamp: generate it with "npm run docs:diagram"`);
    assert.equal(stamp, sourceHash(fs.readFileSync(DIAGRAM_SOURCE, 'utf8')),
      'docs/architecture.dot changed after docs/architecture.svg was generated: run "npm run docs:diagram" and commit both');
    assert.match(svg, /<svg[\s>]/);
  });

  it('names every process, topic, table, workflow and Schedule it is meant to show', () => {
    const dot = fs.readFileSync(DIAGRAM_SOURCE, 'utf8');
    const names = [
      'Temporal', 'worker', 'consumer', 'API', 'CLI', 'Airflow', 'emulator',
      'topic orders\\n', 'orders-dlq', 'daily-metrics', 'dq-alerts',
      'orders_raw', 'orders_stream', 'order_lines', 'daily_metrics', 'daily_top_products', 'daily_country_metrics',
      'order_predictions', 'daily_predictions', 'dq_results', 'model_versions', 'model_promotions', 'stream_ledger', 'orders_quarantine',
      'ingestWorkflow', 'dailyAnalyticsWorkflow', 'dataQualityWorkflow', 'backfillWorkflow', 'trainingWorkflow', 'intradayRefreshWorkflow',
      'Schedule daily-analytics', 'Schedule data-quality', 'Schedule intraday-refresh', 'Schedule weekly-training',
    ];
    for (const name of names) assert.ok(dot.includes(name), `docs/architecture.dot does not mention ${name}`);
  });

  it('the stamp follows the XML declaration, replaces an older one and ignores line endings', () => {
    const svg = '<?xml version="1.0"?>\n<svg></svg>\n';
    const once = stampSvg(svg, 'a'.repeat(64));
    assert.equal(once, `<?xml version="1.0"?>\n<!-- source-sha256: ${'a'.repeat(64)} -->\n<svg></svg>\n`);
    const twice = stampSvg(once, 'b'.repeat(64));
    assert.equal(stampOf(twice), 'b'.repeat(64));
    assert.equal(twice.match(/source-sha256/g)?.length, 1);
    assert.equal(sourceHash('digraph {\r\n}\r\n'), sourceHash('digraph {\n}\n'));
    assert.notEqual(sourceHash('digraph { a }'), sourceHash('digraph { b }'));
  });
});
