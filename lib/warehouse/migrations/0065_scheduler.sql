-- Scheduler bookkeeping beside the run ledger (ops.runs / ops.run_steps):
--   which instance ran a run, which schedule occurrence it was for, where each step's full log is,
--   the last execution of every job (so missed occurrences are caught up by an explicit policy),
--   and which scheduler instances exist and which one leads.

alter table ops.runs add column if not exists instance_id text;
alter table ops.runs add column if not exists scheduled_for timestamptz;
alter table ops.run_steps add column if not exists error text;
alter table ops.run_steps add column if not exists log_path text;
create index if not exists runs_running_idx on ops.runs (job) where status = 'running';

-- One row per job: the schedule occurrence most recently started and how its run ended.
create table if not exists ops.scheduler_executions (
    job                  text        primary key,
    last_scheduled_for   timestamptz,
    last_run_id          uuid,
    last_started_at      timestamptz,
    last_finished_at     timestamptz,
    last_status          text,
    instance_id          text,
    updated_at           timestamptz not null default now()
);

-- Every scheduler process that ran, its role (leader / standby) and a heartbeat.
create table if not exists ops.scheduler_instances (
    instance_id    text        primary key,
    hostname       text        not null,
    pid            integer     not null,
    role           text        not null check (role in ('starting', 'standby', 'leader', 'stopped')),
    started_at     timestamptz not null default now(),
    leader_since   timestamptz,
    heartbeat_at   timestamptz not null default now()
);

grant select, insert, update, delete on ops.scheduler_executions, ops.scheduler_instances to ops_writer;
grant select on ops.scheduler_executions, ops.scheduler_instances to transformer;
