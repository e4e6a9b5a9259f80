// A pool's TLS files, read once when the pool is made (start, reload) and checked as PEM, so a missing or wrong file is named before any connection.

import type { Runtime, TlsOptions } from "../../runtime/types.ts";
import type { PoolConf } from "../conf/types.ts";

/** What the runtime's connect and listen take for a pool: PEM texts, or undefined for plain TCP. */
export interface PoolTls {
  readonly servers: TlsOptions | undefined;
  readonly listen: TlsOptions | undefined;
}

export const NO_TLS: PoolTls = { servers: undefined, listen: undefined };

/** `file`'s text if it holds a PEM block of `what`; else an Error naming the file and the key. */
function pem(rt: Runtime, pool: string, key: string, file: string): string {
  let text: string;
  try {
    text = rt.readTextFile(file);
  } catch (e) {
    throw new Error(`pool "${pool}" key "${key}": cannot read "${file}": ${(e as Error).message}`);
  }
  if (!/-----BEGIN [A-Z0-9 ]+-----\r?\n[A-Za-z0-9+/=\r\n]+-----END [A-Z0-9 ]+-----/.test(text)) {
    throw new Error(`pool "${pool}" key "${key}": "${file}" is not PEM (no -----BEGIN ...----- block)`);
  }
  return text;
}

/** Read and check every TLS file `conf` names; throws an Error that names the first bad one. */
export function loadTls(rt: Runtime, conf: PoolConf): PoolTls {
  const t = conf.tls;
  if (t === null) return NO_TLS;
  const read = (key: string, file: string | null) => (file === null ? undefined : pem(rt, conf.name, key, file));
  const s = t.servers;
  const l = t.listen;
  return {
    servers:
      s === null
        ? undefined
        : {
          ca: read("tls_ca_file", s.ca),
          cert: read("tls_cert_file", s.cert),
          key: read("tls_key_file", s.key),
          serverName: s.serverName ?? undefined,
          verify: s.verify,
          // the pool's timeout bounds a handshake too; without one, a second
          handshakeMs: conf.timeout > 0 ? conf.timeout : 1000,
        },
    listen:
      l === null ? undefined : { cert: read("listen_tls_cert_file", l.cert), key: read("listen_tls_key_file", l.key), ca: read("listen_tls_ca_file", l.ca) },
  };
}
