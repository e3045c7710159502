/**
 * An edit's inputs as the command line names them (`--ref`, repeatable, and `--mask`): a local
 * file is uploaded in the body as base64, anything else that has the shape of a stored image key
 * (`<caller>/…/x.png`, as `imagen` prints them) is sent as `{key}`. Local files are checked
 * against the service's default `[edits]` bounds first, so a wrong file is one line and exit 2
 * instead of a round trip with megabytes of base64.
 */
import { readFile, stat } from "node:fs/promises";
import { pngHasAlpha, sniffImage } from "../../src/backends/image-size.js";
import { editsConfigSchema, MAX_UPLOAD_BODY_BYTES } from "../../src/config/edits.js";
import { keyProblem } from "../../src/storage/naming.js";
import { UsageError } from "./errors.js";

/** One input as `POST /v1/images` takes it. */
type InputImage = { readonly key: string } | { readonly b64_json: string };

interface LocalFile {
  readonly kind: "file";
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly mimeType: string;
  readonly width: number;
  readonly height: number;
  readonly alpha: boolean;
}

type NamedInput = LocalFile | { readonly kind: "key"; readonly key: string };

/** What the request carries, and how the local sidecar records it (paths and keys, never bytes). */
export interface EditInputs {
  readonly referenceImages: readonly InputImage[];
  readonly mask: InputImage | undefined;
  readonly described: { readonly reference_images: readonly NamedSource[]; readonly mask: NamedSource | null };
}

type NamedSource = { readonly file: string } | { readonly key: string };

const BOUNDS = editsConfigSchema.parse({});
const MIB = 1024 * 1024;

/** Reads and checks every input; a problem is a UsageError naming the flag and the value. */
export async function editInputs(refs: readonly string[], mask: string | undefined): Promise<EditInputs | undefined> {
  if (refs.length === 0) {
    if (mask !== undefined) throw new UsageError("--mask needs at least one --ref: the mask marks where to edit the first one");
    return undefined;
  }
  const references = await Promise.all(refs.map((value) => namedInput("--ref", value)));
  const maskInput = mask === undefined ? undefined : await namedInput("--mask", mask);
  if (maskInput?.kind === "file") checkMask(maskInput, references[0]!);
  const uploaded = [...references, ...(maskInput ? [maskInput] : [])].reduce((sum, input) => sum + (input.kind === "file" ? base64Length(input.bytes) : 0), 0);
  if (uploaded > MAX_UPLOAD_BODY_BYTES) {
    throw new UsageError(
      `the local files are ${(uploaded / MIB).toFixed(1)} MiB together as base64; one request takes up to ${MAX_UPLOAD_BODY_BYTES / MIB} MiB: ` +
        "pass some by their key (as `imagen` printed it) instead",
    );
  }
  return {
    referenceImages: references.map(wire),
    mask: maskInput && wire(maskInput),
    described: { reference_images: references.map(source), mask: maskInput ? source(maskInput) : null },
  };
}

async function namedInput(flag: string, value: string): Promise<NamedInput> {
  let size: number;
  try {
    const found = await stat(value);
    if (!found.isFile()) throw new UsageError(`${flag} ${value}: not a file`);
    size = found.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    // Not a local file: a stored image is named by its key, which always has a folder (its caller's).
    if (code === "ENOENT" && value.includes("/") && keyProblem(value) === null) return { kind: "key", key: value };
    throw new UsageError(
      code === "ENOENT" ? `${flag} ${value}: no such file (nor an image key)` : `${flag} ${value}: cannot read it (${code ?? (error as Error).message})`,
    );
  }
  if (size > BOUNDS.max_input_bytes) {
    throw new UsageError(`${flag} ${value}: ${(size / MIB).toFixed(1)} MiB; the service takes images up to ${BOUNDS.max_input_bytes / MIB} MiB`);
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(value));
  } catch (error) {
    throw new UsageError(`${flag} ${value}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  const sniffed = sniffImage(bytes);
  if (!sniffed) throw new UsageError(`${flag} ${value}: not a PNG, JPEG or WebP image`);
  if (sniffed.width * sniffed.height > BOUNDS.max_input_pixels) {
    throw new UsageError(
      `${flag} ${value}: ${sniffed.width}x${sniffed.height} is ${sniffed.width * sniffed.height} pixels; the service takes up to ${BOUNDS.max_input_pixels}`,
    );
  }
  return { kind: "file", path: value, bytes, ...sniffed, alpha: sniffed.mimeType === "image/png" && pngHasAlpha(bytes) };
}

/** The service's mask rules, checked here when both files are local. */
function checkMask(mask: LocalFile, first: NamedInput): void {
  if (mask.mimeType !== "image/png") throw new UsageError(`--mask ${mask.path}: a mask must be a PNG, not ${mask.mimeType}`);
  if (!mask.alpha) throw new UsageError(`--mask ${mask.path}: a mask must be a PNG with an alpha channel (its transparent pixels mark where to edit)`);
  if (first.kind === "file" && (mask.width !== first.width || mask.height !== first.height)) {
    throw new UsageError(`--mask ${mask.path}: it is ${mask.width}x${mask.height}; it must be the size of the first --ref, ${first.width}x${first.height}`);
  }
}

function wire(input: NamedInput): InputImage {
  return input.kind === "key" ? { key: input.key } : { b64_json: Buffer.from(input.bytes).toString("base64") };
}

function source(input: NamedInput): NamedSource {
  return input.kind === "key" ? { key: input.key } : { file: input.path };
}

function base64Length(bytes: Uint8Array): number {
  return Math.ceil(bytes.length / 3) * 4;
}
