"""Every ``PRACTICEWEEK_*`` environment variable, declared once.

``settings()`` reads the environment each time it is called (never at import), so a test's
``monkeypatch.setenv`` or a command that pins a path in ``os.environ`` is seen by the next call.
A value that does not parse raises :class:`SettingsError` naming the variable.

Two families are not fields of :class:`Settings`:

- per-connector credentials and endpoints (``PRACTICEWEEK_GRAPH_*``, ``PRACTICEWEEK_SMTP_*``, ...) are
  the fields of the settings classes in ``connectors.settings`` (pydantic-settings too, one declaration
  per field, with its description; ``from_env()`` reads ``PRACTICEWEEK_<PREFIX><FIELD>``), because the
  same classes are also built from Prefect blocks (``connectors.credentials``), reading no variable then;
- ``PRACTICEWEEK_RATE_LIMIT_<CONNECTOR>=REQUESTS/SECONDS`` is a pattern, one variable per connector
  name, collected into the dict :attr:`Settings.rate_limits` (lower-case connector name → raw value;
  ``connectors.registry.rate_limit`` parses it and reports a malformed one).

``cli.settings_doc`` documents all of them: ``practiceweek settings`` prints the table, and
the documentation site's settings reference (docs/reference/settings.md) is generated from it at build time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PREFIX = "PRACTICEWEEK_"
RATE_LIMIT_PREFIX = f"{PREFIX}RATE_LIMIT_"

# groups, in the order the documentation lists them
LEDGER = "Ledger & state folder"
TIMING = "Timing of window runs"
REHEARSAL = "Rehearsals"
OUTPUT = "Connectors, outbox & web page"
LIMITS = "Limits"
ALERTS = "Alerts"
DEPLOY = "Production set-up (deploy/production.py)"
BENCH = "Benchmarks & diagnostics"


def _field(group: str, default: Any, description: str, **kwargs: Any) -> Any:
    """A ``Field`` with its operator-facing description and its documentation group."""
    return Field(default, description=description, json_schema_extra={"group": group}, **kwargs)


class _RateLimitSource(PydanticBaseSettingsSource):
    """``PRACTICEWEEK_RATE_LIMIT_<NAME>`` variables → ``rate_limits = {"<name>": "N/S"}``."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {
            key[len(RATE_LIMIT_PREFIX):].lower(): value.strip()
            for key, value in os.environ.items()
            if key.upper().startswith(RATE_LIMIT_PREFIX) and value.strip()
        }
        return {"rate_limits": found} if found else {}


class Settings(BaseSettings):
    """practiceweek's settings; each field ``x`` is read from ``PRACTICEWEEK_X``."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, extra="ignore", env_ignore_empty=True, case_sensitive=False
    )

    # --- ledger & state folder ---------------------------------------------------------------
    state: Path = _field(
        LEDGER,
        Path(".practiceweek"),
        "Folder for local state: the SQLite ledger (when PRACTICEWEEK_LEDGER_URL is unset), the embedded "
        "Prefect server's home and logs. Relative paths are from the working directory.",
    )
    ledger_url: SecretStr | None = _field(
        LEDGER,
        None,
        "Publications ledger database URL, e.g. `postgresql://user:password@host/db` (may hold a "
        "password). Unset: `sqlite:///<state folder>/ledger.sqlite3`.",
    )
    ledger_idle_tx_s: float = _field(
        LEDGER,
        10.0,
        "On PostgreSQL: a ledger session that sits this many seconds inside a transaction without sending "
        "its next statement (its process frozen, its host paused or cut off) is ended by the server, "
        "releasing its row locks (a pacer's, a window's) for the other hosts. 0: never.",
    )

    # --- timing of window runs (seconds) ---------------------------------------------------------
    window_s: float = _field(
        TIMING, 60.0, "Length of a publishing window in seconds: one publish-window flow run per window."
    )
    lead_s: float = _field(
        TIMING,
        20.0,
        "Seconds before its window a window run is scheduled (also the workers' prefetch), so it is "
        "ready when the window opens.",
    )
    window_lanes: int = _field(
        TIMING,
        2,
        "Most window runs (each its own process) that share a crowded window's publications, by "
        "campaign, so a burst uses more than one core. 1: one run per window.",
    )
    lane_size: int = _field(
        TIMING,
        200,
        "Publications of a window that make it crowded: one more lane per this many, up to "
        "PRACTICEWEEK_WINDOW_LANES.",
    )
    window_standby: bool = _field(
        TIMING,
        False,
        "Start a standby run beside each window run (and lane): it publishes nothing while the window's "
        "run beats, and takes the window over within seconds when that run's process dies. On for the "
        "production set-up's workers (deploy/); off for one serving process, where both would die together.",
    )
    window_spares: int = _field(
        TIMING,
        1,
        "With PRACTICEWEEK_WINDOW_STANDBY and PRACTICEWEEK_WINDOW_QUEUES: how many standby runs each window "
        "(and lane) keeps, each in another worker's queue than its owner's and each other's (at most one "
        "fewer than the queues). 2 on three hosts: a window keeps a live spare on another host when one "
        "host is lost while a part of another is down or restarting.",
    )
    window_queues: str = _field(
        TIMING,
        "",
        "Comma-separated work queues of the work pool, one polled by each worker (the production set-up: "
        "`worker-1,worker-2`): a window's run and its standby are put in different ones, so they run on "
        "different workers. Empty: the deployment's queue.",
    )
    prepare_s: float = _field(
        TIMING, 60.0, "Seconds ahead of its due time a publication is rendered and checked."
    )
    heal_s: float = _field(
        TIMING,
        5.0,
        "Seconds late after which a window run takes over an earlier window's publication (its own run "
        "was lost or crashed).",
    )
    submit_ahead_s: float = _field(
        TIMING,
        2.0,
        "Seconds before the due time a publication's task starts; it still sends on time.",
    )
    burst_ahead_s: float = _field(
        TIMING,
        12.0,
        "In a crowded window (more than PRACTICEWEEK_RECORD_LIMIT publications), seconds before the due "
        "time a publication's task starts: every task is checked and its rendering read back before "
        "the moment, which is left for sending.",
    )
    poll_s: float = _field(
        TIMING, 2.0, "Seconds between the serving process's polls of the Prefect server for due runs."
    )

    # --- rehearsals ----------------------------------------------------------------------------
    rehearsal_start_s: float = _field(
        REHEARSAL,
        15.0,
        "With `--rehearse`: seconds from scheduling until the rehearsed week's first publication.",
    )

    # --- connectors, outbox & web page -------------------------------------------------------------
    outbox: Path | None = _field(
        OUTPUT,
        None,
        "Folder the `outbox` connector writes to. Unset: `./outbox` (the demo's sandbox outbox for "
        "`practiceweek demo`).",
    )
    outbox_url: str | None = _field(
        OUTPUT,
        None,
        "HTTP address the outbox folder is served at, so operators' links open in a browser "
        "(`practiceweek run`/`demo` serve it on 127.0.0.1 and set this). Unset: outbox items have no link.",
    )
    preview_dir: Path | None = _field(
        OUTPUT,
        None,
        "Folder a schedule run waiting for approval writes the week's preview into, for its approver "
        "(`<folder>/<campaign>/index.html`). Unset: `previews/` in the outbox folder.",
    )
    preview_url: str | None = _field(
        OUTPUT,
        None,
        "HTTP address the preview folder is served at, linked from the approval form. Unset: the outbox's "
        "address (PRACTICEWEEK_OUTBOX_URL) when the previews are in the outbox, else no link.",
    )
    web_root: Path | None = _field(
        OUTPUT, None, "Folder the `web_page` connector publishes pages into. Unset: `./site`."
    )
    web_base_url: str | None = _field(
        OUTPUT,
        None,
        "URL where the web root is served, used in links to published pages. Unset: the web root's "
        "`file://` URL.",
    )
    graph_block: str | None = _field(
        OUTPUT,
        None,
        "Name of a saved `GraphCredentials` Prefect block to use instead of the PRACTICEWEEK_GRAPH_* "
        "variables.",
    )
    smtp_block: str | None = _field(
        OUTPUT, None, "Name of a saved `SmtpCredentials` block instead of the PRACTICEWEEK_SMTP_* variables."
    )
    teams_block: str | None = _field(
        OUTPUT, None, "Name of a saved `TeamsWebhook` block instead of the PRACTICEWEEK_TEAMS_* variables."
    )
    x_block: str | None = _field(
        OUTPUT, None, "Name of a saved `XCredentials` block instead of the PRACTICEWEEK_X_* variables."
    )
    bluesky_block: str | None = _field(
        OUTPUT,
        None,
        "Name of a saved `BlueskyCredentials` block instead of the PRACTICEWEEK_BLUESKY_* variables.",
    )
    mastodon_block: str | None = _field(
        OUTPUT,
        None,
        "Name of a saved `MastodonCredentials` block instead of the PRACTICEWEEK_MASTODON_* variables.",
    )
    rate_limits: dict[str, str] = Field(
        default_factory=dict,
        description="Provider limit a connector paces to, as REQUESTS/SECONDS (e.g. "
        "`PRACTICEWEEK_RATE_LIMIT_X=17/86400` for X's free tier). One variable per connector name "
        "(`outbox`, `smtp_mail`, `graph_mail`, `x`, ...). Unset: the connector's declared limit.",
        json_schema_extra={"group": OUTPUT, "env": f"{RATE_LIMIT_PREFIX}<CONNECTOR>"},
    )

    # --- limits --------------------------------------------------------------------------------
    max_attempts: int = _field(
        LIMITS, 8, "Attempts at one publication (first try included) before it is reported as failed."
    )
    record_limit: int = _field(
        LIMITS,
        100,
        "A window run with at most this many publications records one Prefect artifact per "
        "publication; a more crowded window records one summary instead.",
    )
    crowded_task_runs: bool = _field(
        LIMITS,
        False,
        "A Prefect task run per publication in a crowded window too (more than PRACTICEWEEK_RECORD_LIMIT "
        "publications). Off: there they run on the window run's own threads, with the same checks, "
        "claims and retries, a log line and events each, at under half the CPU (bench/RESULTS.md).",
    )
    task_threads: int = _field(
        LIMITS,
        32,
        "Publish tasks a window run keeps going at once (threads of its process; a task waiting for its "
        "time, a dependency or a retry holds one). More threads fight over one interpreter: a 1,200-"
        "publication burst went out in 8.8 s with 32, 10.7 s with 64, 17.9 s with 400 (bench/lateness.py).",
    )
    run_limit: int = _field(
        LIMITS, 20, "Flow runs a serving process (`practiceweek run`) executes at the same time."
    )

    # --- alerts --------------------------------------------------------------------------------
    late_after_s: float = _field(
        ALERTS,
        60.0,
        "A publication that goes out more than this many seconds after its time counts as late in the "
        "status table and `practiceweek status`.",
    )
    approval_timeout_s: float = _field(
        ALERTS,
        7 * 24 * 3600.0,
        "How long a week that needs approval waits for its approver's decision (seconds; a week). Left "
        "unanswered, nothing is scheduled, the comms team is alerted and `practiceweek run` ends (exit 4).",
        gt=0,
    )
    operators_connector: str = _field(
        ALERTS,
        "outbox",
        "Connector that sends operators' alerts (failed or skipped publications), e.g. `smtp_mail`; "
        "the outbox writes them under `outbox/operators/`.",
    )

    # --- production set-up (deploy/production.py) ----------------------------------------------
    deploy_dir: Path = _field(
        DEPLOY,
        Path("/var/lib/practiceweek"),
        "Default `--dir` of deploy/production.py: the folder holding the databases, secrets and logs.",
    )
    repo: str = _field(
        DEPLOY,
        "",
        "Default `--repo`: git URL the workers' pull step clones. Empty: a snapshot of this checkout.",
    )
    branch: str = _field(DEPLOY, "main", "Default `--branch`: git branch the workers' pull step clones.")
    pg_bin: Path = _field(
        DEPLOY, Path("/usr/lib/postgresql/15/bin"), "Folder holding PostgreSQL's initdb, pg_ctl and psql."
    )
    pg_os_user: str = _field(
        DEPLOY, "postgres", "OS user PostgreSQL runs as when deploy/production.py is run as root."
    )
    heal_every_s: float = _field(
        DEPLOY, 3.0, "Seconds between two healing rounds of the supervisor (`production.py run`)."
    )

    # --- benchmarks & diagnostics ----------------------------------------------------------------
    rate_log: Path | None = _field(
        BENCH,
        None,
        "File the workers' pacers append one JSON line per reservation to (asked, slot, held back). "
        "Unset: no log.",
    )
    send_cpu_report: bool = _field(
        BENCH,
        False,
        "Each window run writes the CPU seconds its process spent, by part of the send path (Prefect "
        "bookkeeping, ledger, connector, read-back), to `<state folder>/cpu/` as it ends "
        "(bench/lateness.py --case rendered reads them).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _RateLimitSource(settings_cls), env_settings

    def rate_limit(self, name: str) -> str | None:
        """The raw ``PRACTICEWEEK_RATE_LIMIT_<NAME>`` value, if set."""
        return self.rate_limits.get(name.lower())

    def block(self, kind: str) -> str | None:
        """The ``PRACTICEWEEK_<KIND>_BLOCK`` block name for a credentials kind, if set."""
        return getattr(self, f"{kind.lower()}_block", None)


class SettingsError(ValueError):
    """A ``PRACTICEWEEK_*`` variable holds a value that does not parse; the message names it."""


def env_name(field: str) -> str:
    extra = Settings.model_fields[field].json_schema_extra
    if isinstance(extra, dict) and "env" in extra:
        return str(extra["env"])
    return f"{PREFIX}{field.upper()}"


def settings(**overrides: Any) -> Settings:
    """The :class:`Settings` the environment holds now (keyword arguments win). Read again whenever a
    ``PRACTICEWEEK_`` variable changed, else the same object: a burst's tasks ask for it thousands of
    times, and reading it costs a millisecond."""
    global _last
    if overrides:
        return _read(overrides)
    key = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(PREFIX)))
    last = _last
    if last is not None and last[0] == key:
        return last[1]
    fresh = _read({})
    _last = (key, fresh)
    return fresh


_last: tuple[tuple[tuple[str, str], ...], Settings] | None = None  # the environment read, and its settings


def _read(overrides: dict[str, Any]) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            name = env_name(field) if field in Settings.model_fields else field
            value = os.environ.get(name) if field not in overrides else overrides[field]
            problems.append(f"{name}={value!r}: {err['msg']}")
        raise SettingsError("bad setting: " + "; ".join(problems)) from None


# --- documentation -------------------------------------------------------------------------------
