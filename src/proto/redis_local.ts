// Commands the proxy answers itself, per client connection: HELLO, CLIENT, SELECT, ECHO, RESET, READONLY/READWRITE, PING [msg].
//
// None of these reaches a server: a connection's name, protocol and database are the client's
// view of one proxy, while its requests travel on server connections shared with every other
// client (pinning one per client would cost a backend connection per client). The reply texts are
// redis 7's where redis has one, so a client library's fallbacks react as they do to redis.

import type { Msg } from "../core/message.ts";
import { msgKeyEquals } from "../core/msg_io.ts";
import { argBytes, argCount, argInt, argIs, argText, errorLine, redisPassword, RespOut } from "./redis_args.ts";
import { CmdLocal, REDIS_COMMANDS } from "./redis_commands.ts";
import { NO_PASSWORD, OK, PONG } from "./redis_replies.ts";
import type { ReqClient } from "./types.ts";

const enc = new TextEncoder();
const RESET = enc.encode("+RESET\r\n");
const WRONGPASS = errorLine("WRONGPASS invalid username-password pair or user is disabled.");
const HELLO_NOAUTH = errorLine(
  "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
);
const NOPROTO = errorLine("NOPROTO sorry, this protocol version is not supported.");
const BAD_NAME = errorLine("ERR Client names cannot contain spaces, newlines or special characters.");
const NOT_INT = errorLine("ERR value is not an integer or out of range");
const SYNTAX = errorLine("ERR syntax error");

/** What the proxy reports of itself in HELLO and INFO. */
export const PROXY_SERVER = "nutcracker";
export const PROXY_VERSION = "0.5.0";

function arity(msg: Msg): Uint8Array {
  const name = REDIS_COMMANDS[msg.type - 1]!.name.toLowerCase();
  return errorLine(`ERR wrong number of arguments for '${name}' command`);
}

/** A name CLIENT SETNAME accepts: printable ASCII without spaces (redis's validateClientName). */
function nameOk(b: Uint8Array): boolean {
  for (const c of b) if (c < 33 || c > 126) return false;
  return true;
}

const DEFAULT_USER = enc.encode("default");

/** HELLO's `AUTH user pass` at argument `at`: redis_auth is the password of the one user, `default`. */
function helloAuthOk(msg: Msg, at: number, c: ReqClient): boolean {
  return msgKeyEquals(msg, at + 1, DEFAULT_USER) && msgKeyEquals(msg, at + 2, redisPassword(c.conf)!);
}

/** HELLO [protover [AUTH user pass] [SETNAME name]]: the protocol, and redis 7's HELLO map with our own values. */
function hello(msg: Msg, client: ReqClient): Uint8Array {
  const n = argCount(msg);
  let proto = client.resp3 ? 3 : 2;
  let i = 0;
  if (n >= 1) {
    const v = argInt(msg, 0);
    if (v === null) return errorLine("ERR Protocol version is not an integer or out of range");
    if (v !== 2n && v !== 3n) return NOPROTO;
    proto = Number(v);
    i = 1;
  }
  let authAt = -1;
  let name: Uint8Array | null = null;
  while (i < n) {
    if (argIs(msg, i, "AUTH") && i + 2 < n) {
      authAt = i;
      i += 3;
    } else if (argIs(msg, i, "SETNAME") && i + 1 < n) {
      name = argBytes(msg, i + 1);
      i += 2;
    } else {
      return errorLine(`ERR Syntax error in HELLO option '${argText(msg, i)}'`);
    }
  }
  if (authAt >= 0) {
    if (client.conf.redis_auth === null) return NO_PASSWORD;
    if (!helloAuthOk(msg, authAt, client)) return WRONGPASS;
    client.authenticated = true;
  }
  if (!client.authenticated) return HELLO_NOAUTH;
  if (name !== null) {
    if (!nameOk(name)) return BAD_NAME;
    client.name = name.length === 0 ? null : name;
  }
  client.resp3 = proto === 3;
  const r = new RespOut(client.resp3).map(7);
  r.bulk("server").bulk(PROXY_SERVER).bulk("version").bulk(PROXY_VERSION);
  r.bulk("proto").int(proto).bulk("id").int(client.id);
  r.bulk("mode").bulk("standalone").bulk("role").bulk("master");
  return r.bulk("modules").array(0).bytes();
}

/** `CLIENT INFO`'s line, with the fields a proxy can know. */
function clientInfo(client: ReqClient): string {
  const name = client.name === null ? "" : new TextDecoder().decode(client.name);
  return (
    `id=${client.id} addr=${client.peerName} laddr= fd=-1 name=${name} age=0 idle=0 flags=N ` +
    `db=${client.conf.redis_db} sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 ` +
    `rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=client|info user=default redir=-1 resp=${client.resp3 ? 3 : 2}\n`
  );
}

function client(msg: Msg, c: ReqClient): Uint8Array {
  const n = argCount(msg);
  if (n === 0) return arity(msg);
  const sub = argText(msg, 0).toUpperCase();
  const subArity = (): Uint8Array => errorLine(`ERR wrong number of arguments for 'client|${sub.toLowerCase()}' command`);
  const onOff = (): Uint8Array => (n !== 2 ? subArity() : argIs(msg, 1, "ON") || argIs(msg, 1, "OFF") ? OK : SYNTAX);
  switch (sub) {
    case "SETINFO":
      if (n !== 3) return subArity();
      if (!argIs(msg, 1, "LIB-NAME") && !argIs(msg, 1, "LIB-VER")) return errorLine(`ERR Unrecognized option '${argText(msg, 1)}'`);
      return OK;
    case "SETNAME": {
      if (n !== 2) return subArity();
      const name = argBytes(msg, 1);
      if (!nameOk(name)) return BAD_NAME;
      c.name = name.length === 0 ? null : name;
      return OK;
    }
    case "GETNAME":
      return n !== 1 ? subArity() : new RespOut(c.resp3).bulk(c.name).bytes();
    case "ID":
      return n !== 1 ? subArity() : new RespOut(c.resp3).int(c.id).bytes();
    case "INFO":
      return n !== 1 ? subArity() : new RespOut(c.resp3).bulk(clientInfo(c)).bytes();
    case "NO-EVICT":
    case "NO-TOUCH":
      return onOff();
    case "REPLY":
      if (n !== 2) return subArity();
      if (argIs(msg, 1, "ON")) return OK;
      // OFF and SKIP would make the proxy's reply order disagree with the client's
      return argIs(msg, 1, "OFF") || argIs(msg, 1, "SKIP") ? errorLine("ERR CLIENT REPLY OFF and SKIP are not supported by the proxy") : SYNTAX;
    default:
      // redis 7's words for a subcommand it does not know: clients fall back as with an older redis
      return errorLine(`ERR unknown subcommand '${argText(msg, 0)}'. Try CLIENT HELP.`);
  }
}

/** SELECT n: the pool's servers are all on `redis_db` (0 without it); another database would be another pool. */
function select(msg: Msg, c: ReqClient): Uint8Array {
  if (argCount(msg) !== 1) return arity(msg);
  const v = argInt(msg, 0);
  if (v === null) return NOT_INT;
  if (v === BigInt(c.conf.redis_db)) return OK;
  return errorLine(`ERR SELECT ${v} is not supported by the proxy: this pool uses database ${c.conf.redis_db} (redis_db)`);
}

/**
 * The reply to a command the proxy answers (CmdLocal other than quit and auth), or null when the
 * request is to be forwarded after all.
 */
export function redisLocalReply(msg: Msg, local: CmdLocal, c: ReqClient): Uint8Array | null {
  const n = argCount(msg);
  switch (local) {
    case CmdLocal.ping:
      if (n === 0) return PONG;
      return n === 1 ? new RespOut(c.resp3).bulk(argBytes(msg, 0)).bytes() : arity(msg);
    case CmdLocal.hello:
      return hello(msg, c);
    case CmdLocal.client:
      return client(msg, c);
    case CmdLocal.select:
      return select(msg, c);
    case CmdLocal.echo:
      return n === 1 ? new RespOut(c.resp3).bulk(argBytes(msg, 0)).bytes() : arity(msg);
    case CmdLocal.reset:
      if (n !== 0) return arity(msg);
      c.name = null;
      c.resp3 = false;
      c.authenticated = c.conf.redis_auth === null;
      return RESET;
    case CmdLocal.ok:
      return n === 0 ? OK : arity(msg);
    default:
      return null;
  }
}
