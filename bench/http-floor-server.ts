/**
 * The TTP bench's HTTP floor, in a process of its own: a bare node:http server on loopback that
 * reads each request body and answers it with a fixed JSON body of a TTP answer's size — no
 * framework, no parsing, no crypto, no storage. The same clients as the TTP's load run measure its
 * rate: what one process spends on HTTP alone at that load, the part of a decision over HTTP that
 * no TTP code can remove.
 */
import { createServer } from 'node:http';

const answer = JSON.stringify({ decided: true, exchangeId: 'x'.repeat(43), answer: { padding: 'y'.repeat(900) } });
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  process.send!({ type: 'ready', url: `http://127.0.0.1:${address.port}` });
});
process.on('message', (m: { type: string }) => {
  if (m.type === 'exit') server.close(() => process.exit(0));
});
