/**
 * Network failures without a real socket failing. workerd logs every outbound connection that is
 * refused or reset as an "uncaught exception … Network connection lost" with a stack dump, even
 * when the code handles the rejection, so failures exercised through real broken sockets print
 * noise that hides real uncaught exceptions. This fetch rejects as workerd's does for the
 * requests `drops` picks and hands every other request to the real network.
 */
export interface FailingNetwork {
  readonly fetch: typeof fetch;
  /** The requests that never got through, in order. */
  readonly dropped: Request[];
}

export function failingNetwork(
  drops: (request: Request, dropsSoFar: number) => boolean,
  options: {
    /** The request reaches the server and is answered, but the answer is lost on its way back. */
    readonly afterSending?: boolean;
  } = {},
): FailingNetwork {
  const dropped: Request[] = [];
  return {
    dropped,
    fetch: async (input, init) => {
      const request = new Request(input, init);
      if (!drops(request, dropped.length)) return fetch(request);
      dropped.push(request);
      if (options.afterSending) await (await fetch(request.clone())).body?.cancel();
      throw new Error("Network connection lost.");
    },
  };
}
