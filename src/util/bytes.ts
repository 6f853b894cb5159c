/**
 * Bounds-checked readers and writers over byte arrays.
 *
 * TPM structures are big-endian; TCG event logs are little-endian. Every read checks the
 * bytes that remain first, so a hostile length field produces a ParseError and never an
 * allocation larger than the input.
 */
import { ParseError } from './errors.ts';

export type Endian = 'be' | 'le';

export class ByteReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    /** TCG structure name used in errors. */
    public structure: string,
    private readonly endian: Endian = 'be',
    /** Offset of `bytes` within the outermost input, so errors point at the real position. */
    private readonly baseOffset = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.pos;
  }

  get absoluteOffset(): number {
    return this.baseOffset + this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  fail(field: string, detail: string, at = this.pos): never {
    throw new ParseError(this.structure, field, this.baseOffset + at, detail);
  }

  need(n: number, field: string): void {
    if (!Number.isSafeInteger(n) || n < 0) this.fail(field, `invalid length ${n}`);
    if (n > this.remaining) this.fail(field, `needs ${n} bytes but only ${this.remaining} remain`);
  }

  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.pos++);
  }

  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos, this.endian === 'le');
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos, this.endian === 'le');
    this.pos += 4;
    return v;
  }

  u64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigUint64(this.pos, this.endian === 'le');
    this.pos += 8;
    return v;
  }

  /** A view (not a copy) of the next n bytes. */
  bytesView(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A TPM2B: u16 size then that many bytes. `max` bounds the size where the spec does. */
  tpm2b(field: string, max?: number): Uint8Array {
    const size = this.u16(`${field}.size`);
    if (max !== undefined && size > max) this.fail(`${field}.size`, `size ${size} exceeds maximum ${max}`, this.pos - 2);
    return this.bytesView(size, `${field}.buffer`);
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }

  /** A reader over the next n bytes, advancing this one past them. */
  sub(n: number, field: string, structure = this.structure): ByteReader {
    const start = this.absoluteOffset;
    return new ByteReader(this.bytesView(n, field), structure, this.endian, start);
  }

  expectEnd(field = 'trailing'): void {
    if (this.remaining !== 0) this.fail(field, `${this.remaining} unexpected trailing bytes`);
  }
}

export class ByteWriter {
  private chunks: Uint8Array[] = [];
  private length = 0;

  constructor(private readonly endian: Endian = 'be') {}

  u8(v: number): this {
    return this.push(Uint8Array.of(v & 0xff));
  }

  u16(v: number): this {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v, this.endian === 'le');
    return this.push(b);
  }

  u32(v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, this.endian === 'le');
    return this.push(b);
  }

  u64(v: bigint): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v, this.endian === 'le');
    return this.push(b);
  }

  bytes(b: Uint8Array): this {
    return this.push(b);
  }

  tpm2b(b: Uint8Array): this {
    if (b.length > 0xffff) throw new RangeError(`TPM2B of ${b.length} bytes exceeds 65535`);
    return this.u16(b.length).push(b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  private push(b: Uint8Array): this {
    this.chunks.push(b);
    this.length += b.length;
    return this;
  }
}
