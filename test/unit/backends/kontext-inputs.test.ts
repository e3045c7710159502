/** FLUX.1 Kontext's model input on Replicate, and how a lost create's prediction is recognised for an edit. */
import { describe, expect, it } from "vitest";
import type { GenerationSpec } from "../../../src/backends/backend";
import { sameInput } from "../../../src/backends/replicate/adopt";
import { fluxInput, type FluxInputOptions } from "../../../src/backends/replicate/flux-inputs";

const spec = (overrides: Partial<GenerationSpec> = {}): GenerationSpec => ({ prompt: "make it dusk", width: 96, height: 64, seed: 7, n: 1, ...overrides });
const options = (overrides: Partial<FluxInputOptions> = {}): FluxInputOptions => ({
  family: "kontext",
  modelName: "flux-kontext-pro",
  outputFormat: "png",
  extraInput: {},
  inputImage: { uri: "https://imagen.example.com/v1/images/a.png?exp=1&sig=s", width: 96, height: 64 },
  ...overrides,
});

describe("fluxInput for FLUX.1 Kontext", () => {
  it("keeps the input's ratio when the request's size has it, and sends the image as given", () => {
    expect(fluxInput(spec(), options())).toEqual({
      prompt: "make it dusk",
      seed: 7,
      output_format: "png",
      input_image: "https://imagen.example.com/v1/images/a.png?exp=1&sig=s",
      aspect_ratio: "match_input_image",
    });
  });

  it("takes the nearest listed ratio when the request asks for another shape", () => {
    expect(fluxInput(spec({ width: 1024, height: 1024 }), options()).aspect_ratio).toBe("1:1");
    expect(fluxInput(spec({ width: 2000, height: 1000 }), options()).aspect_ratio).toBe("2:1");
    expect(fluxInput(spec({ width: 1000, height: 1800 }), options()).aspect_ratio).toBe("9:16");
  });

  it("makes an image from the prompt alone on pro/max, but not on dev, which needs one", () => {
    const { inputImage: _none, ...textOnly } = options();
    expect(fluxInput(spec({ width: 1344, height: 768 }), textOnly)).toEqual({ prompt: "make it dusk", seed: 7, output_format: "png", aspect_ratio: "16:9" });
    expect(() => fluxInput(spec(), { ...textOnly, family: "kontext-dev", modelName: "flux-kontext-dev" })).toThrow(
      expect.objectContaining({ kind: "invalid_request", detail: "flux-kontext-dev edits an image; send one" }),
    );
  });

  it("refuses n > 1 (one image per prediction), and dev's steps outside 4..50; dev runs with go_fast off", () => {
    expect(() => fluxInput(spec({ n: 2 }), options())).toThrow(expect.objectContaining({ kind: "invalid_request" }));
    const dev = options({ family: "kontext-dev", modelName: "flux-kontext-dev", outputFormat: "webp" });
    expect(() => fluxInput(spec(), { ...dev, steps: 3 })).toThrow(
      expect.objectContaining({ detail: "flux-kontext-dev takes 4..50 steps (num_inference_steps); asked for 3" }),
    );
    expect(fluxInput(spec(), { ...dev, steps: 28 })).toMatchObject({ go_fast: false, num_inference_steps: 28, output_format: "webp" });
  });

  it("lets request-derived fields win over extra_input", () => {
    expect(fluxInput(spec(), options({ extraInput: { safety_tolerance: 2, prompt_upsampling: true } }))).toMatchObject({
      safety_tolerance: 2,
      prompt_upsampling: true,
      prompt: "make it dusk",
    });
  });
});

describe("sameInput (recognising the prediction of a lost create)", () => {
  const sent = { prompt: "p", seed: 7, aspect_ratio: "match_input_image", input_image: "https://a/v1/images/k?exp=1&sig=one" };

  it("compares an edit's input_image by presence only: each signing makes another link", () => {
    expect(sameInput({ ...sent, input_image: "https://a/v1/images/k?exp=2&sig=two" }, sent)).toBe(true);
    expect(sameInput({ ...sent, input_image: "data:image/png;base64,AAAA" }, sent)).toBe(true);
  });

  it("still tells inputs apart by everything else, and by whether there is an image at all", () => {
    expect(sameInput({ ...sent, seed: 8 }, sent)).toBe(false);
    const { input_image: _image, ...textOnly } = sent;
    expect(sameInput(textOnly, sent)).toBe(false);
    expect(sameInput(textOnly, textOnly)).toBe(true);
  });
});
