// Types of nbws.js, the nbws browser helper. Checked against nbws.js by `npm run typecheck`.

export type Status = "connecting" | "open" | "reconnecting" | "closed";

export interface ConnectOptions {
  /** full ws:// or wss:// URL (default: derived from where nbws.js was served) */
  url?: string;
  /** endpoint path relative to the server root (default "_nbws/ws") */
  path?: string;
  /** reconnect after drops (default true) */
  reconnect?: boolean;
  /** most messages kept while disconnected (default 1000) */
  queueLimit?: number;
  /** milliseconds before a call() is rejected (default 30000) */
  callTimeout?: number;
  /** first retry delay in ms (default 250) */
  backoffBase?: number;
  /** longest retry delay in ms (default 10000) */
  backoffMax?: number;
  /** WebSocket subprotocols */
  protocols?: string[];
  /** a WebSocket class (tests) */
  WebSocketImpl?: typeof WebSocket;
}

export type Outgoing =
  | { kind: "text"; data: string }
  | { kind: "binary"; data: ArrayBuffer | ArrayBufferView | Blob };

export type Decoded =
  | { type: "topic"; topic: string; data: unknown }
  | { type: "reply"; id: number; data: unknown; error: string | null }
  | { type: "call"; name: string; id: number; data: unknown }
  | { type: "text"; text: string };

export function wsUrl(pageHref: string, moduleHref: string, path?: string): string;
export function backoff(attempt: number, base?: number, max?: number, random?: () => number): number;
export function encodeTopic(topic: string, data: unknown): string;
export function encodeCall(name: string, id: number, data: unknown): string;
export function decode(text: string): Decoded;

export class OutQueue<T> {
  constructor(limit: number);
  items: T[];
  limit: number;
  dropped: number;
  push(item: T): boolean;
  drain(): T[];
  readonly length: number;
}

export class Connection {
  constructor(url: string, options?: ConnectOptions);
  readonly url: string;
  status: Status;
  readonly dropped: number;
  on(event: "open", fn: (arg: undefined) => void): () => void;
  on(event: "close", fn: (ev: CloseEvent) => void): () => void;
  on(event: "status", fn: (status: Status) => void): () => void;
  on(event: "error", fn: (err: Error) => void): () => void;
  on(event: "binary", fn: (buf: ArrayBuffer) => void): () => void;
  on(event: "message", fn: (text: string) => void): () => void;
  on(topic: string, fn: (data: any) => void): () => void;
  off(event: string, fn: (arg: any) => void): void;
  send(topic: string, data?: unknown): void;
  sendText(text: string): void;
  sendBinary(data: ArrayBuffer | ArrayBufferView | Blob): void;
  call(name: string, data?: unknown, options?: { timeout?: number }): Promise<any>;
  close(code?: number, reason?: string): void;
}

export function connect(options?: ConnectOptions): Connection;

export function decodePoints(buffer: ArrayBuffer): { series: number; xs: Float64Array; ys: Float64Array }[];
export function ticks(lo: number, hi: number, count?: number): number[];

export class Column {
  data: Float64Array;
  length: number;
  append(values: Float64Array): void;
  values(): Float64Array;
}

export interface LiveChartOptions {
  series?: string[];
  window?: number | null;
  log?: boolean;
  title?: string;
}

export function windowStart(columns: { x: Column }[], n: number | null): number;
export function firstAtOrAfter(xs: Float64Array, x: number): number;

export class LiveChart {
  constructor(element: HTMLElement, options?: LiveChartOptions);
  names: string[];
  window: number | null;
  log: boolean;
  paused: boolean;
  frames: number;
  view: { x0: number; x1: number; y0: number; y1: number } | null;
  setMeta(meta: { series: string[]; title?: string; window?: number | null }): void;
  addPoints(series: number, xs: Float64Array, ys: Float64Array): void;
  count(): number;
  data(series: number): { x: number[]; y: number[] };
  draw(): void;
}

export function liveplot(
  element: HTMLElement,
  options?: ConnectOptions & { window?: number | null; log?: boolean },
): LiveChart & { conn: Connection };
