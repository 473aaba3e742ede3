/**
 * Screenshots for the docs, taken with Debian's chromium (no browser download):
 *
 *   node dist/scripts/screenshot.js <url> <out.png> [--width 1440] [--height 900] [--wait-for <css>] [--click <text>]
 *
 * e.g. the Temporal Web UI's workflow list of a running stack:
 *   node dist/scripts/screenshot.js http://127.0.0.1:8233/namespaces/default/workflows docs/images/temporal-ui.png
 */
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

/** The flags this machine needs: no sandbox as root, and no background calls to Google's hosts. */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { width: { type: 'string', default: '1440' }, height: { type: 'string', default: '900' }, 'wait-for': { type: 'string' }, click: { type: 'string' } },
  });
  const [url, out] = positionals;
  if (!url || !out) throw new Error('usage: screenshot.js <url> <out.png> [--width N] [--height N] [--wait-for CSS]');
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: Number(values.width), height: Number(values.height) } });
    await page.goto(url, { waitUntil: 'networkidle', timeout: 30_000 });
    if (values['wait-for']) await page.waitForSelector(values['wait-for'], { timeout: 15_000 });
    if (values.click) await page.getByText(values.click, { exact: true }).first().click();
    await page.waitForTimeout(1_000);
    await page.screenshot({ path: out });
    console.log(`wrote ${out}`);
  } finally {
    await browser.close();
  }
}

main().catch((err: unknown) => {
  console.error(`screenshot: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
