// The built-in quick start configuration is conf/quickstart.yml, word for word, and a valid pool file.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConf } from "./conf/parse.ts";
import { QUICKSTART_YAML } from "./quickstart.ts";

describe("QUICKSTART_YAML", () => {
  it("is conf/quickstart.yml", () => {
    const file = readFileSync(new URL("../conf/quickstart.yml", import.meta.url), "utf8");
    expect(QUICKSTART_YAML).toBe(file);
  });

  it("is one ketama memcache pool on 127.0.0.1:22122 over two loopback servers", () => {
    const [pool, ...rest] = parseConf(QUICKSTART_YAML, "quickstart.yml");
    expect(rest).toEqual([]);
    expect(pool!.listen.pname).toBe("127.0.0.1:22122");
    expect(pool!.redis).toBe(false);
    expect(pool!.distribution).toBe("ketama");
    expect(pool!.servers.map((s) => s.pname)).toEqual(["127.0.0.1:22201:1", "127.0.0.1:22202:1"]);
  });
});
