/**
 * Standard Webhooks signing secrets (`whsec_<base64>`), ours for callbacks and Replicate's for its
 * deliveries: one place decides what a usable secret looks like.
 */
import { Webhook } from "standardwebhooks";

/** The signer/verifier for `secret`; throws naming what is wrong (`what` is the secret's name). */
export function whsecSigner(secret: string, what: string): Webhook {
  if (!secret.startsWith("whsec_")) throw new Error(`${what} must look like whsec_<base64>`);
  try {
    return new Webhook(secret);
  } catch (error) {
    throw new Error(`${what} is not valid base64 after whsec_`, { cause: error });
  }
}
