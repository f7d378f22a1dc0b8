export {
  sendMail,
  isTransientMailError,
  MailDeliveryError,
  MailOutcomeUnknownError,
  DEFAULT_MAIL_RETRY,
  DEFAULT_MAIL_TIMEOUTS,
  type MailMessage,
  type MailAttachment,
  type SentMail,
  type MailRetryPolicy,
  type MailTimeouts,
} from './transport.ts';
export {
  deliverOnce,
  DeliveryInProgressError,
  DeliveryUnknownError,
  resolveCommand,
  type DeliveryResult,
  type DeliverOptions,
} from './deliver.ts';
export {
  claimDelivery,
  markSent,
  markFailed,
  markUnknown,
  resolveDelivery,
  releaseStuckClaim,
  readLedgerRow,
  describeTarget,
  type DeliveryTarget,
  type ClaimOutcome,
  type DeliveryStatus,
  type Resolution,
} from './ledger.ts';
export {
  sendAlert,
  queueAlert,
  flushAlertOutbox,
  stableMessageId,
  DEFAULT_OUTBOX_POLICY,
  type AlertInput,
  type AlertOptions,
  type OutboxPolicy,
  type OutboxFlush,
} from './alert.ts';
export { mailboxProbe, mailboxDir, EmlFolderProbe, type MailboxProbe } from './mailbox.ts';
