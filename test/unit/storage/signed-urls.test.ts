import { describe, expect, it } from "vitest";
import { imageUrlFor, signImageKey, urlSignerFromEnv, verifyImageSignature } from "../../../src/storage/signed-urls";
import { manualClock } from "../../helpers/clock";

const SECRET = "a-test-secret-of-at-least-thirty-two-chars";
const config = { secret_env: "URL_SECRET", ttl_s: 3600 };

async function signer(clock = manualClock()) {
  const signing = await urlSignerFromEnv({ URL_SECRET: SECRET }, config, clock);
  if (!("signer" in signing)) throw new Error(signing.problem);
  return signing.signer;
}

function query(url: string) {
  const params = new URL(url).searchParams;
  return { exp: params.get("exp") ?? undefined, sig: params.get("sig") ?? undefined };
}

describe("signed image URLs", () => {
  it("signs <origin>/v1/images/<encoded key> with an expiry one TTL ahead, and verifies it", async () => {
    const clock = manualClock("2026-05-08T14:00:00Z");
    const s = await signer(clock);
    const url = await imageUrlFor("https://img.example", s)("alice/2026-05-08/cat.png");
    expect(url).toMatch(/^https:\/\/img\.example\/v1\/images\/alice%2F2026-05-08%2Fcat\.png\?exp=\d+&sig=[A-Za-z0-9_-]{43}$/);
    expect(query(url).exp).toBe(String(Date.parse("2026-05-08T15:00:00Z") / 1000));
    expect(await verifyImageSignature(s.key, "alice/2026-05-08/cat.png", query(url), clock)).toBe("valid");
  });

  it("calls a URL expired from its exp second on", async () => {
    const clock = manualClock("2026-05-08T14:00:00Z");
    const s = await signer(clock);
    const url = await imageUrlFor("https://img.example", s)("k.png");
    clock.advance(3600 * 1000 - 1);
    expect(await verifyImageSignature(s.key, "k.png", query(url), clock)).toBe("valid");
    clock.advance(1);
    expect(await verifyImageSignature(s.key, "k.png", query(url), clock)).toBe("expired");
  });

  it("calls another key, a moved expiry, a changed or missing signature forged", async () => {
    const clock = manualClock();
    const s = await signer(clock);
    const { exp, sig } = query(await imageUrlFor("https://img.example", s)("k.png"));
    expect(await verifyImageSignature(s.key, "other.png", { exp, sig }, clock)).toBe("forged");
    expect(await verifyImageSignature(s.key, "k.png", { exp: String(Number(exp) + 3600), sig }, clock)).toBe("forged");
    expect(await verifyImageSignature(s.key, "k.png", { exp, sig: `${sig!.slice(0, -1)}${sig!.endsWith("A") ? "B" : "A"}` }, clock)).toBe("forged");
    expect(await verifyImageSignature(s.key, "k.png", { exp }, clock)).toBe("forged");
    expect(await verifyImageSignature(s.key, "k.png", { exp: "soon", sig }, clock)).toBe("forged");
    expect(await verifyImageSignature(s.key, "k.png", { exp, sig: "not base64!" }, clock)).toBe("forged");
  });

  it("does not accept a signature made with another secret", async () => {
    const clock = manualClock();
    const other = await urlSignerFromEnv({ URL_SECRET: `${SECRET}-rotated` }, config, clock);
    if (!("signer" in other)) throw new Error(other.problem);
    const exp = Math.floor(clock.now() / 1000) + 60;
    const sig = await signImageKey(other.signer.key, "k.png", exp);
    expect(await verifyImageSignature((await signer(clock)).key, "k.png", { exp: String(exp), sig }, clock)).toBe("forged");
  });

  it("hands out plain URLs without a signer, and says why there is none", async () => {
    expect(await imageUrlFor("https://img.example", null)("a/b.png")).toBe("https://img.example/v1/images/a%2Fb.png");
    expect(await urlSignerFromEnv({}, config, manualClock())).toEqual({ problem: expect.stringContaining("URL_SECRET is not set") });
    expect(await urlSignerFromEnv({ URL_SECRET: "short" }, config, manualClock())).toEqual({ problem: expect.stringContaining("shorter than 32") });
  });
});
