/**
 * How deeply a JSON text nests, found by one flat scan (no recursion, no parse), so that a body
 * can be refused before anything — JSON.parse, a schema, a structured clone — walks it
 * recursively and runs out of stack.
 */

/** True when `text` never opens more than `maxDepth` arrays or objects inside each other. */
export function jsonDepthWithin(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === BACKSLASH) i++;
      else if (char === QUOTE) inString = false;
    } else if (char === QUOTE) inString = true;
    else if (char === OPEN_BRACKET || char === OPEN_BRACE) {
      if (++depth > maxDepth) return false;
    } else if (char === CLOSE_BRACKET || char === CLOSE_BRACE) depth--;
  }
  return true;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
