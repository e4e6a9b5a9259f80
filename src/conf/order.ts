// twemproxy's string_compare: the order of servers (and pools) after the config is validated.

const utf8 = new TextEncoder();

/**
 * Compares like nc_string.c string_compare: a shorter string sorts first, strings of the same
 * length compare bytewise (memcmp on their UTF-8 bytes). twemproxy sorts each pool's servers by
 * name with it, and that order is the ketama/modula server order, so it must match exactly.
 *
 * Cost: encodes both strings, O(length); only used at startup.
 *
 * @example
 * ```ts
 * ["bb", "a", "ab"].sort(compareNames); // ["a", "ab", "bb"]
 * ```
 */
export function compareNames(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  if (x.length !== y.length) return x.length > y.length ? 1 : -1;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - y[i]!;
    if (d !== 0) return d;
  }
  return 0;
}
