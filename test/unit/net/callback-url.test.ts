/**
 * SSRF through `callback_url`: targets are judged when the job is submitted, from the URL alone.
 * Nothing in this file sends a request anywhere — the refusals are checked before any delivery
 * could be attempted, and the accepted public URLs are only classified, never called. The same
 * refusal through the API: test/handlers/jobs.test.ts (callback_url checks).
 */
import { describe, expect, it } from "vitest";
import { callbackUrlProblem } from "../../../src/jobs/callbacks";
import { classifyHost } from "../../../src/net/address-rules";

const SHIPPED = { allowLoopback: false };
const LOCAL_DEV = { allowLoopback: true };

/** [callback_url, what the refusal must mention] — refused with the shipped config. */
const refused: [string, string][] = [
  ["https://169.254.169.254/latest/meta-data/", "link-local"],
  ["https://[fd00:ec2::254]/latest/meta-data/", "unique local"],
  ["https://metadata.google.internal/computeMetadata/v1/", "metadata"],
  ["https://METADATA.GOOGLE.INTERNAL./computeMetadata/v1/", "metadata"],
  ["https://metadata/computeMetadata/v1/", "metadata"],
  ["https://10.0.0.1/", "private"],
  ["https://172.16.5.4/", "private"],
  ["https://172.31.255.255/", "private"],
  ["https://192.168.1.1/", "private"],
  ["https://100.64.0.1/", "carrier-grade NAT"],
  ["https://0.0.0.0/", "unspecified"],
  ["https://224.0.0.1/", "multicast"],
  ["https://255.255.255.255/", "reserved"],
  ["https://192.0.2.10/", "documentation"],
  ["https://localhost/", "loopback"],
  ["https://LOCALHOST/", "loopback"],
  ["https://localhost./", "loopback"],
  ["https://api.localhost/", "loopback"],
  ["http://127.0.0.1/", "loopback"],
  ["http://127.1/", "loopback"],
  ["http://127.255.0.9/", "loopback"],
  ["http://2130706433/", "loopback"],
  ["http://0x7f000001/", "loopback"],
  ["http://017700000001/", "loopback"],
  ["http://0x7f.0.0.1/", "loopback"],
  ["https://[::1]/", "loopback"],
  ["https://[0:0:0:0:0:0:0:1]/", "loopback"],
  ["https://[::ffff:127.0.0.1]/", "loopback"],
  ["https://[::ffff:7f00:1]/", "loopback"],
  ["https://[::ffff:169.254.169.254]/", "link-local"],
  ["https://[::ffff:10.1.2.3]/", "private"],
  ["https://[64:ff9b::a9fe:a9fe]/", "link-local"],
  ["https://[::]/", "unspecified"],
  ["https://[fd00::1]/", "unique local"],
  ["https://[fc12:3456::1]/", "unique local"],
  ["https://[fe80::1]/", "link-local"],
  ["https://[ff02::1]/", "multicast"],
  ["https://[2001:db8::1]/", "documentation"],
  ["https://[2002:c0a8:101::1]/", "6to4"],
  ["https://router.local/", "private network name"],
  ["https://db.internal/", "private network name"],
  ["https://intranet/", "single-label"],
  ["https://hooks.example.com:8443/", "default https port"],
  ["https://hooks.example.com:0/", "port 0"],
  ["https://hooks.example.com:80/", "default https port"],
  ["http://hooks.example.com/", "https"],
  ["ftp://hooks.example.com/", "https"],
  ["https://user:pass@hooks.example.com/", "credentials"],
  ["not a url", "not a URL"],
];

/** Accepted with the shipped config (classified only — never called). */
const accepted = [
  "https://hooks.example.com/imagen",
  "https://hooks.example.com:443/imagen",
  "https://8.8.8.8/hook",
  "https://[2606:4700:4700::1111]/hook",
  "https://[::ffff:8.8.8.8]/hook",
  "https://172.32.0.1/hook",
  "https://hooks.example.com./imagen",
];

describe("callback_url targets, shipped config (no loopback)", () => {
  it.each(refused)("refuses %s (%s)", (url, why) => {
    const problem = callbackUrlProblem(url, SHIPPED);
    expect(problem).not.toBeNull();
    expect(problem).toMatch(/^callback_url /);
    expect(problem!.toLowerCase()).toContain(why.toLowerCase());
  });

  it.each(accepted)("accepts %s", (url) => {
    expect(callbackUrlProblem(url, SHIPPED)).toBeNull();
  });
});

describe("callback_url targets with jobs.allow_loopback_callbacks (local development)", () => {
  it.each(["http://127.0.0.1:8787/hook", "http://localhost:3000/hook", "https://[::1]:9443/hook", "http://127.1:8080/x", "http://2130706433:8080/x"])(
    "accepts loopback %s, over http and on any port",
    (url) => {
      expect(callbackUrlProblem(url, LOCAL_DEV)).toBeNull();
    },
  );

  it.each([
    ["http://127.0.0.1:0/hook", "port 0"],
    ["https://169.254.169.254/", "link-local"],
    ["https://10.0.0.1/", "private"],
    ["https://[fd00::1]/", "unique local"],
    ["http://hooks.example.com/", "https"],
  ])("still refuses %s (%s)", (url, why) => {
    expect(callbackUrlProblem(url, LOCAL_DEV)?.toLowerCase()).toContain(why.toLowerCase());
  });
});

describe("the address rules see through the parser's spellings", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["[::1]", "loopback"],
    ["localhost", "loopback"],
    ["169.254.169.254", "internal"],
    ["[::ffff:a9fe:a9fe]", "internal"],
    ["example.com", "public"],
    ["1.1.1.1", "public"],
  ])("%s is %s", (host, kind) => {
    expect(classifyHost(host).kind).toBe(kind);
  });
});
