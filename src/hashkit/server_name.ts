// Server identity and order as twemproxy's nc_conf.c defines them (conf_add_server, conf_server_name_cmp).
//
// The identity is what ketama hashes (`md5("<name>-<i>")`) and what the pool's
// servers are sorted by, so both must match nutcracker byte for byte or keys move.

const encoder = new TextEncoder();

/**
 * twemproxy's server sort order (`string_compare`): shorter names first, then
 * names of equal length by unsigned byte order of their UTF-8 encoding.
 *
 * Not JS string order: "b" < "aa" here, and "é" (2 bytes) sorts after "z".
 * Config-time only (it allocates the encodings).
 *
 * @example
 * ```ts
 * ["gamma", "beta", "alpha", "delta"].sort(compareServerNames); // ["beta", "alpha", "delta", "gamma"]
 * ```
 */
export function compareServerNames(a: string, b: string): number {
  const ea = encoder.encode(a);
  const eb = encoder.encode(b);
  if (ea.length !== eb.length) {
    return ea.length < eb.length ? -1 : 1;
  }
  for (let i = 0; i < ea.length; i++) {
    const d = ea[i]! - eb[i]!;
    if (d !== 0) {
      return d < 0 ? -1 : 1;
    }
  }
  return 0;
}

/**
 * The identity twemproxy gives a server entry that has no explicit `[name]`
 * (conf_add_server in nc_conf.c, checked against nutcracker 0.5.0's stats output):
 *
 * - `host:port` with the port text exactly as written (`127.0.0.1:06379` stays so);
 * - only `host` when the port's value is 11211, libmemcached's default, "to
 *   maintain backward compatibility with libmemcached" (`127.0.0.1:11211:1` → `127.0.0.1`);
 * - for a unix socket (`/path:weight`) the path followed by a `:` (`/tmp/r.sock:`),
 *   because the C takes one byte past the address for the missing port.
 *
 * @param addr the host, IP or socket path as written
 * @param portText the port digits as written, or null for a unix socket path
 *
 * @example
 * ```ts
 * defaultServerName("127.0.0.1", "6379"); // "127.0.0.1:6379"
 * defaultServerName("127.0.0.1", "11211"); // "127.0.0.1"
 * defaultServerName("/tmp/r.sock", null); // "/tmp/r.sock:"
 * ```
 */
export function defaultServerName(addr: string, portText: string | null): string {
  if (portText === null) {
    return `${addr}:`;
  }
  if (/^[0-9]+$/.test(portText) && Number(portText) === 11211) {
    return addr;
  }
  return `${addr}:${portText}`;
}
