import { request, type IncomingMessage } from 'node:http';
import { waitUntil } from './wait-until.js';

export interface SseFrame {
  readonly event: string;
  readonly data: string;
}

export interface SseClient {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly frames: SseFrame[];
  /** Comment lines (`: heartbeat`). */
  readonly comments: string[];
  /** The raw body, for non-stream answers (a 429). */
  readonly body: () => string;
  readonly ended: () => boolean;
  /** Waits for a frame matching `predicate` (among those received so far or later). */
  next(predicate: (frame: SseFrame) => boolean, timeoutMs?: number): Promise<SseFrame>;
  close(): void;
}

/** A minimal Server-Sent Events client on node:http (parses `event:`, `data:` and comment lines). */
export function openSse(url: string): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      const frames: SseFrame[] = [];
      const comments: string[] = [];
      let raw = '';
      let buffer = '';
      let ended = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
          }
          if (data.length > 0) frames.push({ event, data: data.join('\n') });
          end = buffer.indexOf('\n\n');
        }
      });
      res.on('close', () => (ended = true));
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        frames,
        comments,
        body: () => raw,
        ended: () => ended,
        next: (predicate, timeoutMs = 10_000) =>
          waitUntil(() => frames.find(predicate), { timeoutMs, message: 'an SSE frame' }),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}
