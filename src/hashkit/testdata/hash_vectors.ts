// Reference values for the twelve hashes, printed by twemproxy 0.5.0's own hashkit C (compiled outside the repo).
//
// The numbers come from a throw-away C harness that linked src/hashkit/nc_*.c of
// twemproxy 0.5.0 (x86_64, gcc) and hashed each input below; the harness also
// checked that 1-3 byte misaligned copies hash the same (jenkins has aligned read
// paths). Inputs are described, not stored, so long keys stay readable.

import type { HashName } from "../types.ts";

/** How to build a test key: UTF-8 text, hex bytes, or `seq: [length, seed]` from {@link seqBytes}. */
export type VectorInput = { readonly text: string } | { readonly hex: string } | { readonly seq: readonly [number, number] };

export interface HashVector {
  readonly name: string;
  readonly input: VectorInput;
  readonly expect: Readonly<Record<HashName, number>>;
}

/** Deterministic pseudo-random bytes (top byte of a 32-bit LCG), the same generator the C harness was fed from. */
export function seqBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** The key bytes for a vector. */
export function vectorBytes(input: VectorInput): Uint8Array {
  if ("text" in input) return new TextEncoder().encode(input.text);
  if ("seq" in input) return seqBytes(input.seq[0], input.seq[1]);
  const out = new Uint8Array(input.hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(input.hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export const HASH_VECTORS: readonly HashVector[] = [
  {
    name: "text \"\"",
    input: { text: "" },
    expect: { one_at_a_time: 0, md5: 3649838548, crc16: 0, crc32: 0, crc32a: 0, fnv1_64: 2216829733, fnv1a_64: 2216829733, fnv1_32: 2166136261, fnv1a_32: 2166136261, hsieh: 0, murmur: 0, jenkins: 3735928572 },
  },
  {
    name: "text \"a\"",
    input: { text: "a" },
    expect: { one_at_a_time: 3392050242, md5: 3111502092, crc16: 31879, crc32: 26807, crc32a: 3904355907, fnv1_64: 2248259518, fnv1a_64: 2248273036, fnv1_32: 84696446, fnv1a_32: 3826002220, hsieh: 2472816263, murmur: 1262581116, jenkins: 3768813200 },
  },
  {
    name: "text \"foo\"",
    input: { text: "foo" },
    expect: { one_at_a_time: 596015325, md5: 3675831724, crc16: 205303702, crc32: 3187, crc32a: 2356372769, fnv1_64: 1805727027, fnv1a_64: 4275688823, fnv1_32: 1083137555, fnv1a_32: 2851307223, hsieh: 1993659431, murmur: 3303027599, jenkins: 2583187353 },
  },
  {
    name: "text \"hello world\"",
    input: { text: "hello world" },
    expect: { one_at_a_time: 1045060183, md5: 3141252702, crc16: 4060494820, crc32: 3402, crc32a: 222957957, fnv1_64: 2979073647, fnv1a_64: 37540583, fnv1_32: 1418570095, fnv1a_32: 3582672807, hsieh: 1333368947, murmur: 1578702139, jenkins: 355681275 },
  },
  {
    name: "text \"user:{42}:name\"",
    input: { text: "user:{42}:name" },
    expect: { one_at_a_time: 2943448602, md5: 3895573093, crc16: 4193931094, crc32: 16096, crc32a: 3202416040, fnv1_64: 2463323743, fnv1a_64: 2586002863, fnv1_32: 3976222335, fnv1a_32: 1009282959, hsieh: 183126618, murmur: 2319559350, jenkins: 4086919218 },
  },
  {
    name: "text \"日本語\"",
    input: { text: "日本語" },
    expect: { one_at_a_time: 1387473336, md5: 4161409280, crc16: 1022177780, crc32: 10251, crc32a: 2819314405, fnv1_64: 172901459, fnv1a_64: 1734255239, fnv1_32: 882654707, fnv1a_32: 308035559, hsieh: 103147075, murmur: 3016819523, jenkins: 3284577748 },
  },
  {
    name: "text \"é\"",
    input: { text: "é" },
    expect: { one_at_a_time: 26298542, md5: 2546851174, crc16: 15296452, crc32: 3588, crc32a: 235179326, fnv1_64: 3035330621, fnv1a_64: 3033280513, fnv1_32: 376872957, fnv1a_32: 1023043777, hsieh: 3203012475, murmur: 2111574343, jenkins: 934048990 },
  },
  {
    name: "text \"😀\"",
    input: { text: "😀" },
    expect: { one_at_a_time: 2544258968, md5: 3286893098, crc16: 1642711951, crc32: 1357, crc32a: 88978756, fnv1_64: 1501026394, fnv1a_64: 1961035400, fnv1_32: 1353117754, fnv1a_32: 604031496, hsieh: 1460444677, murmur: 862506658, jenkins: 3999590881 },
  },
  {
    name: "text \"0\"",
    input: { text: "0" },
    expect: { one_at_a_time: 1849449579, md5: 2216742351, crc16: 13907, crc32: 29915, crc32a: 4108050209, fnv1_64: 2248259567, fnv1a_64: 2248252591, fnv1_32: 84696367, fnv1a_32: 890022063, hsieh: 3246951466, murmur: 2680312085, jenkins: 3556424314 },
  },
  {
    name: "text \"-1\"",
    input: { text: "-1" },
    expect: { one_at_a_time: 159735807, md5: 991868523, crc16: 16078536, crc32: 12333, crc32a: 808273962, fnv1_64: 3035336711, fnv1a_64: 3029848363, fnv1_32: 611759495, fnv1a_32: 348981803, hsieh: 4075267171, murmur: 3210803255, jenkins: 3571906663 },
  },
  {
    name: "single byte 0x80",
    input: { hex: "80" },
    expect: { one_at_a_time: 3273477671, md5: 2128427405, crc16: 37256, crc32: 16314, crc32a: 1069182125, fnv1_64: 2046707807, fnv1a_64: 2046684255, fnv1_32: 4210270879, fnv1a_32: 83079839, hsieh: 3606367026, murmur: 2421514821, jenkins: 2976898632 },
  },
  {
    name: "single byte 0xff",
    input: { hex: "ff" },
    expect: { one_at_a_time: 2925896852, md5: 3561969920, crc16: 7920, crc32: 32512, crc32a: 4278190080, fnv1_64: 2046707744, fnv1a_64: 2046707310, fnv1_32: 4210270944, fnv1a_32: 4193493326, hsieh: 44489640, murmur: 3679652508, jenkins: 3784723880 },
  },
  {
    name: "3-byte tail ending in a high byte",
    input: { hex: "fffefd" },
    expect: { one_at_a_time: 1196771768, md5: 3259918217, crc16: 504217887, crc32: 2282, crc32a: 149598061, fnv1_64: 2481844359, fnv1a_64: 2400096983, fnv1_32: 2437714183, fnv1a_32: 3211609367, hsieh: 3649655134, murmur: 3269769215, jenkins: 573299006 },
  },
  {
    name: "3-byte tail, only the last byte high",
    input: { hex: "41428f" },
    expect: { one_at_a_time: 2684426351, md5: 2537768738, crc16: 1482039636, crc32: 12625, crc32a: 827428307, fnv1_64: 2494360999, fnv1a_64: 1602999519, fnv1_32: 2628997159, fnv1a_32: 1903919583, hsieh: 1325701483, murmur: 4165768331, jenkins: 1906043542 },
  },
  {
    name: "bytes around the sign boundary",
    input: { hex: "7f808100feff01" },
    expect: { one_at_a_time: 1796660155, md5: 3405344016, crc16: 2804398500, crc32: 19971, crc32a: 1308844408, fnv1_64: 2633212031, fnv1a_64: 3218753259, fnv1_32: 1544316127, fnv1a_32: 332318795, hsieh: 65679817, murmur: 1816187394, jenkins: 2187203551 },
  },
  {
    name: "NUL byte",
    input: { hex: "00" },
    expect: { one_at_a_time: 0, md5: 2911221907, crc16: 0, crc32: 20994, crc32a: 3523407757, fnv1_64: 2248259551, fnv1a_64: 2248259551, fnv1_32: 84696351, fnv1a_32: 84696351, hsieh: 0, murmur: 2758644358, jenkins: 2231611923 },
  },
  {
    name: "pseudo-random bytes, length 1",
    input: { seq: [1, 1] },
    expect: { one_at_a_time: 2181104624, md5: 1885521279, crc16: 22757, crc32: 21465, crc32a: 3554254475, fnv1_64: 2248259486, fnv1a_64: 2248286956, fnv1_32: 84696414, fnv1a_32: 3289118412, hsieh: 2537538325, murmur: 3359109825, jenkins: 2909697682 },
  },
  {
    name: "pseudo-random bytes, length 2",
    input: { seq: [2, 2] },
    expect: { one_at_a_time: 3242736906, md5: 4129745427, crc16: 10585367, crc32: 17344, crc32a: 1136668711, fnv1_64: 1259664397, fnv1a_64: 1249634673, fnv1_32: 2844326861, fnv1a_32: 3383034993, hsieh: 2358848152, murmur: 610813454, jenkins: 2338965073 },
  },
  {
    name: "pseudo-random bytes, length 3",
    input: { seq: [3, 3] },
    expect: { one_at_a_time: 235271332, md5: 2173564690, crc16: 2303375332, crc32: 29862, crc32a: 4104580825, fnv1_64: 2480711207, fnv1a_64: 2898723563, fnv1_32: 2990389831, fnv1a_32: 1617354251, hsieh: 1274589670, murmur: 1862731053, jenkins: 3730641156 },
  },
  {
    name: "pseudo-random bytes, length 4",
    input: { seq: [4, 4] },
    expect: { one_at_a_time: 434989298, md5: 3187662916, crc16: 3012021033, crc32: 22362, crc32a: 1465542489, fnv1_64: 2217231984, fnv1a_64: 3180297130, fnv1_32: 3026531376, fnv1a_32: 2731617162, hsieh: 81205928, murmur: 2971487640, jenkins: 2939733660 },
  },
  {
    name: "pseudo-random bytes, length 5",
    input: { seq: [5, 5] },
    expect: { one_at_a_time: 103570125, md5: 1217957951, crc16: 794959849, crc32: 10194, crc32a: 2815616811, fnv1_64: 4087256974, fnv1a_64: 36610704, fnv1_32: 307594158, fnv1a_32: 1157622160, hsieh: 3279438388, murmur: 3527602859, jenkins: 2210704733 },
  },
  {
    name: "pseudo-random bytes, length 6",
    input: { seq: [6, 6] },
    expect: { one_at_a_time: 1146983301, md5: 2973362540, crc16: 500341709, crc32: 19849, crc32a: 1300844808, fnv1_64: 4234194149, fnv1a_64: 915447717, fnv1_32: 2023540933, fnv1a_32: 2614675077, hsieh: 3069849410, murmur: 3951864250, jenkins: 864719525 },
  },
  {
    name: "pseudo-random bytes, length 7",
    input: { seq: [7, 7] },
    expect: { one_at_a_time: 3735489065, md5: 321751191, crc16: 3783267506, crc32: 15832, crc32a: 1037572264, fnv1_64: 3238060626, fnv1a_64: 238024692, fnv1_32: 4290501426, fnv1a_32: 1840638516, hsieh: 433002027, murmur: 2957093443, jenkins: 369001293 },
  },
  {
    name: "pseudo-random bytes, length 8",
    input: { seq: [8, 8] },
    expect: { one_at_a_time: 4281329697, md5: 1747605167, crc16: 208023592, crc32: 20268, crc32a: 3475806680, fnv1_64: 954955784, fnv1a_64: 1862730222, fnv1_32: 949788456, fnv1a_32: 3797634222, hsieh: 1359622027, murmur: 2348441027, jenkins: 3565920687 },
  },
  {
    name: "pseudo-random bytes, length 9",
    input: { seq: [9, 9] },
    expect: { one_at_a_time: 1922302462, md5: 1982559642, crc16: 3312523786, crc32: 20998, crc32a: 1376188428, fnv1_64: 1469265013, fnv1a_64: 865491277, fnv1_32: 1515437813, fnv1a_32: 1371962125, hsieh: 1114124160, murmur: 3357165093, jenkins: 1892297209 },
  },
  {
    name: "pseudo-random bytes, length 10",
    input: { seq: [10, 10] },
    expect: { one_at_a_time: 1416816740, md5: 896916297, crc16: 3144247551, crc32: 26063, crc32a: 1708079082, fnv1_64: 3846942495, fnv1a_64: 246175599, fnv1_32: 2025069567, fnv1a_32: 292218447, hsieh: 550685099, murmur: 3007577056, jenkins: 1128111221 },
  },
  {
    name: "pseudo-random bytes, length 11",
    input: { seq: [11, 11] },
    expect: { one_at_a_time: 3036502599, md5: 441847425, crc16: 1738942066, crc32: 2721, crc32a: 2325841861, fnv1_64: 1320149384, fnv1a_64: 274134078, fnv1_32: 3402438024, fnv1a_32: 3616682526, hsieh: 2595830004, murmur: 4183048916, jenkins: 2216158119 },
  },
  {
    name: "pseudo-random bytes, length 12",
    input: { seq: [12, 12] },
    expect: { one_at_a_time: 2956236298, md5: 863638895, crc16: 315747740, crc32: 26361, crc32a: 1727624706, fnv1_64: 2545148621, fnv1a_64: 1905842109, fnv1_32: 2318723693, fnv1a_32: 1741433053, hsieh: 2511874589, murmur: 599274391, jenkins: 2264771916 },
  },
  {
    name: "pseudo-random bytes, length 13",
    input: { seq: [13, 13] },
    expect: { one_at_a_time: 2582090513, md5: 1791976449, crc16: 1701088234, crc32: 1037, crc32a: 2215468294, fnv1_64: 3916941806, fnv1a_64: 776722140, fnv1_32: 859564654, fnv1a_32: 1915555004, hsieh: 4245096269, murmur: 2643031206, jenkins: 3332546346 },
  },
  {
    name: "pseudo-random bytes, length 24 (md5 padding edge)",
    input: { seq: [24, 1024] },
    expect: { one_at_a_time: 2748747591, md5: 2144392238, crc16: 3442689606, crc32: 2020, crc32a: 132422874, fnv1_64: 4007752638, fnv1a_64: 1285154988, fnv1_32: 1537328990, fnv1a_32: 1187677996, hsieh: 4258426739, murmur: 3409590092, jenkins: 3443948156 },
  },
  {
    name: "pseudo-random bytes, length 55 (md5 padding edge)",
    input: { seq: [55, 1055] },
    expect: { one_at_a_time: 400727179, md5: 1507798289, crc16: 3242321101, crc32: 2210, crc32a: 144840428, fnv1_64: 2944456683, fnv1a_64: 1012094847, fnv1_32: 3288792523, fnv1a_32: 3051054239, hsieh: 3608788917, murmur: 465077378, jenkins: 2802977967 },
  },
  {
    name: "pseudo-random bytes, length 56 (md5 padding edge)",
    input: { seq: [56, 1056] },
    expect: { one_at_a_time: 2445458689, md5: 4069076431, crc16: 772673784, crc32: 11572, crc32a: 2905900515, fnv1_64: 3405099482, fnv1a_64: 931713744, fnv1_32: 2742997882, fnv1a_32: 3299299984, hsieh: 578031515, murmur: 4038085138, jenkins: 2347032571 },
  },
  {
    name: "pseudo-random bytes, length 63 (md5 padding edge)",
    input: { seq: [63, 1063] },
    expect: { one_at_a_time: 3630035266, md5: 4234820598, crc16: 3385019108, crc32: 25928, crc32a: 3846761374, fnv1_64: 3832058745, fnv1a_64: 1708551289, fnv1_32: 3300803065, fnv1a_32: 3054501561, hsieh: 1915708602, murmur: 3454124383, jenkins: 3893260693 },
  },
  {
    name: "pseudo-random bytes, length 64 (md5 padding edge)",
    input: { seq: [64, 1064] },
    expect: { one_at_a_time: 35420048, md5: 955699358, crc16: 1117425201, crc32: 23379, crc32a: 3679654169, fnv1_64: 2762284224, fnv1a_64: 4006734782, fnv1_32: 3535412256, fnv1a_32: 1438615422, hsieh: 2959462729, murmur: 129545713, jenkins: 3401647158 },
  },
  {
    name: "pseudo-random bytes, length 65 (md5 padding edge)",
    input: { seq: [65, 1065] },
    expect: { one_at_a_time: 118159389, md5: 961282123, crc16: 4120475469, crc32: 26205, crc32a: 1717395839, fnv1_64: 2276334033, fnv1a_64: 4052486965, fnv1_32: 560561649, fnv1a_32: 1337286549, hsieh: 2618445781, murmur: 3685852160, jenkins: 1897592684 },
  },
  {
    name: "pseudo-random bytes, length 119 (md5 padding edge)",
    input: { seq: [119, 1119] },
    expect: { one_at_a_time: 747000174, md5: 3677623982, crc16: 314343659, crc32: 6252, crc32a: 2557262242, fnv1_64: 1228044193, fnv1a_64: 2057192833, fnv1_32: 2047973665, fnv1a_32: 3657307265, hsieh: 1465851274, murmur: 2796381268, jenkins: 3931732164 },
  },
  {
    name: "pseudo-random bytes, length 120 (md5 padding edge)",
    input: { seq: [120, 1120] },
    expect: { one_at_a_time: 3896913325, md5: 1270973844, crc16: 1091737520, crc32: 17020, crc32a: 3262912250, fnv1_64: 3496424563, fnv1a_64: 2836535243, fnv1_32: 1898281107, fnv1a_32: 2706581931, hsieh: 2862029774, murmur: 2761402518, jenkins: 2271230677 },
  },
  {
    name: "pseudo-random bytes, length 128 (md5 padding edge)",
    input: { seq: [128, 1128] },
    expect: { one_at_a_time: 3258663058, md5: 3222287078, crc16: 1439143634, crc32: 19726, crc32a: 1292806354, fnv1_64: 790099065, fnv1a_64: 780792449, fnv1_32: 3919997337, fnv1a_32: 1521010145, hsieh: 2628587199, murmur: 3027308055, jenkins: 1548321819 },
  },
  {
    name: "4 KiB of pseudo-random bytes",
    input: { seq: [4096, 7] },
    expect: { one_at_a_time: 2211191891, md5: 1987320392, crc16: 1750816311, crc32: 18761, crc32a: 3377048623, fnv1_64: 1515361111, fnv1a_64: 2009293071, fnv1_32: 309352247, fnv1a_32: 288379311, hsieh: 1871459057, murmur: 1902706615, jenkins: 4127550574 },
  },
  {
    name: "5003 pseudo-random bytes",
    input: { seq: [5003, 11] },
    expect: { one_at_a_time: 1564416071, md5: 2875250457, crc16: 3376032776, crc32: 9112, crc32a: 2744664455, fnv1_64: 3765969633, fnv1a_64: 292057437, fnv1_32: 3005844481, fnv1a_32: 3376169725, hsieh: 1390031714, murmur: 4155284667, jenkins: 85542162 },
  },
];

/** The vector with this name; throws if there is none (a renamed vector must not silently pass). */
export function vectorNamed(name: string): HashVector & { readonly bytes: Uint8Array } {
  const v = HASH_VECTORS.find((x) => x.name === name);
  if (v === undefined) throw new RangeError(`Cannot find hash vector "${name}"`);
  return { ...v, bytes: vectorBytes(v.input) };
}
