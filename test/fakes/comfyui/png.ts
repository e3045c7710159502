/**
 * PNGs the way ComfyUI's SaveImage writes them: 8-bit RGB, with the prompt (and the UI workflow,
 * when the client sent one in extra_pnginfo) as text chunks.
 */
import { encodePng, type Rgb } from "../png";

/** A flat image in a seed-derived colour with a darker band per batch index, so images differ. */
export function renderPng(width: number, height: number, seed: number, index: number, text: Readonly<Record<string, string>>): Buffer {
  const colour: Rgb = [(seed * 37 + 80) % 256, (seed * 101 + index * 53 + 40) % 256, (seed * 13 + 160) % 256];
  const band: Rgb = [colour[0] >> 1, colour[1] >> 1, colour[2] >> 1];
  return encodePng(width, height, (y) => (Math.floor((y * 8) / height) === index % 8 ? band : colour), text);
}
