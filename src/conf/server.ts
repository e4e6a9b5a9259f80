// `servers:` entries: "host:port:weight [name]" or "/path:weight [name]" (port of nc_conf.c conf_add_server).

import type { ServerConf } from "./types.ts";
import type { Checked } from "./errors.ts";
import { ncAtoi, validPort } from "./atoi.ts";

/**
 * libmemcached compatibility in twemproxy: an unnamed server on this port is hashed (named) by its
 * host alone, so `127.0.0.1:11211:1` is named `127.0.0.1`.
 */
const KETAMA_DEFAULT_PORT = 11211;

/** The delimiters conf_add_server searches for from the end, in order: name, weight, port, and its NUL sentinel. */
const DELIMS = [" ", ":", ":", "\0"] as const;

/**
 * Parses one `servers:` entry exactly as conf_add_server scans it: from the end, the last space
 * starts the optional name, then the last `:` the weight, then (for a host) the last `:` the port.
 * The host is whatever remains, unchecked: twemproxy resolves servers lazily, at connect time.
 *
 * The name, when none is given, is what ketama hashes, and twemproxy builds it from the text:
 * `host:port` as written, `host` alone when the port is 11211, and for a unix socket the path
 * followed by a colon (`/tmp/r.sock:`), a quirk kept because it decides key placement.
 *
 * Our one change: a bracketed IPv6 host (`[::1]:6379:1`) keeps its brackets in `name` (as
 * twemproxy does) but not in `endpoint.host`, so it can be connected to.
 *
 * @example
 * ```ts
 * parseServer("127.0.0.1:6379:1 alpha", 3).value; // name "alpha", pname "127.0.0.1:6379:1", weight 1
 * parseServer("/tmp/r.sock:2", 4).value;         // name "/tmp/r.sock:", endpoint { path: "/tmp/r.sock" }
 * ```
 */
export function parseServer(value: string, line: number): Checked<ServerConf> {
  const unix = value.startsWith("/");
  const delimCount = unix ? 2 : 3;
  let p = value.length - 1; // last index still to scan, inclusive
  let name: string | null = null;
  let weightText = "";
  let portText = "";
  let k = 0;
  for (; k < DELIMS.length; k++) {
    const q = p < 0 ? -1 : value.lastIndexOf(DELIMS[k]!, p);
    if (q < 0) {
      if (k === 0) continue; // the name is optional
      break;
    }
    const field = value.slice(q + 1, p + 1);
    if (k === 0) name = field;
    else if (k === 1) weightText = field;
    else if (k === 2) portText = field;
    p = q - 1;
  }
  if (k !== delimCount) {
    return {
      ok: false,
      code: "E_CONF_INVALID_SERVER",
      detail: `invalid server "${value}": expected "host:port:weight [name]" or "/path/to/socket:weight [name]"`,
    };
  }

  // a trailing space gives an empty name and leaves the space in pname, as in twemproxy
  const pname = name !== null && name.length > 0 ? value.slice(0, value.length - name.length - 1) : value;
  const addr = value.slice(0, p + 1);

  const weight = ncAtoi(weightText);
  if (weight < 0) {
    return { ok: false, code: "E_CONF_INVALID_SERVER", detail: `invalid weight "${weightText}" in "${value}"` };
  }
  if (weight === 0) {
    return { ok: false, code: "E_CONF_ZERO_WEIGHT", detail: `zero weight in "${value}": weight must be at least 1` };
  }

  let port = 0;
  if (!unix) {
    port = ncAtoi(portText);
    if (!validPort(port)) {
      return { ok: false, code: "E_CONF_INVALID_SERVER", detail: `invalid port in "${value}": expected 1..65535` };
    }
  }

  const named = name !== null;
  if (name === null) {
    name = !unix && port === KETAMA_DEFAULT_PORT ? addr : value.slice(0, addr.length + 1 + portText.length);
  }

  const host = addr.startsWith("[") && addr.endsWith("]") ? addr.slice(1, -1) : addr;
  const endpoint = unix ? { path: addr } : { host, port };
  return { ok: true, value: { pname, name, named, endpoint, weight, line } };
}
