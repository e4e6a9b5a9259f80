// Numbers in request tokens, read exactly as memcached 1.6 reads them (util.c safe_strto*), and written back.
//
// memcached hands each token to strtol/strtoul/strtoull and then stores the result in a narrower
// C type, so its quirks are part of the protocol: leading whitespace and a sign are accepted, the
// token must end right after the digits (or at a whitespace byte such as a stray '\r'), a flags
// value of 2^32 stores as 0 (unsigned long -> uint32_t), a length of 2^32+1 reads as 1 (long ->
// int32_t), and "-1" is refused by the unsigned readers only because the result, read as signed,
// is negative and the token holds a '-'. The fast path handles plain digit strings without BigInt.

const TWO32 = 4294967296;
const TWO63 = 1n << 63n;
const TWO64 = 1n << 64n;

/** C isspace: space, \t, \n, \v, \f, \r. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

// Scratch results of scan(): kept in module slots so the hot path allocates nothing.
let sNeg = false;
let sEnd = 0;
let sDigits = 0;
let sHasMinus = false;

/**
 * Scan `buf[s..e)` as strtol does (whitespace, sign, decimal digits) and check what safe_strto*
 * checks after it. Returns false when there are no digits or the byte after them is not the end
 * of the token and not whitespace. Leaves sign, digit span and "token holds a '-'" in the slots.
 */
function scan(buf: Uint8Array, s: number, e: number): boolean {
  let i = s;
  while (i < e && isSpace(buf[i]!)) i++;
  sNeg = false;
  if (i < e && (buf[i] === 43 || buf[i] === 45)) {
    sNeg = buf[i] === 45; // 45 = '-', 43 = '+'
    i++;
  }
  const d = i;
  while (i < e && buf[i]! >= 48 && buf[i]! <= 57) i++;
  if (i === d) return false;
  sDigits = d;
  sEnd = i;
  // a NUL ends a C string: only item values can hold one (request lines are cut at the first NUL)
  if (i < e && !isSpace(buf[i]!) && buf[i] !== 0) return false;
  sHasMinus = false;
  for (let j = s; j < e && buf[j] !== 0; j++) {
    if (buf[j] === 45) {
      sHasMinus = true;
      break;
    }
  }
  return true;
}

/** The digits scan() found, as an exact BigInt (slow path for long tokens). */
function digitsBig(buf: Uint8Array): bigint {
  let v = 0n;
  for (let i = sDigits; i < sEnd; i++) v = v * 10n + BigInt(buf[i]! - 48);
  return v;
}

/** The digits scan() found as a number when there are at most 15 of them (always exact), else -1. */
function digitsSmall(buf: Uint8Array): number {
  if (sEnd - sDigits > 15) return -1;
  let v = 0;
  for (let i = sDigits; i < sEnd; i++) v = v * 10 + (buf[i]! - 48);
  return v;
}

/**
 * strtoull's result for what scan() found: the magnitude negated modulo 2^64 when signed, or -1n
 * on ERANGE (magnitude above 2^64-1).
 */
function strtoull(buf: Uint8Array): bigint {
  const v = digitsBig(buf);
  if (v >= TWO64) return -1n;
  return sNeg && v !== 0n ? TWO64 - v : v;
}

/**
 * memcached's safe_strtoul into a uint32_t (flags, verbosity level): the value modulo 2^32, or -1
 * when the token is not a number.
 *
 * @example
 * ```ts
 * parseU32(ascii("4294967297"), 0, 10); // 1
 * parseU32(ascii("-1"), 0, 2); // -1
 * ```
 */
export function parseU32(buf: Uint8Array, s: number, e: number): number {
  if (!scan(buf, s, e)) return -1;
  const small = digitsSmall(buf);
  if (small >= 0 && (!sNeg || small === 0)) return small % TWO32;
  const r = strtoull(buf);
  if (r < 0n) return -1;
  if (r >= TWO63 && sHasMinus) return -1;
  return Number(r % BigInt(TWO32));
}

/**
 * memcached's safe_strtol into an int32_t (exptime, value length): strtol's long, truncated to
 * 32 bits and read as signed; NaN when the token is not a number or is out of long's range.
 *
 * @example
 * ```ts
 * parseI32(ascii("-5"), 0, 2); // -5
 * parseI32(ascii("4294967297"), 0, 10); // 1
 * ```
 */
export function parseI32(buf: Uint8Array, s: number, e: number): number {
  if (!scan(buf, s, e)) return NaN;
  const small = digitsSmall(buf);
  if (small >= 0) return (sNeg ? -small : small) | 0;
  const v = digitsBig(buf);
  if (sNeg ? v > TWO63 : v >= TWO63) return NaN;
  return Number(BigInt.asIntN(32, sNeg ? -v : v));
}

/**
 * memcached's safe_strtoull (delta, cas unique, meta C/J/D): -1 when not a number, else the value.
 * Values of 2^53 and more come back rounded; u64Exact() gives the exact one.
 */
export function parseU64(buf: Uint8Array, s: number, e: number): number {
  if (!scan(buf, s, e)) return -1;
  const small = digitsSmall(buf);
  if (small >= 0 && (!sNeg || small === 0)) return small;
  const r = strtoull(buf);
  if (r < 0n) return -1;
  if (r >= TWO63 && sHasMinus) return -1;
  return Number(r);
}

/**
 * The exact 64-bit value of `n`, what parseU64 returned for `buf[s..e)`: BigInt(n) when that is
 * exact (below 2^53), else the token read again as a BigInt (rare: a delta or cas that large).
 */
export function u64Exact(buf: Uint8Array, s: number, e: number, n: number): bigint {
  if (n <= Number.MAX_SAFE_INTEGER) return BigInt(n);
  scan(buf, s, e);
  return strtoull(buf);
}

/**
 * incr/decr on a 64-bit unsigned value as memcached's do_add_delta does: incr wraps at 2^64, decr
 * stops at 0. Numbers stay numbers while everything is below 2^53.
 */
export function addDelta(value: number, valueBig: bigint, delta: number, deltaBig: bigint, incr: boolean): bigint | number {
  const small = value <= Number.MAX_SAFE_INTEGER && delta <= Number.MAX_SAFE_INTEGER;
  if (small) {
    if (!incr) return delta > value ? 0 : value - delta;
    const sum = value + delta;
    if (sum <= Number.MAX_SAFE_INTEGER) return sum;
  }
  if (!incr) return deltaBig > valueBig ? 0n : valueBig - deltaBig;
  return (valueBig + deltaBig) % TWO64;
}

/** Byte length of the decimal form of a non-negative integer below 2^53. */
export function decimalLength(n: number): number {
  let len = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    len++;
  }
  return len;
}

/** Write the decimal form of a non-negative integer below 2^53 at `buf[at]`; returns the end offset. */
export function writeDecimal(buf: Uint8Array, at: number, n: number): number {
  const len = decimalLength(n);
  let i = at + len;
  do {
    const q = Math.floor(n / 10);
    buf[--i] = 48 + (n - q * 10);
    n = q;
  } while (n > 0);
  return at + len;
}
