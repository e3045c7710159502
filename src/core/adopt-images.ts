/**
 * Storing the images of work adopted after its answer was lost (the cron's reconciliation,
 * ./reconcile.ts): through the one storing path (./store-images.ts), with what the request would
 * have stored them with, kept in the caller's book while the attempt's cost is unknown.
 *
 * A sweep may die after storing and before the attempt is settled, and the next one stores
 * again. So the store is made repeatable: the image ids come from the attempt id, the clock
 * stands at when the call was sent, the naming is the request's own, and the store resumes (an
 * object already under a key with the same image id is that image, completed instead of stored
 * again under the next suffix). A repeat finds the same keys and writes nothing twice.
 */
import type { ImagenConfig } from "../config/schema";
import { sha256Hex } from "../lib/hash";
import { ulid, type IdSource } from "../lib/ids";
import type { GeneratedImageRecord, PipelineDeps, PreparedGeneration, SuccessfulAttempt } from "./pipeline";
import { storeImages } from "./store-images";

/** What storing an attempt's images needs once the request is long answered: its work and its naming. */
export interface AdoptionStore {
  readonly work: PreparedGeneration;
  readonly output: ImagenConfig["output"];
}

export function adoptionStoreOf(work: PreparedGeneration, config: Pick<ImagenConfig, "output">): AdoptionStore {
  return { work, output: config.output };
}

export interface AdoptedAttempt {
  /** The attempt's id (its usage event id): what its images' ids derive from. */
  readonly attemptId: string;
  /** Worker clock (ms) when its call went out: the time its images are named and recorded at. */
  readonly sentAt: number;
}

/** The adopted attempt's images, stored as its request would have stored them; a repeat stores nothing twice. */
export async function storeAdoptedImages(
  store: AdoptionStore,
  adopted: AdoptedAttempt,
  attempt: SuccessfulAttempt,
  deps: Pick<PipelineDeps, "config" | "store" | "clock" | "log">,
): Promise<GeneratedImageRecord[]> {
  const ids = await attemptImageIds(adopted, attempt.result.images.length);
  return storeImages(
    store.work,
    attempt,
    {
      config: { ...deps.config, output: store.output },
      store: deps.store,
      clock: { now: () => adopted.sentAt, sleep: (ms, signal) => deps.clock.sleep(ms, signal) },
      ids,
      log: deps.log,
    },
    { resume: true },
  );
}

/** Image i of the attempt always gets the same id: ulid-shaped, at the send time, its randomness a hash of the attempt id and i. */
async function attemptImageIds(adopted: AdoptedAttempt, count: number): Promise<IdSource> {
  const hashes = await Promise.all(Array.from({ length: count }, (_, index) => sha256Hex(`${adopted.attemptId}:${index}`)));
  const ids = hashes.map((hex) =>
    ulid(
      adopted.sentAt,
      Uint8Array.from(hex.slice(0, 20).match(/../g)!, (byte) => Number.parseInt(byte, 16)),
    ),
  );
  let next = 0;
  return {
    newId: () => {
      const id = ids[next++];
      if (id === undefined) throw new Error(`an adopted attempt has ${count} image id(s); asked for more`);
      return id;
    },
    // Seeds are the provider's already: storing never draws one.
    randomSeed: () => {
      throw new Error("storing adopted images draws no seed");
    },
  };
}
