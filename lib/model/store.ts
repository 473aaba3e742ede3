/**
 * Where model artifacts (the learner's `RandomForestModel.toBuffer()` bytes) live. The registry
 * (lib/model/registry.ts) records each artifact's path, SHA-256 and size; the store holds the bytes.
 *
 * `FileModelStore` is a local directory (MODEL_STORE_DIR, default data/models) of `<version>.rfm`
 * files, each written atomically (temp file in the same directory, fsync, rename), with a
 * `<version>.rfm.sha256` sidecar so a file can be checked even without the registry.
 *
 * A GCS implementation can follow with the same interface: `put` uploads to
 * `gs://<bucket>/<prefix>/<version>.rfm` with `ifGenerationMatch: 0` (never overwrite) and records
 * the SHA-256 as object metadata; `get` downloads and verifies the same way as here. Not implemented.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorType, ExpectedError } from '../errors';
import { writeFileAtomic } from '../files';

export interface StoredArtifact {
  /** Where the bytes are (a file path here; a gs:// URI in a GCS store). */
  path: string;
  sha256: string;
  bytes: number;
}

export interface ModelStore {
  put(version: string, bytes: Buffer): Promise<StoredArtifact>;
  /** The bytes, verified against `expectedSha256` (or the store's own record of it). */
  get(version: string, expectedSha256?: string): Promise<Buffer>;
}

/** Missing artifact, or its bytes do not match the recorded SHA-256. */
export class ModelStoreError extends ExpectedError {
  override readonly name = ErrorType.ModelStore;
}

const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function assertVersionId(version: string): void {
  if (!VERSION_RE.test(version)) throw new ModelStoreError(`invalid model version "${version}": use letters, digits, ".", "_" and "-"`);
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class FileModelStore implements ModelStore {
  constructor(readonly dir: string) {}

  pathOf(version: string): string {
    assertVersionId(version);
    return path.join(this.dir, `${version}.rfm`);
  }

  async put(version: string, bytes: Buffer): Promise<StoredArtifact> {
    const file = this.pathOf(version);
    await fs.promises.mkdir(this.dir, { recursive: true });
    const sha256 = sha256Hex(bytes);
    await writeFileAtomic(`${file}.sha256`, Buffer.from(`${sha256}  ${path.basename(file)}\n`));
    await writeFileAtomic(file, bytes);
    return { path: file, sha256, bytes: bytes.length };
  }

  async get(version: string, expectedSha256?: string): Promise<Buffer> {
    const file = this.pathOf(version);
    let bytes: Buffer;
    try {
      bytes = await fs.promises.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ModelStoreError(`model artifact not found: ${file}`);
      throw err;
    }
    const expected = expectedSha256 ?? (await this.sidecarSha(file));
    const actual = sha256Hex(bytes);
    if (actual !== expected) {
      throw new ModelStoreError(`model artifact ${file} is corrupt: SHA-256 ${actual} does not match the recorded ${expected}`);
    }
    return bytes;
  }

  private async sidecarSha(file: string): Promise<string> {
    try {
      return (await fs.promises.readFile(`${file}.sha256`, 'utf8')).split(/\s+/)[0] ?? '';
    } catch {
      throw new ModelStoreError(`no recorded SHA-256 for ${file} (missing ${path.basename(file)}.sha256)`);
    }
  }
}
