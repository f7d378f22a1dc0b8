export { sendMail, createTransport, isTransientMailError, MailDeliveryError, DEFAULT_MAIL_RETRY, type MailMessage, type MailAttachment, type SentMail, type MailRetryPolicy } from './transport.ts';
export { deliverOnce, DeliveryInProgressError, type DeliveryResult, type DeliverOptions } from './deliver.ts';
export { claimDelivery, markSent, markFailed, releaseStuckClaim, readLedgerRow, type DeliveryTarget, type ClaimOutcome } from './ledger.ts';
export { sendAlert, stableMessageId, type AlertInput, type AlertOptions } from './alert.ts';
