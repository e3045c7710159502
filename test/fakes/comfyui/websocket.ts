/**
 * Just enough of RFC 6455 for ComfyUI's `/ws`: the server side of the handshake, unmasked text
 * frames out, and close / ping handling in. No extensions are accepted, so frames are never
 * compressed. (ComfyUI itself uses aiohttp's WebSocketResponse.)
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export class WsConnection {
  private buffered = Buffer.alloc(0);
  private closed = false;

  constructor(
    private readonly socket: Duplex,
    private readonly onClose: () => void,
  ) {
    socket.on("data", (data: Buffer) => this.receive(data));
    socket.on("close", () => this.finish());
    socket.on("error", () => this.finish());
  }

  sendJson(value: unknown): void {
    if (!this.closed) this.socket.write(frame(0x1, Buffer.from(JSON.stringify(value), "utf8")));
  }

  close(): void {
    if (this.closed) return;
    this.socket.write(frame(0x8, Buffer.from([0x03, 0xe8])));
    this.socket.end();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }

  private receive(data: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, data]);
    for (;;) {
      if (this.buffered.length < 2) return;
      const opcode = this.buffered[0]! & 0x0f;
      const masked = (this.buffered[1]! & 0x80) !== 0;
      let length = this.buffered[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffered.length < 4) return;
        length = this.buffered.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffered.length < 10) return;
        length = Number(this.buffered.readBigUInt64BE(2));
        offset = 10;
      }
      const maskOffset = offset;
      if (masked) offset += 4;
      if (this.buffered.length < offset + length) return;
      const payload = Buffer.from(this.buffered.subarray(offset, offset + length));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= this.buffered[maskOffset + (i % 4)]!;
      this.buffered = this.buffered.subarray(offset + length);
      if (opcode === 0x8) {
        if (!this.closed) this.socket.end(frame(0x8, payload.subarray(0, 2)));
        this.finish();
        return;
      }
      if (opcode === 0x9) this.socket.write(frame(0xa, payload));
    }
  }
}

/** Complete the upgrade, or answer 400 and return null when it is not a websocket handshake. */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, onClose: () => void): WsConnection | null {
  const key = req.headers["sec-websocket-key"];
  if (typeof key !== "string" || (req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
    socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return null;
  }
  const accept = createHash("sha1")
    .update(key + GUID)
    .digest("base64");
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  return new WsConnection(socket, onClose);
}

function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([0x80 | opcode, length]);
  } else if (length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}
