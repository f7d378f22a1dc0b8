-- ops: the scheduler's run ledger, gate results, reports and alerts sent.

create table if not exists ops.runs (
    run_id         uuid        primary key,
    job            text        not null,
    trigger        text        not null,
    business_date  date,
    started_at     timestamptz not null default now(),
    finished_at    timestamptz,
    status         text        not null default 'running' check (status in ('running', 'succeeded', 'failed', 'blocked', 'skipped')),
    error          text
);
create index if not exists runs_job_started_idx on ops.runs (job, started_at desc);

create table if not exists ops.run_steps (
    run_id        uuid        not null references ops.runs (run_id),
    step          text        not null,
    attempt       integer     not null,
    started_at    timestamptz not null default now(),
    finished_at   timestamptz,
    status        text        not null default 'running' check (status in ('running', 'succeeded', 'failed')),
    output_tail   text,
    primary key (run_id, step, attempt)
);

create table if not exists ops.gate_results (
    run_id        uuid,
    gate          text        not null,
    checked_at    timestamptz not null default now(),
    success       boolean     not null,
    evaluated     integer     not null,
    failed        integer     not null,
    summary       jsonb       not null
);

-- One row per business day: the unique key is what makes the report go out exactly once.
create table if not exists ops.reports_sent (
    business_date  date        primary key,
    run_id         uuid,
    message_id     text,
    recipients     text        not null,
    sent_at        timestamptz not null default now()
);

create table if not exists ops.alerts_sent (
    alert_key   text        primary key,
    kind        text        not null,
    subject     text        not null,
    details     jsonb       not null default '{}'::jsonb,
    sent_at     timestamptz not null default now()
);

grant select, insert, update, delete on all tables in schema ops to ops_writer;
grant select on all tables in schema ops to transformer;
