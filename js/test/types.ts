// Compiled by `npm run typecheck`: the .d.ts must describe what pages use.
import { connect, backoff, decode, wsUrl, type Status } from "../nbws.js";

const conn = connect({ queueLimit: 10 });
conn.on("open", () => undefined);
conn.on("status", (s: Status) => s.toUpperCase());
conn.on("close", (ev: CloseEvent) => ev.code);
conn.on("price", (data: any) => data);
conn.on("binary", (buf: ArrayBuffer) => buf.byteLength);
conn.send("vote", { answer: 3 });
conn.sendBinary(new ArrayBuffer(8));
const result: Promise<any> = conn.call("fit", { degree: 2 }, { timeout: 1000 });
void result;
const delay: number = backoff(3);
const url: string = wsUrl("http://h/p", "http://h/_nbws/nbws.js");
const d = decode("{}");
if (d.type === "topic") d.topic.toUpperCase();
void delay; void url;
conn.close();
