// Compiled by `npm run typecheck` against nbws.js and chart.js themselves
// (their JSDoc): what pages write must type-check. types/*.d.ts are generated
// from the same JSDoc and compared by `npm run check-types`.
import {
  connect, backoff, decode, wsUrl, NbwsError, NbwsQueueFull, NbwsClosed, LIFECYCLE_EVENTS, type Status, type Resync,
} from "../nbws.js";
import { liveplot, LiveChart } from "../chart.js";

const conn = connect({ queueLimit: 10, session: true, heartbeatInterval: 15000, heartbeatTimeout: 5000, connectTimeout: 8000 });
conn.on("resync", (info: Resync) => (info.reason === "gap" ? info.missed : null));
const sessionId: string | null = conn.sessionId;
void sessionId;
conn.on("open", () => undefined);
conn.on("status", (s: Status) => s.toUpperCase());
conn.on("close", (ev: CloseEvent) => ev.code);
conn.on("error", (err: Error) => err.message);
conn.on("message", (text: string) => text.length);
conn.on("binary", (buf: ArrayBuffer) => buf.byteLength);
conn.topic("status", (data: any) => data);         // a user topic named like a lifecycle event
const unsubscribe: () => void = conn.topic("price", (data: any) => data);
unsubscribe();
conn.on("price", (data: any) => data);             // deprecated spelling, still typed
conn.send("vote", { answer: 3 });
conn.sendBinary(new ArrayBuffer(8));
const result: Promise<any> = conn.call("fit", { degree: 2 }, { timeout: 1000 });
result.catch((err: unknown) => {
  if (err instanceof NbwsQueueFull) return err.limit + 1;
  if (err instanceof NbwsClosed) return err.call;
  if (err instanceof NbwsError) return err.name;
  return null;
});
const events: readonly string[] = LIFECYCLE_EVENTS;
const delay: number = backoff(3);
const url: string = wsUrl("http://h/p", "http://h/_nbws/nbws.js");
const d = decode("{}");
if (d.type === "topic") d.topic.toUpperCase();
void delay; void url; void events;
const chart = liveplot(document.body, { path: "live/x/ws", window: 100 });
const count: number = chart.count();
const sameConn: typeof conn = chart.conn;
const bare: LiveChart = new LiveChart(document.body, { series: ["y"] });
void count; void sameConn; void bare;
conn.close();
