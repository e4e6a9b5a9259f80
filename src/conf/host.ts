// Syntax check for a listen host, standing in for the getaddrinfo() twemproxy runs at load time.
//
// twemproxy resolves `listen:` while loading the file (nc_resolve in conf_set_listen), so a host
// that does not resolve makes the file invalid. Loading is synchronous here and does no DNS: we
// accept IP literals and anything shaped like a host name, and the runtime resolves it at bind time.
// So an unresolvable name (`nosuchhost.invalid:22121`) passes here and fails later, when listening.

/** Four decimal octets, 0..255 each (the form allowed inside an IPv6 literal). */
function isDottedQuad(s: string): boolean {
  const parts = s.split(".");
  if (parts.length !== 4) return false;
  return parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255);
}

const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** An IPv6 literal as inet_pton(AF_INET6) takes it, plus an optional `%zone` (getaddrinfo allows one). */
export function isIPv6(text: string): boolean {
  let s = text;
  const zone = s.indexOf("%");
  if (zone >= 0) {
    if (zone === s.length - 1) return false;
    s = s.slice(0, zone);
  }
  const lastColon = s.lastIndexOf(":");
  if (lastColon < 0) return false;
  const tail = s.slice(lastColon + 1);
  if (tail.includes(".")) {
    if (!isDottedQuad(tail)) return false;
    s = `${s.slice(0, lastColon + 1)}0:0`; // the IPv4 tail stands for two groups
  }
  const dbl = s.indexOf("::");
  if (dbl !== s.lastIndexOf("::")) return false;
  if (dbl < 0) {
    const groups = s.split(":");
    return groups.length === 8 && groups.every((g) => HEX_GROUP.test(g));
  }
  const head = s.slice(0, dbl);
  const rest = s.slice(dbl + 2);
  const groups = [...(head === "" ? [] : head.split(":")), ...(rest === "" ? [] : rest.split(":"))];
  return groups.length <= 7 && groups.every((g) => HEX_GROUP.test(g));
}

// Letters, digits, `-` and `_` in dot-separated labels; also covers IPv4 in every form
// inet_aton accepts (`127.1`, `0x7f.0.0.1`), which getaddrinfo takes as numeric.
const HOST_NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/;

/**
 * Returns the host to connect to or bind: `host` itself, or the address inside `[...]`; null when
 * getaddrinfo could never resolve it (empty, spaces, `*`, a malformed IPv6 literal).
 *
 * The `[::1]` form is our extension: twemproxy passes the brackets to getaddrinfo, which fails.
 */
export function listenHost(host: string): string | null {
  if (host.startsWith("[") && host.endsWith("]")) {
    const inner = host.slice(1, -1);
    return isIPv6(inner) ? inner : null;
  }
  if (host.includes(":")) return isIPv6(host) ? host : null;
  return host.length <= 253 && HOST_NAME.test(host) ? host : null;
}
