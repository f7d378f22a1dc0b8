-- The load time before which every row is committed: where a windowed check that runs now can
-- stop, and where the next one must start.
--
-- Why: the micro-batch's and the report's scoped data tests and the raw gate's incremental window
-- start from the previous run's start less a fixed 5-minute slack, because a row is stamped
-- (`_loaded_at default now()`: its transaction's start) before its transaction commits. After a
-- backfill that slack reaches back into it: the 10x world's backfill took 8 minutes, so the
-- 08:00 job right after the nightly build tested half of its 25M events again (unique tests on
-- staging and fct_events, 20-26 s each), and at 1x the raw gate after the nightly re-read all of
-- it (25 s instead of a few).
--
-- How: a row stamped at t and not yet visible belongs to a transaction open now that started at
-- t. So every row stamped before the start of the oldest transaction open now (or before now,
-- with none open) is committed and visible to anything that starts reading now: the next
-- window starts exactly there, with no slack. Only client backends of this database count
-- (autovacuum and replication do not write rows); an idle-in-transaction session holds the
-- point back, which only makes the next window larger.
--
-- Reading other sessions' xact_start needs pg_read_all_stats (or superuser): the function runs
-- as its owner, the role that applies migrations. When that role cannot read it, the function
-- returns now() less the old 5-minute slack, which is what every caller did before.
create or replace function ops.loads_settled_before() returns timestamptz
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    select case
        when pg_has_role(current_user, 'pg_read_all_stats', 'member') then
            least(
                now(),
                (select min(activity.xact_start)
                   from pg_stat_activity as activity
                  where activity.datname = current_database()
                    and activity.backend_type = 'client backend'
                    and activity.pid <> pg_backend_pid())
            )
        else now() - interval '5 minutes'
    end
$$;
comment on function ops.loads_settled_before() is
    'Every row stamped (_loaded_at) before this time is committed: the start of the oldest open transaction, or now().';
revoke all on function ops.loads_settled_before() from public;
grant execute on function ops.loads_settled_before() to ops_writer, transformer;

-- Each scheduler step records it when it starts: the dbt step's scoped tests of the next cycle
-- start from the value its last successful cycle recorded (scheduler/jobs/dbt-args.ts).
alter table ops.run_steps add column if not exists loads_settled_before timestamptz;
comment on column ops.run_steps.loads_settled_before is
    'ops.loads_settled_before() when the step started: rows stamped earlier were visible to it.';

-- The point is part of what the step was, like its start (migration 0120's guard, now with it).
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
    if (new.run_id, new.step, new.attempt, new.started_at, new.log_path, new.loads_settled_before)
       is distinct from (old.run_id, old.step, old.attempt, old.started_at, old.log_path, old.loads_settled_before) then
      raise exception 'ops.run_steps: only status, finished_at, output_tail and error of a running step may be written' using errcode = '42501';
    end if;
  end if;
  return new;
end
$$;
