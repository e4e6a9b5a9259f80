// Forwarding requests: to the server their key picks, or split per server (nc_request.c req_forward).

import type { ClientConn } from "./client.ts";
import type { Context } from "./context.ts";
import { clear, type Msg, msgMoveData, msgReleaseData } from "./message.ts";
import { SP } from "../stats/table.ts";
import { MsgWriter } from "./msg_io.ts";
import type { ServerPool } from "./pool.ts";
import { FAN_EVERY, FAN_NONE } from "../proto/types.ts";
import type { Server } from "./server.ts";

const writer = new MsgWriter();
// scratch for grouping keys per server; reused, requests are handled one at a time
const serverOfKey: (Server | null)[] = [];

/** Send a parsed request on its way; it is already in the client's out_q. */
export function reqForward(ctx: Context, pool: ServerPool, client: ClientConn, msg: Msg): void {
  if (pool.router.retains) msg.retain = true;
  if (pool.proto.fragmentable(msg) && reqFragment(ctx, pool, client, msg)) return;
  const server = pool.router.route(msg, 0);
  if (server === null) {
    reqForwardError(client, msg, "ECONNREFUSED");
    return;
  }
  server.conn(client.resp3).enqueue(msg);
}

/** Fail a request before it reached any server (req_forward_error). */
export function reqForwardError(client: ClientConn, msg: Msg, err: Msg["err"]): void {
  client.pool.stats[SP.forward_error]!++;
  msg.done = true;
  msg.error = true;
  msg.err = err;
  client.reqDone(msg);
}

/**
 * Send a request to every server of the pool (FAN_EVERY), or to the one server its command names
 * (SCAN), each part written by the protocol; the parts' replies are merged as a split request's
 * are. The parts go to the configured servers, not through the router: a keyspace-wide command
 * must reach each of them, and an ejected one fails its part, which fails the whole.
 */
function reqFanout(ctx: Context, pool: ServerPool, client: ClientConn, msg: Msg, target: number): void {
  const servers = pool.servers;
  const n = servers.length;
  const first = target === FAN_EVERY ? 0 : target;
  const end = target === FAN_EVERY ? n : target + 1;
  const msgs = ctx.msgs;
  for (let i = first; i < end; i++) {
    const frag = msgs.get(true, client);
    writer.begin(msgs.mbufs, frag);
    pool.proto.buildFanPart(writer, msg, i, n);
    writer.end();
    frag.fragOwner = msg;
    frag.type = msg.type;
    // which server the part went to: a merge that rewrites a cursor needs it
    frag.narg = i;
    frag.retain = msg.retain;
    msg.frags.push(frag);
  }
  // the owner keeps its bytes: the merge may read its arguments (INFO's section)
  for (let i = first; i < end; i++) {
    const shard = servers[i]!;
    // a replica group: its member by the command's row and read_from
    const s = shard.shard === null ? shard : shard.shard.pick(msg, pool.proto.writes[msg.type] !== 0);
    const frag = msg.frags[i - first]!;
    if (s === null || shard.nextRetry !== 0) reqForwardError(client, frag, "ECONNREFUSED");
    else s.conn(client.resp3).enqueue(frag);
  }
}

const allKeys: number[] = [];

/** Replace the bytes of a multi-key request that goes whole with its one fragment's (Proto.rewritesWhole). */
function reqRewriteWhole(ctx: Context, pool: ServerPool, msg: Msg, nkeys: number): void {
  const msgs = ctx.msgs;
  const tmp = msgs.get(true, null);
  clear(allKeys);
  for (let k = 0; k < nkeys; k++) allKeys.push(k);
  writer.begin(msgs.mbufs, tmp);
  pool.proto.buildFragment(writer, msg, allKeys);
  writer.end();
  msgMoveData(msgs, tmp, msg);
  msgs.put(tmp);
}

const groupServer: (Server | null)[] = [];
const groupKeys: number[][] = [];
/** A cluster's slot of each key, and of each group (reqFragmentBySlot). */
const slotOfKey: number[] = [];
const groupSlot: number[] = [];

/**
 * Split a multi-key request into one fragment per server, keys in request order within each.
 * Returns false when every key lives on the same server: the request then goes whole.
 */
function reqFragment(ctx: Context, pool: ServerPool, client: ClientConn, msg: Msg): boolean {
  const fan = pool.proto.fanTarget(msg, pool.servers.length);
  if (fan !== FAN_NONE) {
    reqFanout(ctx, pool, client, msg, fan);
    return true;
  }
  const router = pool.router;
  if (router.slotOf !== undefined) return reqFragmentBySlot(ctx, pool, client, msg);
  const nkeys = msg.keys.length / 3;
  clear(serverOfKey);
  let same = true;
  for (let k = 0; k < nkeys; k++) {
    const s = router.route(msg, k);
    serverOfKey.push(s);
    if (s !== serverOfKey[0]) same = false;
  }
  if (same) return reqWhole(ctx, pool, client, msg, nkeys);

  // groups in order of first key; scratch arrays reused across requests (no allocation per key)
  let ngroups = 0;
  for (let k = 0; k < nkeys; k++) {
    const s = serverOfKey[k]!;
    let g = 0;
    while (g < ngroups && groupServer[g] !== s) g++;
    if (g === ngroups) {
      groupServer[g] = s;
      if (groupKeys.length === g) groupKeys.push([]);
      else clear(groupKeys[g]!);
      ngroups++;
    }
    groupKeys[g]!.push(k);
    msg.fragMap.push(g);
  }
  reqSendGroups(ctx, pool, client, msg, ngroups);
  return true;
}

/** Every key on one server (one slot): the request goes whole, or as its one fragment's bytes (Proto.rewritesWhole). */
function reqWhole(ctx: Context, pool: ServerPool, client: ClientConn, msg: Msg, nkeys: number): boolean {
  msg.multikey = true;
  if (!pool.proto.rewritesWhole) return false;
  reqRewriteWhole(ctx, pool, msg, nkeys);
  // its key positions are gone with its old bytes: send it where they pointed
  const s = serverOfKey[0]!;
  if (s === null) reqForwardError(client, msg, "ECONNREFUSED");
  else s.conn(client.resp3).enqueue(msg);
  return true;
}

/**
 * A cluster's split: one fragment per slot, not per server, since a node refuses one request
 * whose keys are in several slots (Router.slotOf). Kept apart so the plain path stays as it was.
 */
function reqFragmentBySlot(ctx: Context, pool: ServerPool, client: ClientConn, msg: Msg): boolean {
  const router = pool.router;
  const nkeys = msg.keys.length / 3;
  clear(serverOfKey);
  clear(slotOfKey);
  let same = true;
  for (let k = 0; k < nkeys; k++) {
    const slot = router.slotOf!(msg, k);
    serverOfKey.push(router.routeSlot!(msg, slot));
    slotOfKey.push(slot);
    if (slot !== slotOfKey[0]) same = false;
  }
  if (same) return reqWhole(ctx, pool, client, msg, nkeys);
  let ngroups = 0;
  for (let k = 0; k < nkeys; k++) {
    const slot = slotOfKey[k]!;
    let g = 0;
    while (g < ngroups && groupSlot[g] !== slot) g++;
    if (g === ngroups) {
      groupServer[g] = serverOfKey[k]!;
      groupSlot[g] = slot;
      if (groupKeys.length === g) groupKeys.push([]);
      else clear(groupKeys[g]!);
      ngroups++;
    }
    groupKeys[g]!.push(k);
    msg.fragMap.push(g);
  }
  reqSendGroups(ctx, pool, client, msg, ngroups);
  return true;
}

/** Build each group's fragment (groupServer, groupKeys) and send it to its server. */
function reqSendGroups(ctx: Context, pool: ServerPool, client: ClientConn, msg: Msg, ngroups: number): void {
  const msgs = ctx.msgs;
  for (let g = 0; g < ngroups; g++) {
    const frag = msgs.get(true, client);
    writer.begin(msgs.mbufs, frag);
    pool.proto.buildFragment(writer, msg, groupKeys[g]!);
    writer.end();
    frag.fragOwner = msg;
    frag.type = msg.type;
    frag.narg = groupKeys[g]!.length;
    frag.retain = msg.retain;
    msg.frags.push(frag);
    // nutcracker 0.5.0 declares the `fragments` counter and never counts it: it stays 0 here too
  }
  // the fragments carry every byte the servers need
  msgReleaseData(msgs, msg);
  for (let g = 0; g < ngroups; g++) {
    const s = groupServer[g]!;
    groupServer[g] = null;
    const frag = msg.frags[g]!;
    if (s === null) reqForwardError(client, frag, "ECONNREFUSED");
    else s.conn(client.resp3).enqueue(frag);
  }
}
