/**
 * A real SMTP server inside the test (smtp-server, the same library as the local mail sink),
 * on a random port, that keeps every accepted message and can refuse the first N deliveries
 * with a chosen reply code, to test retries and exactly-once delivery.
 */
import { createServer, type AddressInfo } from 'node:net';

import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CaptureSmtp {
  url: string;
  /** Every accepted message, parsed. */
  messages: ParsedMail[];
  /** DATA attempts seen, accepted or refused. */
  attempts: () => number;
  close(): Promise<void>;
}

export async function startCaptureSmtp(options: { refuseFirst?: number; refuseCode?: number } = {}): Promise<CaptureSmtp> {
  const messages: ParsedMail[] = [];
  let attempts = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', () => {
        attempts++;
        if (attempts <= (options.refuseFirst ?? 0)) {
          const error = new Error('try again later') as Error & { responseCode: number };
          error.responseCode = options.refuseCode ?? 451;
          callback(error);
          return;
        }
        simpleParser(Buffer.concat(chunks), { skipImageLinks: true }).then(
          (parsed) => {
            messages.push(parsed);
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    attempts: () => attempts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port nothing listens on: bind, note the port, close. Connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
