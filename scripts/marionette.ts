/**
 * A minimal client for Marionette, Firefox's built-in remote protocol (`firefox --marionette`):
 * length-prefixed JSON over TCP, `[0, id, command, params]` → `[1, id, error, result]`. Enough for
 * scripts/firefox-smoke.ts; no dependency beyond Node.
 */
import { connect, type Socket } from 'node:net';

export class Marionette {
  private buf = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private greeting!: (v: unknown) => void;
  private constructor(private readonly sock: Socket) {}

  static async open(port: number, tries = 100): Promise<Marionette> {
    for (let i = 0; ; i++) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect(port, '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        });
        const m = new Marionette(sock);
        const hello = new Promise((r) => (m.greeting = r));
        sock.on('data', (d) => m.onData(d));
        sock.on('close', () => {
          for (const p of m.pending.values()) p.reject(new Error('Marionette connection closed'));
          m.pending.clear();
        });
        await hello;
        return m;
      } catch (e) {
        if (i >= tries) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const colon = this.buf.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(this.buf.subarray(0, colon).toString());
      if (this.buf.length < colon + 1 + len) return;
      const msg = JSON.parse(this.buf.subarray(colon + 1, colon + 1 + len).toString('utf8')) as unknown;
      this.buf = this.buf.subarray(colon + 1 + len);
      if (!Array.isArray(msg)) {
        this.greeting(msg);
        continue;
      }
      const [, id, error, result] = msg as [number, number, { error: string; message: string } | null, unknown];
      const p = this.pending.get(id);
      this.pending.delete(id);
      if (!p) continue;
      if (error) p.reject(new Error(`${error.error}: ${error.message}`));
      else p.resolve(result);
    }
  }

  send<T = unknown>(name: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    const body = Buffer.from(JSON.stringify([0, id, name, params]), 'utf8');
    this.sock.write(Buffer.concat([Buffer.from(`${body.length}:`), body]));
    return new Promise<T>((resolve, reject) => this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
  }

  async value<T = unknown>(name: string, params: Record<string, unknown> = {}): Promise<T> {
    const r = await this.send<unknown>(name, params);
    return (r !== null && typeof r === 'object' && !Array.isArray(r) && 'value' in r ? (r as { value: T }).value : r) as T;
  }

  close(): void {
    this.sock.destroy();
  }
}
