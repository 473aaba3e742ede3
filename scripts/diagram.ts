/**
 * `npm run docs:diagram`: docs/architecture.dot -> docs/architecture.svg with Graphviz
 * (`dot -Tsvg`, Debian package graphviz, installed by scripts/setup.sh), stamped with the SHA-256
 * of the source as `<!-- source-sha256: <hex> -->`. test/docs.test.ts compares that stamp with the
 * source's hash, so a picture older than its source fails the tests in any clone (file times
 * would not: a checkout sets them all). `--check` only compares (exit 1 when stale).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../lib/files';
import { PROJECT_ROOT } from '../lib/paths';

export const DIAGRAM_SOURCE = path.join(PROJECT_ROOT, 'docs', 'architecture.dot');
export const DIAGRAM_SVG = path.join(PROJECT_ROOT, 'docs', 'architecture.svg');

const STAMP = /<!-- source-sha256: ([0-9a-f]{64}) -->/;

/** SHA-256 of the source text, line endings normalised (a CRLF checkout is the same source). */
export function sourceHash(dot: string): string {
  return createHash('sha256').update(dot.replace(/\r\n/g, '\n')).digest('hex');
}

/** The SVG with the stamp as its first comment, after the XML declaration (replacing an older stamp). */
export function stampSvg(svg: string, hash: string): string {
  const comment = `<!-- source-sha256: ${hash} -->`;
  const unstamped = svg.replace(new RegExp(`${STAMP.source}\\n?`), '');
  const decl = /^<\?xml[^>]*\?>\n?/.exec(unstamped);
  if (!decl) return `${comment}\n${unstamped}`;
  return `${decl[0].endsWith('\n') ? decl[0] : `${decl[0]}\n`}${comment}\n${unstamped.slice(decl[0].length)}`;
}

/** The source hash an SVG was generated from, or undefined when it carries no stamp. */
export function stampOf(svg: string): string | undefined {
  return STAMP.exec(svg)?.[1];
}

function render(source: string): string {
  const run = spawnSync('dot', ['-Tsvg', source], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error) {
    const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? 'Graphviz "dot" not found: run "npm run setup" (or apt-get install -y graphviz)' : run.error.message);
  }
  if (run.status !== 0) throw new Error(`dot -Tsvg ${source} failed (exit ${String(run.status)}):\n${run.stderr}`);
  return run.stdout;
}

function main(argv: string[]): number {
  const dot = fs.readFileSync(DIAGRAM_SOURCE, 'utf8');
  const hash = sourceHash(dot);
  const rel = (f: string): string => path.relative(PROJECT_ROOT, f);
  if (argv.includes('--check')) {
    const stamp = fs.existsSync(DIAGRAM_SVG) ? stampOf(fs.readFileSync(DIAGRAM_SVG, 'utf8')) : undefined;
    if (stamp === hash) {
      console.log(`${rel(DIAGRAM_SVG)} is up to date with ${rel(DIAGRAM_SOURCE)}`);
      return 0;
    }
    console.error(`${rel(DIAGRAM_SVG)} is stale (made from ${stamp ?? 'no stamp'}, source is ${hash}): run "npm run docs:diagram"`);
    return 1;
  }
  writeFileAtomicSync(DIAGRAM_SVG, stampSvg(render(DIAGRAM_SOURCE), hash));
  console.log(`wrote ${rel(DIAGRAM_SVG)} from ${rel(DIAGRAM_SOURCE)} (source-sha256 ${hash.slice(0, 12)}…)`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error(`docs:diagram: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
