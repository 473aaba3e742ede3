/**
 * Shrink a screenshot for the docs: an 8-bit RGB(A) PNG (what chromium writes) to a 256-colour
 * palette PNG, with node:zlib only. A dashboard is mostly flat colours, so the picture looks the
 * same at a third of the bytes or less.
 *
 * Quantisation: colours are counted in 15-bit buckets (5 bits a channel); the 256 most frequent
 * buckets (their mean colour) are the palette, and every bucket maps to its nearest entry.
 */
import * as zlib from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface Decoded {
  width: number;
  height: number;
  /** RGB triples, row-major. */
  rgb: Uint8Array;
}

function decode(png: Buffer): Decoded {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      colorType = data[9];
      if (depth !== 8 || (colorType !== 2 && colorType !== 6) || data[12] !== 0) throw new Error(`unsupported PNG: depth ${depth}, colour type ${colorType}, interlace ${data[12]}`);
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    at += 12 + length;
  }
  const bpp = colorType === 6 ? 4 : 3;
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? pixels[out + x - bpp] : 0;
      const b = y > 0 ? pixels[out - stride + x] : 0;
      const c = x >= bpp && y > 0 ? pixels[out - stride + x - bpp] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      pixels[out + x] = v & 0xff;
    }
  }
  if (bpp === 3) return { width, height, rgb: pixels };
  // Alpha over white, as the page is shown.
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < pixels.length; i += 4, j += 3) {
    const alpha = pixels[i + 3] / 255;
    for (let k = 0; k < 3; k++) rgb[j + k] = Math.round(pixels[i + k] * alpha + 255 * (1 - alpha));
  }
  return { width, height, rgb };
}

// zlib.crc32 needs Node 20.15; package.json allows 20.3.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let c = 0xffffffff;
  for (const byte of data) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

export function toPalettePng(png: Buffer): Buffer {
  const { width, height, rgb } = decode(png);
  const buckets = 1 << 15;
  const count = new Uint32Array(buckets);
  const sums = new Float64Array(buckets * 3);
  const bucketOf = new Uint16Array(width * height);
  for (let p = 0, i = 0; p < width * height; p++, i += 3) {
    const bucket = ((rgb[i] >> 3) << 10) | ((rgb[i + 1] >> 3) << 5) | (rgb[i + 2] >> 3);
    bucketOf[p] = bucket;
    count[bucket]++;
    sums[bucket * 3] += rgb[i];
    sums[bucket * 3 + 1] += rgb[i + 1];
    sums[bucket * 3 + 2] += rgb[i + 2];
  }
  const used = [...count.keys()].filter((b) => count[b] > 0).sort((a, b) => count[b] - count[a]);
  const chosen = used.slice(0, 256);
  const palette = chosen.map((b) => [0, 1, 2].map((k) => Math.round(sums[b * 3 + k] / count[b])));
  const entryOf = new Uint8Array(buckets);
  for (const b of used) {
    const r = ((b >> 10) << 3) + 4;
    const g = (((b >> 5) & 31) << 3) + 4;
    const bl = ((b & 31) << 3) + 4;
    let best = 0;
    let bestDistance = Infinity;
    palette.forEach(([pr, pg, pb], i) => {
      const d = (pr - r) ** 2 + (pg - g) ** 2 + (pb - bl) ** 2;
      if (d < bestDistance) {
        bestDistance = d;
        best = i;
      }
    });
    entryOf[b] = best;
  }
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width + 1)] = 0;
    for (let x = 0; x < width; x++) raw[y * (width + 1) + 1 + x] = entryOf[bucketOf[y * width + x]];
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 3; // palette
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('PLTE', Buffer.from(palette.flat())),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
