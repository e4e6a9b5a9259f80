// Throwaway certificates for TLS tests, made with the openssl command line (Debian's, v3.0): two
// unrelated CAs, server certificates for localhost and 127.0.0.1, a client certificate, and one
// that expired in 2020 (openssl 3.0's `x509 -req` has no -not_before, so `openssl ca` dates it).

import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A certificate and its key, as file paths. */
export interface CertPair {
  readonly cert: string;
  readonly key: string;
}

/** Every file `makeCerts` writes. */
export interface Certs {
  readonly dir: string;
  /** The CA that signed `server`, `client` and `expired`. */
  readonly ca: string;
  /** CN=localhost, SAN DNS:localhost and IP:127.0.0.1, signed by `ca`. */
  readonly server: CertPair;
  /** CN=nc-test-client (clientAuth), signed by `ca`. */
  readonly client: CertPair;
  /** A second CA nobody trusts, and a localhost certificate it signed. */
  readonly otherCa: string;
  readonly otherServer: CertPair;
  /** Like `server`, signed by `ca`, valid from 2020-01-01 to 2020-01-02 only. */
  readonly expired: CertPair;
}

function openssl(cwd: string, args: string[]): void {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (r.error !== undefined) throw new Error(`Cannot run openssl: ${r.error.message} (.ci/run installs it)`);
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
}

const SERVER_EXT = "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
const CLIENT_EXT = "extendedKeyUsage=clientAuth\n";
// `openssl ca` wants a database; this is the least it takes
const CA_CONF = `[ca]
default_ca = d
[d]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = p
[p]
commonName = supplied
`;

/** Make the certificates in a new temp directory (P-256 keys: quick to make and to use). */
export function makeCerts(): Certs {
  const dir = mkdtempSync(join(tmpdir(), "nc-certs-"));
  const at = (f: string) => join(dir, f);
  const key = (name: string) => openssl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`]);
  const csr = (name: string, cn: string) => {
    key(name);
    openssl(dir, ["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`]);
  };
  const sign = (name: string, ca: string, ext: string) =>
    openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", `${name}.crt`]);
  writeFileSync(at("server.ext"), SERVER_EXT);
  writeFileSync(at("client.ext"), CLIENT_EXT);
  for (const [ca, cn] of [["ca", "nc-test-ca"], ["other-ca", "nc-test-other-ca"]] as const) {
    key(ca);
    openssl(dir, ["req", "-x509", "-new", "-key", `${ca}.key`, "-subj", `/CN=${cn}`, "-days", "30", "-out", `${ca}.crt`]);
  }
  csr("server", "localhost");
  sign("server", "ca", "server.ext");
  csr("client", "nc-test-client");
  sign("client", "ca", "client.ext");
  csr("other-server", "localhost");
  sign("other-server", "other-ca", "server.ext");
  csr("expired", "localhost");
  writeFileSync(at("ca.conf"), CA_CONF);
  writeFileSync(at("index.txt"), "");
  writeFileSync(at("serial"), "1000\n");
  openssl(dir, [
    "ca", "-batch", "-notext", "-config", "ca.conf", "-cert", "ca.crt", "-keyfile", "ca.key", "-in", "expired.csr", "-out", "expired.crt",
    "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-extfile", "server.ext",
  ]);
  const pair = (name: string): CertPair => ({ cert: at(`${name}.crt`), key: at(`${name}.key`) });
  return {
    dir,
    ca: at("ca.crt"),
    server: pair("server"),
    client: pair("client"),
    otherCa: at("other-ca.crt"),
    otherServer: pair("other-server"),
    expired: pair("expired"),
  };
}
