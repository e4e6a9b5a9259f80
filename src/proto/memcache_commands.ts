// The memcached ASCII tables: message types (twemproxy's MSG_TYPE_CODEC names), commands, replies.
//
// One table per concept (STYLE rule 7). Types 1..14 and the RSP_MC_* names follow twemproxy's
// nc_message.h order; the rest (gat/gats and the meta protocol) are ours, since twemproxy 0.5.0
// closes a client that sends them. A request row holds all the proxy knows of its command: the
// line's shape (and so its keys), split/merge, write or read, noreply, the meta `q` flag, what the
// proxy answers itself. Request names are matched as packed lowercase letters through an
// open-addressing index, and reply names as bytes, never as strings.

/** Message types of memcache requests and responses (msg.type); 0 = not parsed yet. */
export const McType = {
  UNKNOWN: 0,
  REQ_MC_GET: 1, // memcache retrieval requests
  REQ_MC_GETS: 2,
  REQ_MC_DELETE: 3, // memcache delete request
  REQ_MC_CAS: 4, // memcache cas request and storage request
  REQ_MC_SET: 5, // memcache storage request
  REQ_MC_ADD: 6,
  REQ_MC_REPLACE: 7,
  REQ_MC_APPEND: 8,
  REQ_MC_PREPEND: 9,
  REQ_MC_INCR: 10, // memcache arithmetic request
  REQ_MC_DECR: 11,
  REQ_MC_TOUCH: 12, // memcache touch request
  REQ_MC_QUIT: 13, // memcache quit request
  REQ_MC_VERSION: 14, // memcache version request
  REQ_MC_GAT: 15, // ours: get-and-touch, keys after the exptime
  REQ_MC_GATS: 16,
  REQ_MC_MG: 17, // ours: meta get
  REQ_MC_MS: 18, // ours: meta set (has a data block)
  REQ_MC_MD: 19, // ours: meta delete
  REQ_MC_MA: 20, // ours: meta arithmetic
  REQ_MC_MN: 21, // ours: meta no-op (no key)
  REQ_MC_ME: 22, // ours: meta debug
  RSP_MC_NUM: 23, // memcache arithmetic response
  RSP_MC_STORED: 24, // memcache cas and storage response
  RSP_MC_NOT_STORED: 25,
  RSP_MC_EXISTS: 26,
  RSP_MC_NOT_FOUND: 27,
  RSP_MC_END: 28,
  RSP_MC_VALUE: 29,
  RSP_MC_DELETED: 30, // memcache delete response
  RSP_MC_TOUCHED: 31, // memcache touch response
  RSP_MC_VERSION: 32, // memcache version response
  RSP_MC_ERROR: 33, // memcache error responses
  RSP_MC_CLIENT_ERROR: 34,
  RSP_MC_SERVER_ERROR: 35,
  RSP_MC_HD: 36, // ours: meta success (stored, deleted, hit without value)
  RSP_MC_VA: 37, // ours: meta value: VA <size> <flags>*\r\n<data>\r\n
  RSP_MC_EN: 38, // ours: meta miss
  RSP_MC_NF: 39, // ours: meta not found
  RSP_MC_NS: 40, // ours: meta not stored
  RSP_MC_EX: 41, // ours: meta exists (cas mismatch)
  RSP_MC_MN: 42, // ours: meta no-op reply
  RSP_MC_ME: 43, // ours: meta debug reply
} as const;
export type McType = (typeof McType)[keyof typeof McType];

/** The name of a type number, for logs and test messages. */
export function mcTypeName(type: number): string {
  for (const k in McType) if (McType[k as keyof typeof McType] === type) return k;
  return "UNKNOWN";
}

/**
 * Bits of msg.integer on a parsed request. QUIET is bit 1 as the lead asked; BASE64 is extra.
 * Both are placeholders until Msg gets its own fields.
 */
export const McFlag = {
  /**
   * A meta command (mg, ms, md, ma) carried the `q` flag: memcached drops the usual outcome
   * (mg: EN on a miss; ms, md, ma: HD) but still sends hits, other codes and errors, so this is
   * not noreply: a reply may or may not come (a trailing `mn` tells the client when all are in).
   */
  QUIET: 1 << 1,
  /** A meta command carried the `b` flag: the key on the wire is base64 of the real key. */
  BASE64: 1 << 2,
} as const;

/**
 * How the rest of a command line (and data block) is laid out after the command name; this also
 * gives the keys: one or more for retrieval and gat, none for bare and metanokey, one otherwise.
 */
export const McShape = {
  /** `get|gets <key>+` */
  retrieval: 0,
  /** `gat|gats <exptime> <key>+` */
  gat: 1,
  /** `<key> <flags> <exptime> <bytes> [noreply]` + data block */
  storage: 2,
  /** `<key> <flags> <exptime> <bytes> <cas unique> [noreply]` + data block */
  cas: 3,
  /** `<key> <number> [noreply]` (incr/decr value, touch exptime; '-' allowed, as twemproxy) */
  arith: 4,
  /** `<key> [noreply]`; twemproxy rejects the old `delete <key> <time>` */
  delete: 5,
  /** nothing but spaces (quit, version) */
  bare: 6,
  /** `<key> <flag>*` (mg, md, ma, me) */
  meta: 7,
  /** `<key> <datalen> <flag>*` + data block (ms) */
  metaset: 8,
  /** `<flag>*`, no key (mn; memcached ignores the tokens) */
  metanokey: 9,
} as const;
export type McShape = (typeof McShape)[keyof typeof McShape];

/** How a request with several keys is split per server and its parts' replies merged. */
export const McMerge = {
  /** Sent whole to the server its key picks. */
  none: 0,
  /**
   * A retrieval: split per server (each part `get <key>... \r\n`), the parts' VALUE blocks laid out
   * in request-key order, then one END (memcache_fragment, memcache_post_coalesce).
   */
  values: 1,
} as const;
export type McMerge = (typeof McMerge)[keyof typeof McMerge];

/** What the proxy does itself instead of forwarding. */
export const McLocal = {
  none: 0,
  /** Close the client once earlier replies are out, no reply (req_filter). */
  quit: 1,
} as const;
export type McLocal = (typeof McLocal)[keyof typeof McLocal];

export interface McCommand {
  readonly name: string;
  readonly type: McType;
  readonly shape: McShape;
  readonly merge: McMerge;
  /** The command may change data (storage, delete, arithmetic, touch, gat). */
  readonly write: boolean;
  /** Accepts a trailing `noreply` token (twemproxy: storage, arithmetic, delete, touch). */
  readonly noreply: boolean;
  /** Honours the meta `q` flag. */
  readonly quiet: boolean;
  readonly local: McLocal;
  /** twemproxy 0.5.0 routes it; the rest are ours (0.5.0 closes a client that sends them). */
  readonly twemproxy: boolean;
  readonly description: string;
}

const T = McType;
const S = McShape;
const M = McMerge;
const L = McLocal;

/** Every request the parser accepts, one row each; anything else closes the client, as in twemproxy. */
export const MC_COMMANDS: readonly McCommand[] = [
  { name: "get",     type: T.REQ_MC_GET,     shape: S.retrieval, merge: M.values, write: false, noreply: false, quiet: false, local: L.none, twemproxy: true,  description: "fetch values" },
  { name: "gets",    type: T.REQ_MC_GETS,    shape: S.retrieval, merge: M.values, write: false, noreply: false, quiet: false, local: L.none, twemproxy: true,  description: "fetch values with cas" },
  { name: "delete",  type: T.REQ_MC_DELETE,  shape: S.delete,    merge: M.none,   write: true,  noreply: true,  quiet: false, local: L.none, twemproxy: true,  description: "remove a key" },
  { name: "cas",     type: T.REQ_MC_CAS,     shape: S.cas,       merge: M.none,   write: true,  noreply: true,  quiet: false, local: L.none, twemproxy: true,  description: "store if the cas unique matches" },
  { name: "set",     type: T.REQ_MC_SET,     shape: S.storage,   merge: M.none,   write: true,  noreply: true,  quiet: false, local: L.none, twemproxy: true,  description: "store" },
  { name: "add",     type: T.REQ_MC_ADD,     shape: S.storage,   merge: M.none,   write: true,  noreply: true,  quiet: false, local: L.none, twemproxy: true,  description: "store if absent" },
  { name: "replace", type: T.REQ_MC_REPLACE, shape: S.storage,   merge: M.none,   write: true,  noreply: true,  quiet: false, local: L.none, twemproxy: true,  description: "store if present" },
  { name: "append",  type: T.REQ_MC_APPEND,  shape: S.storage,   merge: M.none,   write: true,  noreply: true,  quiet: false, local: L.none, twemproxy: true,  description: "append to a value" },
  { name: "prepend", type: T.REQ_MC_PREPEND, shape: S.storage,   merge: M.none,   write: true,  noreply: true,  quiet: false, local: L.none, twemproxy: true,  description: "prepend to a value" },
  { name: "incr",    type: T.REQ_MC_INCR,    shape: S.arith,     merge: M.none,   write: true,  noreply: true,  quiet: false, local: L.none, twemproxy: true,  description: "add to a 64-bit counter" },
  { name: "decr",    type: T.REQ_MC_DECR,    shape: S.arith,     merge: M.none,   write: true,  noreply: true,  quiet: false, local: L.none, twemproxy: true,  description: "subtract from a 64-bit counter" },
  { name: "touch",   type: T.REQ_MC_TOUCH,   shape: S.arith,     merge: M.none,   write: true,  noreply: true,  quiet: false, local: L.none, twemproxy: true,  description: "set a new exptime" },
  { name: "quit",    type: T.REQ_MC_QUIT,    shape: S.bare,      merge: M.none,   write: false, noreply: false, quiet: false, local: L.quit, twemproxy: true,  description: "close the connection" },
  { name: "version", type: T.REQ_MC_VERSION, shape: S.bare,      merge: M.none,   write: false, noreply: false, quiet: false, local: L.none, twemproxy: true,  description: "server version" },
  { name: "gat",     type: T.REQ_MC_GAT,     shape: S.gat,       merge: M.values, write: true,  noreply: false, quiet: false, local: L.none, twemproxy: false, description: "fetch and touch" },
  { name: "gats",    type: T.REQ_MC_GATS,    shape: S.gat,       merge: M.values, write: true,  noreply: false, quiet: false, local: L.none, twemproxy: false, description: "fetch with cas and touch" },
  { name: "mg",      type: T.REQ_MC_MG,      shape: S.meta,      merge: M.none,   write: false, noreply: false, quiet: true,  local: L.none, twemproxy: false, description: "meta get (its flags may touch or vivify)" },
  { name: "ms",      type: T.REQ_MC_MS,      shape: S.metaset,   merge: M.none,   write: true,  noreply: false, quiet: true,  local: L.none, twemproxy: false, description: "meta set" },
  { name: "md",      type: T.REQ_MC_MD,      shape: S.meta,      merge: M.none,   write: true,  noreply: false, quiet: true,  local: L.none, twemproxy: false, description: "meta delete" },
  { name: "ma",      type: T.REQ_MC_MA,      shape: S.meta,      merge: M.none,   write: true,  noreply: false, quiet: true,  local: L.none, twemproxy: false, description: "meta arithmetic" },
  { name: "mn",      type: T.REQ_MC_MN,      shape: S.metanokey, merge: M.none,   write: false, noreply: false, quiet: false, local: L.none, twemproxy: false, description: "meta no-op" },
  { name: "me",      type: T.REQ_MC_ME,      shape: S.meta,      merge: M.none,   write: false, noreply: false, quiet: false, local: L.none, twemproxy: false, description: "meta debug" },
];

/** Request names by type (index 0 = unknown), for per-command counts. */
export const MC_REQUEST_NAMES: readonly string[] = (() => {
  const names = Array.from({ length: T.REQ_MC_ME + 1 }, () => "unknown");
  for (const c of MC_COMMANDS) names[c.type] = c.name;
  return names;
})();

/** Longest command name; a longer run of letters cannot be a command. */
export const MC_MAX_NAME = 7;

/** Longest key memcached takes (MEMCACHE_MAX_KEY_LENGTH); longer closes the client, as twemproxy. */
export const MEMCACHE_MAX_KEY_LENGTH = 250;

/**
 * A command name packed 5 bits per lowercase letter ('a' = 1): exact for up to 7 letters
 * (35 bits), so the parser can match a name without keeping its bytes.
 */
export function packName(name: string): number {
  let n = 0;
  for (let i = 0; i < name.length; i++) n = n * 32 + (name.charCodeAt(i) - 96);
  return n;
}

// Open-addressing index over packed names: 64 slots for 22 names; a slot holds the type, 0 = empty.
const SLOT_BITS = 6;
const slotPacked = new Float64Array(1 << SLOT_BITS);
const slotType = new Uint8Array(1 << SLOT_BITS);
const byType: (McCommand | undefined)[] = [];

/** A packed name (up to 35 bits) folded to 32 and mixed into a slot number. */
function slotOf(packed: number): number {
  return Math.imul((packed >>> 0) ^ ((packed / 4294967296) | 0), 0x9e3779b1) >>> (32 - SLOT_BITS);
}

for (const c of MC_COMMANDS) {
  if (c.name.length > MC_MAX_NAME) throw new RangeError(`Cannot index command "${c.name}": name too long`);
  const packed = packName(c.name);
  let slot = slotOf(packed);
  while (slotType[slot] !== 0) slot = (slot + 1) & ((1 << SLOT_BITS) - 1);
  slotPacked[slot] = packed;
  slotType[slot] = c.type;
  byType[c.type] = c;
}

/** The command whose packed name is `packed`, or undefined. O(1), no allocation. */
export function lookupMcCommand(packed: number): McCommand | undefined {
  for (let slot = slotOf(packed); ; slot = (slot + 1) & ((1 << SLOT_BITS) - 1)) {
    const t = slotType[slot]!;
    if (t === 0) return undefined;
    if (slotPacked[slot] === packed) return byType[t];
  }
}

/** The command of a request type, or undefined for 0 and response types. */
export function mcCommandOf(type: number): McCommand | undefined {
  return byType[type];
}

/** What follows a reply's first token. */
export const McRspShape = {
  /** Spaces, then CRLF (STORED, NOT_STORED, EXISTS, NOT_FOUND, DELETED, TOUCHED). */
  crlf: 0,
  /** Any text up to CRLF (errors, VERSION, meta codes with their flags). */
  text: 1,
  /** CRLF right after the token (twemproxy: END must be followed by CR). */
  end: 2,
  /** `VALUE <key> <flags> <bytes> [<cas>]\r\n<data>\r\n`, then VALUE again or END. */
  value: 3,
  /** `VA <size> <flags>*\r\n<data>\r\n`: the whole reply. */
  va: 4,
} as const;
export type McRspShape = (typeof McRspShape)[keyof typeof McRspShape];

export interface McReply {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly type: McType;
  readonly shape: McRspShape;
  /** May follow VALUE blocks (memcached ends a get with END, or an error if it fails midway). */
  readonly afterValue: boolean;
}

const R = McRspShape;
const enc = new TextEncoder();
const reply = (name: string, type: McType, shape: McRspShape, afterValue = false): McReply => ({
  name,
  bytes: enc.encode(name),
  type,
  shape,
  afterValue,
});

/** Every reply line the parser accepts, by first token. A number is RSP_MC_NUM. */
export const MC_REPLIES: readonly McReply[] = [
  reply("VALUE", T.RSP_MC_VALUE, R.value, true),
  reply("END", T.RSP_MC_END, R.end, true),
  reply("STORED", T.RSP_MC_STORED, R.crlf),
  reply("NOT_STORED", T.RSP_MC_NOT_STORED, R.crlf),
  reply("EXISTS", T.RSP_MC_EXISTS, R.crlf),
  reply("NOT_FOUND", T.RSP_MC_NOT_FOUND, R.crlf),
  reply("DELETED", T.RSP_MC_DELETED, R.crlf),
  reply("TOUCHED", T.RSP_MC_TOUCHED, R.crlf),
  reply("VERSION", T.RSP_MC_VERSION, R.text),
  // memcached sends "ERROR <text>" too (e.g. "ERROR Too many open connections"); twemproxy
  // only takes a bare ERROR and turns the rest into SERVER_ERROR on the client.
  reply("ERROR", T.RSP_MC_ERROR, R.text, true),
  reply("CLIENT_ERROR", T.RSP_MC_CLIENT_ERROR, R.text, true),
  reply("SERVER_ERROR", T.RSP_MC_SERVER_ERROR, R.text, true),
  reply("HD", T.RSP_MC_HD, R.text),
  reply("VA", T.RSP_MC_VA, R.va),
  reply("EN", T.RSP_MC_EN, R.text),
  reply("NF", T.RSP_MC_NF, R.text),
  reply("NS", T.RSP_MC_NS, R.text),
  reply("EX", T.RSP_MC_EX, R.text),
  reply("MN", T.RSP_MC_MN, R.text),
  reply("ME", T.RSP_MC_ME, R.text),
];

/** Longest reply token (CLIENT_ERROR, SERVER_ERROR). */
export const MC_MAX_REPLY_TOKEN = 12;

/** The reply whose first token is `name[0..len)`, or undefined. At most one pass over 20 rows. */
export function lookupMcReply(name: Uint8Array, len: number): McReply | undefined {
  for (let i = 0; i < MC_REPLIES.length; i++) {
    const r = MC_REPLIES[i]!;
    const b = r.bytes;
    if (b.length !== len) continue;
    let j = 0;
    while (j < len && b[j] === name[j]) j++;
    if (j === len) return r;
  }
  return undefined;
}
