-- Exactly-once delivery of the daily report and of alerts: a row is CLAIMED before the
-- message goes to SMTP and MARKED sent after the server accepts it (docs/report.md,
-- "Sending exactly once"). A failed attempt releases its claim so a retry may try again;
-- a claim left in 'sending' by a process that died mid-send is never re-sent automatically.

alter table ops.reports_sent add column if not exists status text not null default 'sent';
alter table ops.reports_sent add column if not exists claim_token uuid;
alter table ops.reports_sent add column if not exists claimed_at timestamptz;
alter table ops.reports_sent add column if not exists attempts integer not null default 1;
alter table ops.reports_sent add column if not exists last_error text;
alter table ops.reports_sent alter column sent_at drop not null;
alter table ops.reports_sent alter column sent_at drop default;
alter table ops.reports_sent drop constraint if exists reports_sent_status_check;
alter table ops.reports_sent add constraint reports_sent_status_check check (status in ('sending', 'sent', 'failed'));

alter table ops.alerts_sent add column if not exists status text not null default 'sent';
alter table ops.alerts_sent add column if not exists claim_token uuid;
alter table ops.alerts_sent add column if not exists claimed_at timestamptz;
alter table ops.alerts_sent add column if not exists attempts integer not null default 1;
alter table ops.alerts_sent add column if not exists last_error text;
alter table ops.alerts_sent add column if not exists message_id text;
alter table ops.alerts_sent alter column sent_at drop not null;
alter table ops.alerts_sent alter column sent_at drop default;
alter table ops.alerts_sent drop constraint if exists alerts_sent_status_check;
alter table ops.alerts_sent add constraint alerts_sent_status_check check (status in ('sending', 'sent', 'failed'));

grant select, insert, update on ops.reports_sent, ops.alerts_sent, ops.gate_results to ops_writer;
