// The checks of our own pool keys, beyond twemproxy's: replica groups, Redis Cluster, TLS (parse.ts calls them from validatePool).

import type { Draft, Fail, StrKey } from "./parse.ts";
import { READ_FROM, type ReadFrom, type ServerConf, type TlsConf } from "./types.ts";

export function isReadFrom(v: string): v is ReadFrom {
  return (READ_FROM as readonly string[]).includes(v);
}

/**
 * The replica-group keys (ours): `sentinels:` and `replicas:` need a redis pool and each other's
 * absence, every shard needs a name Sentinel or a replica line can refer to, a replica needs a
 * shard, and a read policy other than `master` needs replicas to read from. Returns the replicas.
 */
export function validateGroups(d: Draft, servers: readonly ServerConf[], redis: boolean, fail: Fail): ServerConf[] {
  const { sentinels, replicas } = d.lists;
  const at = (list: readonly ServerConf[]) => list[0]?.line ?? d.line;
  const groupKey = sentinels.length > 0 ? "sentinels" : replicas.length > 0 ? "replicas" : null;
  if (groupKey === null) {
    // a cluster names its own replicas
    if (d.read_from !== undefined && d.read_from !== "master" && d.bools.redis_cluster !== true) {
      throw fail(
        "E_CONF_READ_FROM_NO_REPLICAS",
        d.readLine ?? d.line,
        "read_from",
        d.name,
        `read_from "${d.read_from}" needs replicas to read from: give pool "${d.name}" "sentinels:" or "replicas:"`,
      );
    }
    return [];
  }
  const list = groupKey === "sentinels" ? sentinels : replicas;
  if (!redis) {
    throw fail("E_CONF_GROUPS_NOT_REDIS", at(list), groupKey, d.name, `${groupKey} are only valid for a redis pool: pool "${d.name}" does not set "redis: true"`);
  }
  if (sentinels.length > 0 && replicas.length > 0) {
    throw fail(
      "E_CONF_GROUPS_BOTH",
      at(replicas),
      "replicas",
      d.name,
      `pool "${d.name}" has both "sentinels:" and "replicas:": with Sentinel, replicas are discovered`,
    );
  }
  if (groupKey === "sentinels") {
    for (const s of servers) {
      if (!s.named) {
        throw fail(
          "E_CONF_SHARD_UNNAMED",
          s.line,
          "servers",
          d.name,
          `server "${s.pname}" has no name: with "sentinels:", each server is named by its Sentinel master name`,
        );
      }
    }
    return [];
  }
  const seen = new Set<string>();
  for (const r of replicas) {
    if (!r.named || !servers.some((s) => s.name === r.name)) {
      throw fail(
        "E_CONF_REPLICA_NO_MASTER",
        r.line,
        "replicas",
        d.name,
        r.named
          ? `replica "${r.pname}" names shard "${r.name}", but no server of pool "${d.name}" has that name (its master)`
          : `replica "${r.pname}" has no name: name it after the server (shard) it replicates`,
      );
    }
    const id = `${r.name} ${r.pname}`;
    if (seen.has(id)) throw fail("E_CONF_DUPLICATE_SERVER", r.line, "replicas", d.name, `replica "${r.pname}" of shard "${r.name}" is listed twice`);
    seen.add(id);
  }
  return replicas;
}

/**
 * `redis_cluster` (ours): a redis pool whose keys go by the cluster's slots, so the continuum keys
 * (hash, hash_tag, distribution) would mean nothing there and are refused rather than ignored, as
 * are the replica-group lists (the cluster says who replicates whom).
 */
export function validateCluster(d: Draft, redis: boolean, on: boolean, fail: Fail): boolean {
  if (!on) return false;
  if (!redis) {
    throw fail("E_CONF_CLUSTER_NOT_REDIS", d.line, "redis_cluster", d.name, `redis_cluster is only valid for a redis pool: pool "${d.name}" does not set "redis: true"`);
  }
  const unused = [
    ["hash", d.hash],
    ["hash_tag", d.hash_tag],
    ["distribution", d.distribution],
    ["sentinels", d.lists.sentinels.length > 0 ? true : undefined],
    ["replicas", d.lists.replicas.length > 0 ? true : undefined],
  ] as const;
  for (const [key, v] of unused) {
    if (v === undefined) continue;
    throw fail(
      "E_CONF_CLUSTER_KEY",
      d.line,
      key,
      d.name,
      `"${key}" is not used by a redis_cluster pool: keys go by the cluster's CRC16 slots and {hash tags}, and the cluster names its replicas`,
    );
  }
  return true;
}

/**
 * The TLS keys (ours): files are named here and read at start (and by `-t`, test_conf.ts); a key
 * needs its certificate and the other way round, and the server-side keys need `tls: true`.
 */
export function validateTls(d: Draft, on: boolean, verify: boolean, fail: Fail): TlsConf | null {
  const s = d.strings;
  const pair = (cert: StrKey, key: StrKey) => {
    if ((s[cert] === undefined) === (s[key] === undefined)) return;
    const missing = s[cert] === undefined ? cert : key;
    throw fail("E_CONF_TLS", d.line, missing, d.name, `"${cert}" and "${key}" go together: pool "${d.name}" has one without the other`);
  };
  pair("tls_cert_file", "tls_key_file");
  pair("listen_tls_cert_file", "listen_tls_key_file");
  if (s.listen_tls_ca_file !== undefined && s.listen_tls_cert_file === undefined) {
    throw fail("E_CONF_TLS", d.line, "listen_tls_ca_file", d.name, `"listen_tls_ca_file" needs "listen_tls_cert_file" and "listen_tls_key_file": the listener speaks TLS only with a certificate`);
  }
  for (const k of ["tls_ca_file", "tls_cert_file", "tls_server_name"] as const) {
    if (!on && s[k] !== undefined) throw fail("E_CONF_TLS", d.line, k, d.name, `"${k}" needs "tls: true" in pool "${d.name}"`);
  }
  if (!on && d.bools.tls_verify !== undefined) throw fail("E_CONF_TLS", d.line, "tls_verify", d.name, `"tls_verify" needs "tls: true" in pool "${d.name}"`);
  const servers = on
    ? { ca: s.tls_ca_file ?? null, cert: s.tls_cert_file ?? null, key: s.tls_key_file ?? null, serverName: s.tls_server_name ?? null, verify }
    : null;
  const listen =
    s.listen_tls_cert_file !== undefined ? { cert: s.listen_tls_cert_file, key: s.listen_tls_key_file!, ca: s.listen_tls_ca_file ?? null } : null;
  return servers === null && listen === null ? null : { servers, listen };
}
