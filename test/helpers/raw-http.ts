/**
 * One HTTP/1.1 request written byte for byte on a socket — for what `fetch` and `http.request` cannot
 * send: two `Host` headers, or a `Host` that is not a valid authority. The server closes after answering.
 */
import net from "node:net";

export interface RawAnswer {
  status: number;
  /** Lower-cased header names → last value. */
  headers: Record<string, string>;
  body: string;
}

export function rawHttp(port: number, method: string, path: string, headerLines: string[], body = ""): Promise<RawAnswer> {
  const head = [`${method} ${path} HTTP/1.1`, ...headerLines, "Connection: close", `Content-Length: ${Buffer.byteLength(body)}`];
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(`${head.join("\r\n")}\r\n\r\n${body}`));
    const chunks: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error("no answer within 10 s")));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const [top = "", ...rest] = text.split("\r\n\r\n");
      const [statusLine = "", ...lines] = top.split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n") });
    });
  });
}
