/**
 * A local SMTP sink: accepts every message on 127.0.0.1 without authentication and stores it
 * untouched as `<dir>/<timestamp>-<id>.eml`, so reports and alerts can be read and tested.
 * Started detached by `services:up`:  node --import tsx scripts/services/smtp-sink.ts --port 2525 --dir .data/mail
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';

import { SMTPServer } from 'smtp-server';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '2525' },
    host: { type: 'string', default: '127.0.0.1' },
    dir: { type: 'string' },
    'max-size': { type: 'string', default: String(25 * 1024 * 1024) },
  },
});
if (!values.dir) {
  console.error('smtp-sink: --dir is required');
  process.exit(2);
}
const mailDir = values.dir;
const port = Number(values.port);
const maxSize = Number(values['max-size']);
mkdirSync(mailDir, { recursive: true });

function messageFileName(): string {
  // Sortable by arrival; the random part keeps two messages in the same millisecond apart.
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return `${stamp}-${randomBytes(4).toString('hex')}.eml`;
}

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  banner: 'ShopFlow local mail sink',
  size: maxSize,
  logger: false,
  onData(stream, session, callback) {
    const name = messageFileName();
    // Write under a temporary name and rename, so readers never see half a message.
    const partial = join(mailDir, `.${name}.partial`);
    pipeline(stream, createWriteStream(partial))
      .then(() => {
        if ((stream as { sizeExceeded?: boolean }).sizeExceeded) {
          rmSync(partial, { force: true });
          callback(Object.assign(new Error(`message exceeds ${maxSize} bytes`), { responseCode: 552 }));
          return;
        }
        renameSync(partial, join(mailDir, name));
        console.log(
          `${new Date().toISOString()} stored ${name} from ${session.envelope.mailFrom ? session.envelope.mailFrom.address : '?'} to ${session.envelope.rcptTo.map((r) => r.address).join(', ')}`,
        );
        callback(null, `stored as ${name}`);
      })
      .catch((error: unknown) => {
        rmSync(partial, { force: true });
        callback(error instanceof Error ? error : new Error(String(error)));
      });
  },
});
server.on('error', (error) => console.error(`${new Date().toISOString()} smtp error: ${error.message}`));
server.listen(port, values.host, () =>
  console.log(`${new Date().toISOString()} smtp sink listening on ${values.host}:${port}, storing into ${mailDir}`),
);

function shutdown(): void {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
