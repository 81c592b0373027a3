"""Every Redis key Airlane uses, and the schema of each. Nothing else builds key names.

Every per-run key below goes when the run is deleted or expires (service/retention.py).

All keys start with the prefix ``{airlane}:`` (``AIRLANE_REDIS_PREFIX`` changes it).

Hash tags (Redis Cluster)
    A Lua script may touch only keys it is given in KEYS, and on a Redis Cluster all of them
    must hash to one slot. The slot of a key is that of its hash tag, the text between its first
    ``{`` and the next ``}``. Airlane's tag is the prefix itself: the default prefix is
    ``{airlane}:``, and a prefix from ``AIRLANE_REDIS_PREFIX`` without a tag gets one
    (``myapp:`` becomes ``{myapp}:``, see :func:`tagged_prefix`). So every key of a deployment
    lives in one slot, and any script call may touch any of them together (the coordinator's
    ``apply`` writes many runs, the queue streams and the events stream in one atomic call; a
    worker's ``finish_many`` writes several runs and the completions stream), as may a MULTI
    transaction (which a cluster also keeps to one slot).
    The trade-off: on a cluster one primary holds all of Airlane and serves all of its load (a
    cluster brings failover and room for other tenants, not sharding). Spreading runs over slots
    (a tag per run) would need every script call split into one call per slot, giving up the
    atomicity of a coordinator batch across runs; the ``{<dag_id>|<run_id>}`` part of per-run
    keys below keeps a run's keys recognisable for that day, but is no hash tag today (only a
    key's first braces are).
    No key name is built in Lua or passed in ARGV: each script call (queue/scripts) gives every
    key it touches in KEYS, built here. Data written before this scheme (under ``airlane:``,
    untagged) is not read by this version.

Global keys
    dags                 HASH dag_id -> content hash of its current serialized form
    dag:<hash>           STRING serialized DAG JSON (content-addressed, never changes)
    dag_files            HASH dag_id -> DAG file path (for workers to import)
    paused               SET dag_ids that are paused
    inactive             SET dag_ids whose file no longer defines them (history stays)
    import_errors        HASH file path -> import error JSON (written by the DAG processor only)
    schedule_errors      HASH dag_id -> import error JSON of a DAG the coordinator cannot schedule
                         (scheduling/schedule_errors.py; Store.import_errors merges it in)
    runs:<dag_id>        ZSET run_id scored by logical date (epoch seconds)
    active_runs          SET "<dag_id>|<run_id>" of runs not finished
    q:<queue>            STREAM task messages of one Airflow queue; consumer group "workers"
    completions          STREAM worker -> coordinator: started / finished / released (one class
                         each in queue/protocol/completions.py); group "coordinator"
    commands             STREAM API/CLI -> coordinator: run created, clear, mark... (one class
                         per type in queue/protocol/commands.py); same group
                         (these three are trimmed of what every group acknowledged: see
                         queue/trimming.py)
    events               STREAM run events for subscribers (capped; IDs are resume cursors)
    pools                HASH pool name -> {"slots": N (-1: unlimited), "description": ...}
                         (default_pool: 128 slots unless set)
    variables            HASH key -> {"value": text, "description": text}
    connections          HASH conn_id -> connection JSON (conn_type, description, host, login,
                         schema, port; password and extra Fernet tokens when is_encrypted /
                         is_extra_encrypted: service/connections/records.py)
    backfills            HASH backfill id -> backfill JSON (dates still to handle, runs made)
    backfill_seq         STRING the last backfill id given out (INCR)
    schedules            HASH dag_id -> the latest scheduled run it made (JSON: logical_date,
                         data_interval_start, data_interval_end, run_after; ISO 8601)
    metrics              HASH counters the coordinator adds to (ti_finished:<state>,
                         run_finished:<state>, hop_bucket:<le>, hop_sum_s, hop_count) and
                         gauges it sets (event_lag_s)
    workers              HASH worker_id -> worker JSON (host, pid, queues, slots)
    worker_beats         ZSET worker_id scored by last heartbeat (epoch seconds)
    worker_tasks:<id>    SET tries a worker has claimed and not finished, each the claim
                         reference of its message: the JSON array [stream, message id, dag_id,
                         run_id, task_id, map_index, try] (queue/protocol ClaimRef); added by
                         the claim_many script, removed by finish_many, by the worker's hand-back
                         or by the coordinator failing a try its worker no longer reports;
                         deleted with a dead worker
    worker_stop:<id>     SET tries the worker must stop (cleared while running), each a JSON
                         array [dag_id, run_id, task_id, map_index, try] (protocol.StopIdent);
                         it removes each once stopped
    triggers             HASH trigger key (sdk.triggers.serde.trigger_key) -> trigger JSON
                         {c: classpath, k: kwargs JSON text, w: [{d: deferred field, y: try}]}
                         (the tries waiting on it); written by finish_many, removed when it
                         fires or has no live waiter (queue/scripts/triggers.py)
    trigger_leases       ZSET trigger key scored by its lease's expiry (epoch ms; 0: never
                         claimed); a triggerer claims the expired ones
    trigger_owners       HASH trigger key -> id of the triggerer holding its lease
    deferred             HASH "<dag_id>|<run_id>|<task_id>|<map_index>" -> the deferred try
                         JSON {t: trigger key, run, ti, try, m: next method, n: next kwargs
                         JSON text}; removed on resume, timeout, clear or mark, by the
                         coordinator when the deferral lands after its instance moved on
                         (service/coordinator/deferrals.py), and with its run
    trigger_timeouts     ZSET deferred field scored by its trigger timeout (epoch s)
    resumes              HASH "<deferred field>|<try>" -> how the try resumes JSON {m: method,
                         n: kwargs JSON text, e: event payload JSON text or ""}; read by the
                         claim_many script, removed by finish_many (first delivery), by the
                         coordinator when the try will not run (deferrals.py), and with its run
    triggerers           HASH triggerer id -> its status JSON (running, capacity, fired, at)
    asset_watcher_leases ZSET asset watcher key (its trigger's classpath and kwargs) scored by
                         its lease's expiry (epoch ms); a triggerer claims the expired ones
                         (queue/asset_watchers.py)
    asset_watcher_owners HASH asset watcher key -> id of the triggerer running it
    coordinator:lease    STRING coordinator id holding the lease (PX expiry)
    coordinator:beat     STRING epoch seconds of the active coordinator's last loop
    dag_processor:beat   STRING epoch seconds of the DAG processor's last scan
    revoked_tokens       ZSET API token ids (JWT ``jti``) revoked, scored by the token's own
                         expiry (epoch seconds); entries past it are pruned on each revocation
    token_generations    HASH username -> generation; an API token carries its user's
                         generation at issue and is refused once it is below the current one
    auth_version         STRING bumped (INCR) by every revocation, so API processes reload the
                         two keys above only when it moves
    callbacks:pending    HASH arq job id -> DAG callback job JSON (queue/callback_jobs.py):
                         written by the coordinator in the same batch as the run's end, removed
                         by the callbacks role once the job is on arq's queue, or with its run
                         (deleted, or removed by retention); an entry older than
                         PENDING_MAX_AGE_S is dropped (no callbacks role took it)
    callbacks:done:<job id>  SET positions of the job's callbacks already delivered (a retry
                         calls only the others); expires with arq's result of the job
    deadlines            ZSET "<dag_id>\x1f<run_id>\x1f<alert index>" scored by the run's
                         deadline (epoch seconds; engine/deadlines.py), added when the
                         coordinator first sees the run; removed when the run succeeds by then,
                         when the deadline is reported missed, or with the run. The run's hash
                         holds the same deadline as ``deadline:<alert index>``
    hitl_runs            SET "<dag_id>|<run_id>" of runs with human-in-the-loop details (the
                         API's list across runs reads it); a run leaves it when deleted
    hitl_answers         STREAM a notice per HITL answer written (fields run: run ref, ti:
                         ti field), capped; the triggerer's HITL triggers read it to fire at
                         once (service/triggerer/hitl_watch.py)
    dag_versions:<dag_id>  LIST the DAG's versions in order, each JSON {"h": content hash,
                         "at": epoch seconds it was first parsed}; version_number is the 1-based
                         position (appended by the DAG processor when the hash changes; gone
                         with the DAG when the API deletes it); ``db clean`` and the retention
                         remove the oldest ones nothing uses, the first left then carrying its
                         number as "n" (queue/dag_admin.py)
    event_logs           STREAM the event (audit) log: one entry per change made through the API,
                         field e: JSON (api/event_logs.py); capped near 50,000 entries
    connection_test:<token>  STRING JSON state of a queued connection test (POST
                         /connections/enqueue-test), kept an hour (api/connection_tests.py)
    connection_test_active:<conn_id>  STRING the token of the connection's test under way
                         (one at a time), expiring with the test's time limit
    parse_requests       SET DAG file paths the API asked the DAG processor to parse at its next
                         pass, changed or not (PUT /parseDagFile; service/dag_processor.py)
    favorites:<user>     SET dag_ids one API user marked as favourites (POST .../favorite); a
                         deleted DAG leaves every set (queue/dag_admin.py)
    favorite_users       SET the users with a favorites:<user> set (for a deleted DAG's)
    jobs                 HASH job id -> a running service process as Airflow's job (JSON of
                         queue/jobs.py JobRecord: type, host, user, pid, start, heartbeat),
                         written by the process every few seconds, removed when it stops;
                         records silent for a day are pruned when a process starts and by the
                         coordinator's housekeeping; ``db clean`` removes those silent since
                         its cutoff
    asset_seqs           HASH "asset" / "alias" / "event" -> the last id given out (HINCRBY)
    assets               HASH asset name -> asset JSON (queue/asset_records.AssetRecord: id,
                         name, uri, group, extra, created_at, updated_at, watchers)
    asset_ids            HASH asset id -> asset name
    asset_state:<name:N|uri:U>
                         HASH key -> an asset's state store value (the same record), kept
    task_state_expiry    ZSET "<task_state key>\n<field>" scored by when it expires (removed
                         by the coordinator's retention pass)
    asset_deps           HASH dag_id -> what the DAG declares about assets (asset_records.DagAssets:
                         outlets, inlets, outlet aliases per task; its asset condition)
    asset_aliases        HASH alias name -> {"id", "name", "group"}
    asset_alias:<name>   SET asset names the alias resolved to at run time
    asset_events         HASH event id -> event JSON (Airflow's AssetEvent fields; its
                         created_dagruns are in asset_event_runs); an event goes with the four
                         keys below by ``db clean``'s cutoff or the retention
                         (queue/asset_retention.py), never with its source run
    asset_event_index    ZSET event id scored by itself (the order of the events list)
    asset_events_of:<asset id>  ZSET event id scored by its timestamp (epoch microseconds)
    asset_event_runs     HASH event id -> "<dag_id>|<run_id>" of each run it triggered, one a line;
                         a run deleted or removed by retention leaves it
    asset_event_sources  HASH a try's JSON [dag_id, run_id, task_id, map_index, try] -> JSON list
                         of the event ids it recorded (a try's events are recorded once); a
                         try's entries go with its run. An outside source's dedupe key (a
                         watcher's message: "watcher|<digest of the watcher key>|<entry id>")
                         -> the same, kept while among the newest of asset_event_dedupe
    asset_event_dedupe   ZSET outside sources' dedupe keys scored in the order recorded (1, 2,
                         ...); past DEDUPE_MAX (queue/scripts/assets.py) the oldest go, with
                         their asset_event_sources entries
    asset_queue          HASH "<consumer dag_id>|<asset name>" -> when queued (ISO; Airflow's
                         AssetDagRunQueue); a consumer's entries go with the run they create,
                         and with the DAG when the API deletes it (as its asset_deps and
                         asset_triggered entries)
    asset_triggered      HASH dag_id -> run_after (ISO) of its latest asset-triggered run
    callbacks:arq        arq's queue (ZSET of job ids) of the callbacks role; arq keeps each job
                         under its own fixed names, outside the prefix: ``arq:job:<id>``,
                         ``arq:in-progress:<id>``, ``arq:retry:<id>``, ``arq:result:<id>``

Per run ({run} = {<dag_id>|<run_id>})
    run:{run}            HASH dag_id, run_id, state, dag_hash, logical_date, data_interval_*,
                         conf (JSON; the only copy: never changed after creation),
                         run_type, queued_at, start_date, end_date, note, generation (how
                         many clears or marks reopened it after an end: its DAG callback jobs'
                         ids, queue/callback_jobs.py)
    tis:{run}            HASH "<task_id>|<map_index>" -> task instance JSON (state, try...);
                         written by the coordinator only, but for the fast path: a finish
                         script queues a fresh successor (engine/fast_path.py)
    claims:{run}         HASH "<task_id>|<map_index>" -> highest try a worker has claimed
    fast_plan:{run}      HASH "<task_id>|-1" -> JSON [[successor ti field, [other upstream ti
                         fields]], ...]: what a success of that task may queue at once
                         (engine/fast_path.py), written at the run's start when the fast path
                         is on
    tries:{run}          HASH "<task_id>|<map_index>|<try>" -> how an earlier try ended (JSON:
                         state, dates, worker), written when a retry or a clear replaces it
    rendered:{run}       HASH "<task_id>|<map_index>" -> rendered template fields JSON of the
                         latest try that rendered them (written by its worker's finish)
    xcom:{run}:<task>    HASH "<map_index>|<key>" -> XCom value JSON
    task_state:{run}:<task>
                         HASH "<map_index>|<key>" -> a task instance's state store value
                         ({"v": value JSON, "u": set at, "x": expires at or null}: its
                         retries share it; service/execution/redis_state_store.py)
    hitl:{run}           HASH "<task_id>|<map_index>" -> what a HITL try asks (JSON of
                         sdk.hitl_detail.HITLRequest), written by the try that waits
    hitl_responses:{run} HASH "<task_id>|<map_index>" -> its answer (HITLResponse JSON): set with
                         HSETNX by the API or by the try taking its defaults (the first one
                         wins), removed when a new try asks
    log:{run}:<task>:<map_index>:<try>
                         STREAM of log lines of one try (capped; expires after the run ends)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

WORKER_GROUP = "workers"
COORDINATOR_GROUP = "coordinator"
DEFAULT_PREFIX = "{airlane}:"


def tagged_prefix(prefix: str) -> str:
    """``prefix`` when it has a hash tag (a ``{...}`` with something inside), else ``prefix``
    with its name part made one: ``myapp:`` becomes ``{myapp}:`` (see "Hash tags" above); an
    empty prefix, which has no name to make a tag of, becomes the default."""
    opening = prefix.find("{")
    if opening >= 0 and prefix.find("}", opening + 2) > opening:
        return prefix
    name = prefix.rstrip(":")
    return f"{{{name}}}{prefix[len(name) :]}" if name else DEFAULT_PREFIX


def run_tag(dag_id: str, run_id: str) -> str:
    """The part naming a run in its keys (not their hash tag: the prefix comes first)."""
    return f"{{{dag_id}|{run_id}}}"


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names under one prefix."""

    #: used as given (tests use untagged ones); services take theirs from :meth:`from_env`
    prefix: str = DEFAULT_PREFIX

    @classmethod
    def from_env(cls) -> Keys:
        return cls(tagged_prefix(os.environ.get("AIRLANE_REDIS_PREFIX", DEFAULT_PREFIX)))

    # global
    @property
    def dags(self) -> str:
        return f"{self.prefix}dags"

    def dag_snapshot(self, content_hash: str) -> str:
        return f"{self.prefix}dag:{content_hash}"

    @property
    def dag_files(self) -> str:
        return f"{self.prefix}dag_files"

    @property
    def paused(self) -> str:
        return f"{self.prefix}paused"

    @property
    def inactive(self) -> str:
        return f"{self.prefix}inactive"

    @property
    def import_errors(self) -> str:
        return f"{self.prefix}import_errors"

    @property
    def schedule_errors(self) -> str:
        return f"{self.prefix}schedule_errors"

    def runs_of(self, dag_id: str) -> str:
        return f"{self.prefix}runs:{dag_id}"

    @property
    def active_runs(self) -> str:
        return f"{self.prefix}active_runs"

    def queue(self, name: str) -> str:
        return f"{self.prefix}q:{name}"

    @property
    def completions(self) -> str:
        return f"{self.prefix}completions"

    @property
    def commands(self) -> str:
        return f"{self.prefix}commands"

    @property
    def events(self) -> str:
        return f"{self.prefix}events"

    @property
    def pools(self) -> str:
        return f"{self.prefix}pools"

    @property
    def deadlines(self) -> str:
        return f"{self.prefix}deadlines"

    @property
    def callbacks_pending(self) -> str:
        return f"{self.prefix}callbacks:pending"

    def callbacks_done(self, job_id: str) -> str:
        return f"{self.prefix}callbacks:done:{job_id}"

    @property
    def callbacks_queue(self) -> str:
        return f"{self.prefix}callbacks:arq"

    @property
    def backfills(self) -> str:
        return f"{self.prefix}backfills"

    @property
    def backfill_seq(self) -> str:
        return f"{self.prefix}backfill_seq"

    @property
    def schedules(self) -> str:
        return f"{self.prefix}schedules"

    @property
    def metrics(self) -> str:
        return f"{self.prefix}metrics"

    @property
    def variables(self) -> str:
        return f"{self.prefix}variables"

    @property
    def triggers(self) -> str:
        return f"{self.prefix}triggers"

    @property
    def trigger_leases(self) -> str:
        return f"{self.prefix}trigger_leases"

    @property
    def trigger_owners(self) -> str:
        return f"{self.prefix}trigger_owners"

    @property
    def deferred(self) -> str:
        return f"{self.prefix}deferred"

    @property
    def trigger_timeouts(self) -> str:
        return f"{self.prefix}trigger_timeouts"

    @property
    def resumes(self) -> str:
        return f"{self.prefix}resumes"

    @property
    def triggerers(self) -> str:
        return f"{self.prefix}triggerers"

    @property
    def asset_watcher_leases(self) -> str:
        return f"{self.prefix}asset_watcher_leases"

    @property
    def asset_watcher_owners(self) -> str:
        return f"{self.prefix}asset_watcher_owners"

    @property
    def workers(self) -> str:
        return f"{self.prefix}workers"

    @property
    def connections(self) -> str:
        return f"{self.prefix}connections"

    @property
    def worker_beats(self) -> str:
        return f"{self.prefix}worker_beats"

    def machine_workers(self, machine: str) -> str:
        """The live workers sharing one machine's CPUs (by kernel boot id) and their beats."""
        return f"{self.prefix}machine_workers:{machine}"

    def worker_stop(self, worker_id: str) -> str:
        return f"{self.prefix}worker_stop:{worker_id}"

    def worker_tasks(self, worker_id: str) -> str:
        return f"{self.prefix}worker_tasks:{worker_id}"

    @property
    def lease(self) -> str:
        return f"{self.prefix}coordinator:lease"

    @property
    def coordinator_beat(self) -> str:
        return f"{self.prefix}coordinator:beat"

    @property
    def dag_processor_beat(self) -> str:
        return f"{self.prefix}dag_processor:beat"

    @property
    def revoked_tokens(self) -> str:
        return f"{self.prefix}revoked_tokens"

    @property
    def token_generations(self) -> str:
        return f"{self.prefix}token_generations"

    @property
    def auth_version(self) -> str:
        return f"{self.prefix}auth_version"

    @property
    def hitl_runs(self) -> str:
        return f"{self.prefix}hitl_runs"

    def dag_versions(self, dag_id: str) -> str:
        return f"{self.prefix}dag_versions:{dag_id}"

    @property
    def event_logs(self) -> str:
        return f"{self.prefix}event_logs"

    def connection_test(self, token: str) -> str:
        return f"{self.prefix}connection_test:{token}"

    def connection_test_active(self, conn_id: str) -> str:
        return f"{self.prefix}connection_test_active:{conn_id}"

    @property
    def parse_requests(self) -> str:
        return f"{self.prefix}parse_requests"

    @property
    def favorite_users(self) -> str:
        return f"{self.prefix}favorite_users"

    def favorites(self, user: str) -> str:
        """The DAG ids one API user marked as favourites."""
        return f"{self.prefix}favorites:{user}"

    @property
    def hitl_answers(self) -> str:
        return f"{self.prefix}hitl_answers"

    @property
    def jobs(self) -> str:
        return f"{self.prefix}jobs"

    # assets (queue/assets.py)
    @property
    def asset_seqs(self) -> str:
        return f"{self.prefix}asset_seqs"

    @property
    def assets(self) -> str:
        return f"{self.prefix}assets"

    @property
    def asset_ids(self) -> str:
        return f"{self.prefix}asset_ids"

    @property
    def asset_deps(self) -> str:
        return f"{self.prefix}asset_deps"

    @property
    def asset_aliases(self) -> str:
        return f"{self.prefix}asset_aliases"

    def asset_alias(self, alias_name: str) -> str:
        return f"{self.prefix}asset_alias:{alias_name}"

    @property
    def asset_events(self) -> str:
        return f"{self.prefix}asset_events"

    @property
    def asset_event_index(self) -> str:
        return f"{self.prefix}asset_event_index"

    def asset_events_of(self, asset_id: int) -> str:
        return f"{self.prefix}asset_events_of:{asset_id}"

    @property
    def asset_event_runs(self) -> str:
        return f"{self.prefix}asset_event_runs"

    @property
    def asset_event_sources(self) -> str:
        return f"{self.prefix}asset_event_sources"

    @property
    def asset_event_dedupe(self) -> str:
        return f"{self.prefix}asset_event_dedupe"

    @property
    def asset_queue(self) -> str:
        return f"{self.prefix}asset_queue"

    @property
    def asset_triggered(self) -> str:
        return f"{self.prefix}asset_triggered"

    # per run
    def run(self, dag_id: str, run_id: str) -> str:
        return f"{self.prefix}run:{run_tag(dag_id, run_id)}"

    def tis(self, dag_id: str, run_id: str) -> str:
        return f"{self.prefix}tis:{run_tag(dag_id, run_id)}"

    def claims(self, dag_id: str, run_id: str) -> str:
        return f"{self.prefix}claims:{run_tag(dag_id, run_id)}"

    def fast_plan(self, dag_id: str, run_id: str) -> str:
        return f"{self.prefix}fast_plan:{run_tag(dag_id, run_id)}"

    def tries(self, dag_id: str, run_id: str) -> str:
        return f"{self.prefix}tries:{run_tag(dag_id, run_id)}"

    def rendered(self, dag_id: str, run_id: str) -> str:
        return f"{self.prefix}rendered:{run_tag(dag_id, run_id)}"

    def hitl(self, dag_id: str, run_id: str) -> str:
        return f"{self.prefix}hitl:{run_tag(dag_id, run_id)}"

    def hitl_responses(self, dag_id: str, run_id: str) -> str:
        return f"{self.prefix}hitl_responses:{run_tag(dag_id, run_id)}"

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> str:
        return self.run_xcoms(dag_id, run_id) + task_id

    def run_xcoms(self, dag_id: str, run_id: str) -> str:
        """What a run's ``xcom`` keys start with (the task id follows)."""
        return f"{self.prefix}xcom:{run_tag(dag_id, run_id)}:"

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str:
        """A task's state store in a run (sdk/state_store.py), its instances' keys as fields."""
        return f"{self.prefix}task_state:{run_tag(dag_id, run_id)}:{task_id}"

    def asset_state(self, ident: str) -> str:
        """An asset's state store (``ident``: ``name:<name>`` or ``uri:<uri>``)."""
        return f"{self.prefix}asset_state:{ident}"

    @property
    def task_state_expiry(self) -> str:
        return f"{self.prefix}task_state_expiry"

    def log(self, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> str:
        return log_in_run(self.run_logs(dag_id, run_id), task_id, map_index, try_number)

    def run_logs(self, dag_id: str, run_id: str) -> str:
        """What a run's ``log`` keys start with (``log_in_run`` adds the try's part)."""
        return f"{self.prefix}log:{run_tag(dag_id, run_id)}:"


def log_in_run(run_logs: str, task_id: str, map_index: int, try_number: int) -> str:
    """A try's ``log`` key from its run's ``Keys.run_logs``."""
    return f"{run_logs}{task_id}:{map_index}:{try_number}"


def ti_field(task_id: str, map_index: int) -> str:
    return f"{task_id}|{map_index}"


# Splitting on "|" below is safe only because DAG ids and task ids cannot contain it (the DAG
# loader's validate_dag checks every id before a DAG is stored); run ids cannot either (Airflow's
# rule, protocol.validate_run_id, checked by Store.create_run), but a run id is always the part
# after the DAG id's end, so it would not matter. Records whose parts are user data throughout
# are JSON arrays instead (protocol.ClaimRef).
def parse_ti_field(field: str) -> tuple[str, int]:
    task_id, _, index = field.rpartition("|")
    return task_id, int(index)


def run_ref(dag_id: str, run_id: str) -> str:
    return f"{dag_id}|{run_id}"


def parse_run_ref(ref: str) -> tuple[str, str]:
    dag_id, _, run_id = ref.partition("|")
    return dag_id, run_id


def try_field(task_id: str, map_index: int, try_number: int) -> str:
    """A ``tries:{run}`` field: ``<task_id>|<map_index>|<try>``."""
    return f"{ti_field(task_id, map_index)}|{try_number}"


def deferred_field(dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
    """A ``deferred`` field: the task instance, ``<dag_id>|<run_id>|<task_id>|<map_index>``."""
    return f"{run_ref(dag_id, run_id)}|{ti_field(task_id, map_index)}"


def resume_field(dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> str:
    """A ``resumes`` field: ``<deferred field>|<try>``."""
    return f"{deferred_field(dag_id, run_id, task_id, map_index)}|{try_number}"


def parse_try_field(field: str) -> tuple[str, int, int]:
    ti, _, number = field.rpartition("|")
    return (*parse_ti_field(ti), int(number))


def xcom_field(map_index: int, key: str) -> str:
    """An ``xcom:{run}:<task>`` field: ``<map_index>|<key>`` (the key may hold anything)."""
    return f"{map_index}|{key}"


def parse_xcom_field(field: str) -> tuple[int, str]:
    index, _, key = field.partition("|")
    return int(index), key
