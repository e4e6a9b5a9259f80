// twemproxy's nc_atoi: the only number syntax its config and command line accept.

/**
 * Parses a non-negative decimal integer the way nc_util.c _nc_atoi does: digits only, no sign,
 * no spaces, no `0x`, leading zeros allowed (`0400` is 400). Returns -1 when `s` is anything else.
 *
 * Deliberate difference: nc_atoi computes in a C `int` and lets it wrap, so twemproxy takes
 * `4294967297` as 1 while `2147483648` is "not a number". Here every value above 2^31-1 is -1.
 *
 * @example
 * ```ts
 * ncAtoi("0400"); // 400
 * ncAtoi("-1");   // -1
 * ```
 */
export function ncAtoi(s: string): number {
  if (s.length === 0) return -1;
  let value = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return -1; // 48 = '0', 57 = '9'
    value = value * 10 + (c - 48);
    if (value > 0x7fffffff) return -1;
  }
  return value;
}

/** nc_valid_port: 1..65535. */
export function validPort(n: number): boolean {
  return n >= 1 && n <= 0xffff;
}
