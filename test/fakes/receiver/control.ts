/** Steering the fake webhook receiver from tests (fetch only: runs inside workerd). */
export interface InboxOptions {
  /** The first N deliveries fail with `fail_status`. */
  readonly fail_first?: number;
  readonly fail_status?: number;
}

export interface Delivery {
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly status: number;
}

export async function newInbox(fakeUrl: string, options: InboxOptions = {}): Promise<{ url: string; deliveries(): Promise<Delivery[]> }> {
  const response = await fetch(`${fakeUrl}/__fake/inboxes`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(options) });
  const { id, url } = await response.json<{ id: string; url: string }>();
  return { url, deliveries: async () => (await fetch(`${fakeUrl}/__fake/inboxes/${id}`)).json<Delivery[]>() };
}
