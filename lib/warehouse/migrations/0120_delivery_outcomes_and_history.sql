-- The delivery ledger tells the truth, alerts are an outbox, and run history is append-only
-- (docs/report.md "What is guaranteed", docs/operations.md "Run history").
--
-- Delivery states of ops.reports_sent / ops.alerts_sent:
--   sending   claimed; the message is being handed to SMTP (or the sender died doing it)
--   sent      the server acknowledged it
--   unknown   the body went to the server but no acknowledgement came back: it may be in the
--             mailbox; never re-sent automatically (an operator, or a check of the mailbox, decides)
--   failed    SMTP certainly did not take it; a later attempt may send
--   expired   (alerts only) still failed when its expiry passed; given up, kept for the record

alter table ops.reports_sent drop constraint if exists reports_sent_status_check;
alter table ops.reports_sent add constraint reports_sent_status_check check (status in ('sending', 'sent', 'unknown', 'failed'));
alter table ops.reports_sent add column if not exists resolved_at timestamptz;
alter table ops.reports_sent add column if not exists resolution text;

alter table ops.alerts_sent drop constraint if exists alerts_sent_status_check;
alter table ops.alerts_sent add constraint alerts_sent_status_check check (status in ('sending', 'sent', 'unknown', 'failed', 'expired'));
-- The outbox: what to send again, when, and until when.
alter table ops.alerts_sent add column if not exists recipients text;
alter table ops.alerts_sent add column if not exists body_text text;
alter table ops.alerts_sent add column if not exists body_html text;
alter table ops.alerts_sent add column if not exists next_attempt_at timestamptz;
alter table ops.alerts_sent add column if not exists expires_at timestamptz;
alter table ops.alerts_sent add column if not exists resolved_at timestamptz;
alter table ops.alerts_sent add column if not exists resolution text;
create index if not exists alerts_sent_outbox_idx on ops.alerts_sent (next_attempt_at) where status = 'failed';

-- Legal transitions only, whoever writes (ops_writer has no DELETE or TRUNCATE either).
create or replace function ops.guard_delivery_transition() returns trigger
language plpgsql as $$
declare
  key_changed boolean;
begin
  if tg_table_name = 'reports_sent' then
    key_changed := new.business_date is distinct from old.business_date;
  else
    key_changed := new.alert_key is distinct from old.alert_key;
  end if;
  if key_changed then
    raise exception 'ops.%: the key of a delivery row never changes', tg_table_name using errcode = '42501';
  end if;
  if (old.status, new.status) in (
       ('sending', 'sent'), ('sending', 'unknown'), ('sending', 'failed'),
       ('unknown', 'sent'), ('unknown', 'failed'),
       ('failed', 'sending'), ('failed', 'expired')
     ) then
    if old.status = 'failed' and new.status = 'sending' and new.attempts <= old.attempts then
      raise exception 'ops.%: a new claim must count a new attempt', tg_table_name using errcode = '42501';
    end if;
    return new;
  end if;
  raise exception 'ops.%: % -> % is not a legal delivery transition (%)', tg_table_name, old.status, new.status,
    coalesce(to_jsonb(old) ->> 'business_date', to_jsonb(old) ->> 'alert_key')
    using errcode = '42501';
end
$$;

drop trigger if exists reports_sent_transition on ops.reports_sent;
create trigger reports_sent_transition before update on ops.reports_sent
  for each row execute function ops.guard_delivery_transition();
drop trigger if exists alerts_sent_transition on ops.alerts_sent;
create trigger alerts_sent_transition before update on ops.alerts_sent
  for each row execute function ops.guard_delivery_transition();

-- A run or step is written once when it starts and once when it ends: running -> a final
-- status, nothing else. What it was (job, trigger, dates, instance) never changes.
create or replace function ops.guard_run_history() returns trigger
language plpgsql as $$
begin
  if old.status <> 'running' then
    raise exception 'ops.%: a finished % is history and cannot change (status %)', tg_table_name,
      case when tg_table_name = 'runs' then 'run' else 'step' end, old.status using errcode = '42501';
  end if;
  if tg_table_name = 'runs' then
    if (new.run_id, new.job, new.trigger, new.business_date, new.started_at, new.instance_id, new.scheduled_for)
       is distinct from (old.run_id, old.job, old.trigger, old.business_date, old.started_at, old.instance_id, old.scheduled_for) then
      raise exception 'ops.runs: only status, finished_at and error of a running run may be written' using errcode = '42501';
    end if;
  else
    if (new.run_id, new.step, new.attempt, new.started_at, new.log_path)
       is distinct from (old.run_id, old.step, old.attempt, old.started_at, old.log_path) then
      raise exception 'ops.run_steps: only status, finished_at, output_tail and error of a running step may be written' using errcode = '42501';
    end if;
  end if;
  return new;
end
$$;

drop trigger if exists runs_append_only on ops.runs;
create trigger runs_append_only before update on ops.runs
  for each row execute function ops.guard_run_history();
drop trigger if exists run_steps_append_only on ops.run_steps;
create trigger run_steps_append_only before update on ops.run_steps
  for each row execute function ops.guard_run_history();

revoke delete, truncate on ops.runs, ops.run_steps, ops.reports_sent, ops.alerts_sent, ops.gate_results from ops_writer;
revoke update on ops.gate_results from ops_writer;
grant select, insert, update on ops.runs, ops.run_steps, ops.reports_sent, ops.alerts_sent to ops_writer;
grant select, insert on ops.gate_results to ops_writer;
