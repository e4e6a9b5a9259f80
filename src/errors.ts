// Error texts the proxy sends: strerror() wording for errno names, as twemproxy prints them.

import type { ErrnoName } from "../runtime/types.ts";

/** Linux strerror() text for each errno name (twemproxy puts it in `-ERR`/`SERVER_ERROR` replies). */
export const STRERROR: Readonly<Record<ErrnoName, string>> = {
  ECONNREFUSED: "Connection refused",
  ECONNRESET: "Connection reset by peer",
  ECONNABORTED: "Software caused connection abort",
  ETIMEDOUT: "Connection timed out",
  EPIPE: "Broken pipe",
  EHOSTDOWN: "Host is down",
  EHOSTUNREACH: "No route to host",
  ENETUNREACH: "Network is unreachable",
  EADDRINUSE: "Address already in use",
  EADDRNOTAVAIL: "Cannot assign requested address",
  EACCES: "Permission denied",
  ENOENT: "No such file or directory",
  EINVAL: "Invalid argument",
  EMFILE: "Too many open files",
  EIO: "Input/output error",
  EROFS: "Read-only file system",
  EPROTO: "Protocol error",
};

/** strerror(err), or "unknown" when no errno was recorded (twemproxy's msg_get_error). */
export function strerror(err: ErrnoName | null): string {
  return err === null ? "unknown" : STRERROR[err];
}
