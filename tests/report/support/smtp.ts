/**
 * A real SMTP server inside the test (smtp-server, the same library as the local mail sink),
 * on a random port, that keeps every accepted message (parsed, and as an .eml file when given a
 * folder, like the sink) and misbehaves on chosen DATA attempts:
 *   refuse           reply with `refuseCode` (451 by default) and keep nothing
 *   delay-ack        store the message, then acknowledge only after `ackDelayMs` (past the client's timeout)
 *   drop-after-store store the message, then drop the connection without acknowledging
 *   close-mid-data   drop the connection while the message is arriving; nothing is stored
 * `faults[i]` applies to the (i+1)-th DATA attempt; later attempts are served normally.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';

import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export type SmtpFault = 'refuse' | 'delay-ack' | 'drop-after-store' | 'close-mid-data' | 'ok';

export interface CaptureSmtp {
  url: string;
  /** Every accepted (stored) message, parsed. */
  messages: ParsedMail[];
  /** DATA attempts seen, accepted or refused. */
  attempts: () => number;
  /** Stored messages with this Message-ID. */
  countMessageId: (messageId: string) => number;
  /** Refuse every connection from now on (SMTP down: 421 at the greeting), or serve again. */
  setDown: (down: boolean) => void;
  close(): Promise<void>;
}

export interface CaptureSmtpOptions {
  refuseFirst?: number;
  refuseCode?: number;
  faults?: SmtpFault[];
  ackDelayMs?: number;
  /** Store each accepted message here as <stamp>-<random>.eml, as the local sink does. */
  dir?: string;
}

export async function startCaptureSmtp(options: CaptureSmtpOptions = {}): Promise<CaptureSmtp> {
  const messages: ParsedMail[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let attempts = 0;
  let down = false;
  if (options.dir) mkdirSync(options.dir, { recursive: true });
  const faultOf = (attempt: number): SmtpFault => {
    if (attempt <= (options.refuseFirst ?? 0)) return 'refuse';
    return options.faults?.[attempt - 1] ?? 'ok';
  };
  const dropConnections = () => {
    for (const socket of sockets) socket.destroy();
  };
  const store = async (raw: Buffer) => {
    messages.push(await simpleParser(raw, { skipImageLinks: true }));
    if (options.dir)
      writeFileSync(join(options.dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}.eml`), raw);
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onConnect(_session, callback) {
      if (down) return callback(Object.assign(new Error('service not available'), { responseCode: 421 }));
      callback();
    },
    onData(stream, _session, callback) {
      attempts++;
      const fault = faultOf(attempts);
      const chunks: Buffer[] = [];
      let cut = false;
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (fault === 'close-mid-data' && !cut) {
          cut = true;
          dropConnections();
        }
      });
      stream.on('error', callback);
      stream.on('end', () => {
        if (cut) return;
        if (fault === 'refuse') {
          callback(Object.assign(new Error('try again later'), { responseCode: options.refuseCode ?? 451 }));
          return;
        }
        store(Buffer.concat(chunks)).then(
          () => {
            if (fault === 'delay-ack') {
              const timer = setTimeout(() => {
                timers.delete(timer);
                callback();
              }, options.ackDelayMs ?? 5_000);
              timers.add(timer);
            } else if (fault === 'drop-after-store') {
              dropConnections();
            } else {
              callback();
            }
          },
          (error: Error) => callback(error),
        );
      });
    },
  });
  server.on('error', () => undefined);
  server.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    attempts: () => attempts,
    countMessageId: (messageId) => messages.filter((m) => m.messageId === messageId).length,
    setDown: (value) => {
      down = value;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      dropConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
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
