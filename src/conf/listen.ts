// `listen:` values: "host:port" or "/path/to/socket [permissions]" (port of nc_conf.c conf_set_listen).

import type { ListenConf } from "./types.ts";
import type { Checked } from "./errors.ts";
import { ncAtoi, validPort } from "./atoi.ts";
import { listenHost } from "./host.ts";

/** sizeof(sockaddr_un.sun_path) on Linux; twemproxy's nc_resolve_unix needs room for the NUL. */
export const UNIX_PATH_MAX = 108;

const utf8 = new TextEncoder();

/**
 * C strtol(s, NULL, 8) as twemproxy uses it for the permission field: leading blanks, a sign,
 * then as many octal digits as there are. No digits gives 0 (so `abc` and `0999` read as 0,
 * which twemproxy accepts and treats as "do not chmod"). Returns null on overflow (ERANGE).
 */
function strtolOctal(s: string): number | null {
  let i = 0;
  while (i < s.length && " \t\n\v\f\r".includes(s[i]!)) i++;
  let neg = false;
  if (s[i] === "+" || s[i] === "-") {
    neg = s[i] === "-";
    i++;
  }
  let v = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 55) break; // '0'..'7'
    v = v * 8 + (c - 48);
    if (v > Number.MAX_SAFE_INTEGER) return null; // far past LONG_MAX's reach for a mode anyway
  }
  return neg ? -v : v;
}

/**
 * Parses one `listen:` value.
 *
 * - A value starting with `/` is a unix socket path, optionally followed by a space and an octal
 *   mode; the split is at the last space, so `/tmp/a b 0666` is the path `/tmp/a b`.
 * - Anything else is split at the last `:` into host and port, so an IPv6 address needs no
 *   brackets (`::1:22121`). `[::1]:22121` is also accepted here (twemproxy rejects it).
 *
 * @example
 * ```ts
 * parseListen("/tmp/nc.sock 0666"); // { ok: true, value: { pname: "/tmp/nc.sock 0666", endpoint: { path: "/tmp/nc.sock" }, mode: 0o666 } }
 * ```
 */
export function parseListen(value: string): Checked<ListenConf> {
  if (value.startsWith("/")) {
    const sp = value.lastIndexOf(" ");
    let path = value;
    let mode: number | null = null;
    if (sp >= 0) {
      path = value.slice(0, sp);
      const permText = value.slice(sp + 1);
      const perm = strtolOctal(permText);
      if (perm === null || perm < 0 || perm > 0o777) {
        return {
          ok: false,
          code: "E_CONF_INVALID_LISTEN",
          detail: `invalid permissions "${permText}" in "${value}": expected an octal mode up to 0777`,
        };
      }
      // 0 means "leave the mode alone" in twemproxy (nc_proxy.c only chmods when perm != 0)
      mode = perm === 0 ? null : perm;
    }
    if (utf8.encode(path).length >= UNIX_PATH_MAX) {
      return {
        ok: false,
        code: "E_CONF_INVALID_LISTEN",
        detail: `unix socket path "${path}" is longer than ${UNIX_PATH_MAX - 1} bytes`,
      };
    }
    return { ok: true, value: { pname: value, endpoint: { path }, mode } };
  }

  const colon = value.lastIndexOf(":");
  if (colon < 0) {
    return {
      ok: false,
      code: "E_CONF_INVALID_LISTEN",
      detail: `invalid listen "${value}": expected "host:port" or "/path/to/socket [permissions]"`,
    };
  }
  const port = ncAtoi(value.slice(colon + 1));
  if (!validPort(port)) {
    return { ok: false, code: "E_CONF_INVALID_LISTEN", detail: `invalid port in "${value}": expected 1..65535` };
  }
  const hostText = value.slice(0, colon);
  const host = listenHost(hostText);
  if (host === null) {
    return { ok: false, code: "E_CONF_INVALID_LISTEN", detail: `invalid host "${hostText}" in "${value}"` };
  }
  return { ok: true, value: { pname: value, endpoint: { host, port }, mode: null } };
}
