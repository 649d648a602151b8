"""``make scale-demo``: the scale example DAG on a real distributed executor, on this machine.

PostgreSQL (metadata database) and Redis (Celery broker) from Debian's packages, Airflow's CeleryExecutor with a
scheduler, a DAG processor, an API server and ``--workers`` Celery workers, the emulator with a QPS limit standing
in for the account's quota, and a pool sized so that ``pool slots × per-task max_requests_per_second`` stays
within it. Everything runs on 127.0.0.1 and free ports, in throwaway directories; everything started here is
stopped at the end, even on failure. The last line printed is the verdict:

``scale-demo: images=N ok=N workers=W throughput=X img/s max_qps=Y limit=Z quota_used=U billed_twice=B pacing=P``

``max_qps`` (the most OCR requests that reached the emulator within any sliding second, throttled ones included)
and ``billed_twice`` (images billed more than once) come from the emulator's counters; ``workers`` is how many
Celery workers ran tasks of the run, from Celery's own statistics; ``throughput`` is images over the span from the first
chunk's start to the last chunk's end (the tasks' start-up included); ``quota_used`` is the calls' rate from the first
call to the last, as a share of the quota.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from airflow_provider_vlocr.testing.emulator_handle import EmulatorHandle, emulator_command
from airflow_provider_vlocr.testing.licence_generator import generate
from airflow_provider_vlocr.testing.ports import free_port

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / ".scale-demo"
DAG_ID = "vlocr_example_scale"
DAG_FILE = REPO / "example_dags" / "example_vlocr_scale.py"
POOL = "vlocr_cloud"
POOL_NOTE = "vlocr: slots x max_requests_per_second <= the account quota"
QUOTA_SHARE = 0.8  # the fleet is paced to 80 % of the quota: arrival jitter at the window's edge must not hit 429s


@dataclass(frozen=True)
class Plan:
    images: int
    chunks: int
    workers: int
    worker_concurrency: int
    qps_limit: float
    task_qps: float
    latency_ms: int
    pacing: str = "shared"

    @property
    def shared(self) -> bool:
        return self.pacing == "shared"

    @property
    def pool_slots(self) -> int:
        """The most chunks that may call the service at once. Shared pacing: every worker slot (the Redis pacer
        holds the quota whatever runs); pool pacing: slots × task_qps ≤ QUOTA_SHARE × limit."""
        if self.shared:
            return self.workers * self.worker_concurrency
        return max(1, int(self.qps_limit * QUOTA_SHARE / self.task_qps))

    @property
    def rate_per_task(self) -> float:
        """``max_requests_per_second`` of each task: the account's quota when shared (the store keeps the total)."""
        return self.qps_limit if self.shared else self.task_qps


def parse_args(argv: list[str] | None) -> Plan:
    parser = argparse.ArgumentParser(prog="scale_demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=480, help="licence photos to recognise (even; default 480)")
    parser.add_argument("--chunks", type=int, default=12, help="mapped OCR tasks (default 12)")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (default 2)")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="task slots per worker (default 2)")
    parser.add_argument("--qps-limit", type=float, default=10.0, help="the emulated account quota (default 10/s)")
    parser.add_argument("--task-qps", type=float, default=2.0, help="max_requests_per_second per task (default 2)")
    parser.add_argument("--latency-ms", type=int, default=300, help="the emulator's answer time (default 300 ms)")
    parser.add_argument(
        "--pacing",
        choices=("shared", "pool"),
        default="shared",
        help="shared: every task paces the account's quota through the broker's Redis (connection extra "
        "shared_pacer); pool: each task its own share (pool slots × --task-qps), the static way (default shared)",
    )
    args = parser.parse_args(argv)
    if args.chunks < 10 or args.workers < 2 or args.images < args.chunks:
        parser.error("the demo needs at least 10 chunks, 2 workers and one image per chunk")
    return Plan(**vars(args))


def say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def wait_for(what: str, ready: Callable[[], bool], timeout: float, *, processes: list[Service] | None = None) -> None:
    """Poll ``ready`` until it holds; fail early when a process it depends on has died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for service in processes or []:
            service.check()
        try:
            if ready():
                return
        except (OSError, requests.RequestException):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class Service:
    """A process started here, in its own process group (so its children stop with it), logging to a file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    stop_signal: int = signal.SIGTERM

    def check(self) -> None:
        if self.process.poll() is not None:
            tail = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}; end of {self.log}:\n{tail}")

    def stop(self, grace: float = 30.0) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, self.stop_signal)
                self.process.wait(timeout=grace)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                say(f"{self.name} did not stop in {grace:.0f}s: killed")
        with suppress(ProcessLookupError, PermissionError):  # what the group left behind (task processes, forks)
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class Services:
    """Starts processes and stops all of them, newest first."""

    logs: Path
    started: list[Service] = field(default_factory=list)

    def start(
        self,
        name: str,
        command: list[str],
        env: dict[str, str] | None = None,
        *,
        stop_signal: int = signal.SIGTERM,
        **options: Any,
    ) -> Service:
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **options
            )
        service = Service(name, process, log, stop_signal)
        self.started.append(service)
        return service

    def stop_all(self) -> None:
        for service in reversed(self.started):
            service.stop()
        self.started.clear()


def run(command: list[str], env: dict[str, str], log: Path, **options: Any) -> str:
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(command)}\n")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False, **options)
    with log.open("a", encoding="utf-8") as out:
        out.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed ({done.returncode}); see {log}:\n{done.stderr[-2000:]}")
    return done.stdout


# -- PostgreSQL and Redis -------------------------------------------------------------------------------------
def postgres_bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql; make scale-demo does it)")
    return Path(found[-1]).parent


@contextmanager
def postgres_data_dir() -> Iterator[tuple[Path, dict[str, Any]]]:
    """A throwaway cluster directory and the user that may own it (PostgreSQL refuses to run as root)."""
    as_user: dict[str, Any] = {}
    root = Path(tempfile.mkdtemp(prefix="vlocr-scale-pg-"))
    try:
        if os.geteuid() == 0:
            as_user = {"user": "postgres", "group": "postgres"}
            shutil.chown(root, "postgres", "postgres")
        yield root, as_user
    finally:
        shutil.rmtree(root, ignore_errors=True)


def start_postgres(services: Services, root: Path, as_user: dict[str, Any], log: Path) -> int:
    bindir, port = postgres_bindir(), free_port()
    data = root / "data"
    run(
        [str(bindir / "initdb"), "-D", str(data), "-U", "airflow", "--auth=trust", "-E", "UTF8", "--no-sync"],
        {**os.environ, "LC_ALL": "C.UTF-8"},
        log,
        cwd=root,
        **as_user,
    )
    settings = {  # a throwaway metadata database: durability traded for speed
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(root),
        "max_connections": "200",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }
    command = [str(bindir / "postgres"), "-D", str(data)] + [f"-c{k}={v}" for k, v in settings.items()]
    # SIGINT is PostgreSQL's fast shutdown (SIGTERM waits for every client to leave)
    service = services.start("postgres", command, stop_signal=signal.SIGINT, cwd=root, **as_user)
    import psycopg2

    def accepting() -> bool:
        try:
            psycopg2.connect(host="127.0.0.1", port=port, user="airflow", dbname="postgres").close()
        except psycopg2.OperationalError:
            return False
        return True

    wait_for("PostgreSQL", accepting, 60, processes=[service])
    connection = psycopg2.connect(host="127.0.0.1", port=port, user="airflow", dbname="postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("CREATE DATABASE airflow")
    connection.close()
    return port


def start_redis(services: Services) -> int:
    port = free_port()
    redis = shutil.which("redis-server")
    if redis is None:
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
    service = services.start(
        "redis",
        [
            redis,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(services.logs),
        ],
    )

    def pong() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")

    wait_for("Redis", pong, 30, processes=[service])
    return port


# -- the images and the emulator ------------------------------------------------------------------------------
def write_samples(folder: Path, images: int) -> dict[str, dict[str, Any]]:
    """``images`` synthetic licence photos (front and back of images/2 vehicles); the emulator's answers."""
    folder.mkdir(parents=True)
    answers: dict[str, dict[str, Any]] = {}
    for sample in generate(images // 2, seed=4242, variants=("clean",)):
        (folder / sample.name).write_bytes(sample.image)
        answers[hashlib.sha256(sample.image).hexdigest()] = sample.answer()
    return answers


# -- Airflow ---------------------------------------------------------------------------------------------------
def airflow_env(
    plan: Plan,
    home: Path,
    dags: Path,
    pg_port: int,
    redis_port: int,
    api_port: int,
    connection: dict[str, Any],
    samples: Path,
) -> dict[str, str]:
    from cryptography.fernet import Fernet

    database = f"postgresql+psycopg2://airflow@127.0.0.1:{pg_port}/airflow"
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "32",
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
        "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://airflow@127.0.0.1:{pg_port}/airflow",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(plan.worker_concurrency),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__OPENLINEAGE__DISABLED": "True",
        "AIRFLOW_CONN_VLOCR_DEFAULT": json.dumps(connection),
        "VLOCR_EXAMPLE_FOLDER": f"file://{samples}",
        "VLOCR_POOL": POOL,
        "VLOCR_TASK_QPS": str(plan.rate_per_task),
    }


class Api:
    """Airflow's REST API (simple auth manager, all users admins: a throwaway deployment on loopback)."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.http = requests.Session()

    def login(self) -> None:
        token = self.http.get(f"{self.base}/auth/token", timeout=10).json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **options: Any) -> Any:
        response = self.http.request(method, f"{self.base}/api/v2/{path}", timeout=30, **options)
        response.raise_for_status()
        return response.json()

    def healthy(self) -> bool:
        return self.http.get(f"{self.base}/api/v2/monitor/health", timeout=5).status_code == 200


def celery_tasks_per_worker(env: dict[str, str], log: Path) -> dict[str, int]:
    """Tasks each Celery worker executed, from the workers themselves (``celery inspect stats``)."""
    probe = (
        "import json\n"
        "from airflow.providers.celery.executors.celery_executor_utils import app\n"
        "stats = app.control.inspect(timeout=10).stats() or {}\n"
        "print(json.dumps({name: sum(s.get('total', {}).values()) for name, s in stats.items()}))\n"
    )
    output = run([sys.executable, "-c", probe], env, log)
    counts: dict[str, int] = json.loads(output.strip().splitlines()[-1])
    return counts


def span_seconds(instances: list[dict[str, Any]]) -> float:
    starts = [datetime.fromisoformat(t["start_date"]) for t in instances if t.get("start_date")]
    ends = [datetime.fromisoformat(t["end_date"]) for t in instances if t.get("end_date")]
    return (max(ends) - min(starts)).total_seconds()


def verdict_line(
    images: int,
    ok: int,
    workers: int,
    throughput: float,
    max_qps: int,
    limit: float,
    twice: int,
    pacing: str,
    call_rate: float,
) -> str:
    """The last line: ``throughput`` over the tasks' span (their start-up included), ``quota_used`` the calls'
    rate between the first and the last call, as a share of the quota."""
    return (
        f"scale-demo: images={images} ok={ok} workers={workers} throughput={throughput:.2f} img/s "
        f"max_qps={max_qps} limit={limit:g} quota_used={call_rate / limit:.2f} billed_twice={twice} pacing={pacing}"
    )


def main(argv: list[str] | None = None) -> int:
    plan = parse_args(argv)
    shutil.rmtree(WORK, ignore_errors=True)
    logs, home, dags, samples = WORK / "logs", WORK / "airflow", WORK / "dags", WORK / "samples"
    for folder in (logs, home, dags):
        folder.mkdir(parents=True)
    (dags / DAG_FILE.name).symlink_to(DAG_FILE)
    say(
        f"plan: {plan.images} images in {plan.chunks} chunks, {plan.workers} Celery workers × "
        f"{plan.worker_concurrency} slots, quota {plan.qps_limit:g}/s, "
        + (
            f"paced as one through Redis (shared_pacer), pool {POOL} = {plan.pool_slots} slots"
            if plan.shared
            else f"pool {POOL} = {plan.pool_slots} slots × {plan.task_qps:g}/s per task = "
            f"{plan.pool_slots * plan.task_qps:g}/s"
        )
    )
    answers = write_samples(samples, plan.images)
    say(f"generated {len(answers)} licence photos in {samples}")
    services = Services(logs)
    setup_log = logs / "setup.log"
    try:
        with postgres_data_dir() as (pg_root, as_user):
            pg_port = start_postgres(services, pg_root, as_user, setup_log)
            redis_port = start_redis(services)
            say(f"PostgreSQL on 127.0.0.1:{pg_port}, Redis on 127.0.0.1:{redis_port}")
            config = WORK / "emulator.json"
            # the answers engine replays the photos' ground truth at the given latency, as the cloud would answer;
            # the offline engine would make the emulator, not Airflow, the bottleneck on a 2-core machine
            settings = {
                "engine": "answers",
                "answers": answers,
                "latency_ms": plan.latency_ms,
                "qps_limit": plan.qps_limit,
            }
            config.write_text(json.dumps(settings), encoding="utf-8")
            emulator_port = free_port()
            emulator_service = services.start("emulator", emulator_command(config, port=emulator_port))
            base_url = f"http://127.0.0.1:{emulator_port}"
            emulator = EmulatorHandle(base_url)
            wait_for("the emulator", lambda: emulator.counters() is not None, 60, processes=[emulator_service])
            say(f"emulator at {base_url}, quota {plan.qps_limit:g} requests/s, {plan.latency_ms} ms per answer")
            api_port = free_port()
            connection = emulator.connection("aksk")
            if plan.shared:  # the broker's Redis, another database: all tasks pace the account's calls as one
                connection["extra"] = {**connection["extra"], "shared_pacer": f"redis://127.0.0.1:{redis_port}/1"}
            env = airflow_env(plan, home, dags, pg_port, redis_port, api_port, connection, samples)
            airflow = str(Path(sys.executable).with_name("airflow"))
            started = time.monotonic()
            run([airflow, "db", "migrate"], env, setup_log)
            run([airflow, "pools", "set", POOL, str(plan.pool_slots), POOL_NOTE], env, setup_log)
            say(f"airflow db migrate on PostgreSQL, pool {POOL}: {time.monotonic() - started:.0f}s")
            processes = [
                services.start(
                    "api-server", [airflow, "api-server", "--host", "127.0.0.1", "--port", str(api_port)], env
                ),
                services.start("scheduler", [airflow, "scheduler"], env),
                services.start("dag-processor", [airflow, "dag-processor"], env),
            ]
            for index in range(1, plan.workers + 1):
                command = [
                    airflow,
                    "celery",
                    "worker",
                    "--celery-hostname",
                    f"vlocr-worker{index}@%h",
                    "--concurrency",
                    str(plan.worker_concurrency),
                    "--skip-serve-logs",
                ]
                processes.append(services.start(f"worker{index}", command, env))
            api = Api(api_port)
            wait_for("the API server", api.healthy, 180, processes=processes)
            api.login()
            wait_for(
                f"the DAG {DAG_ID} to be parsed",
                lambda: bool(api.call("GET", f"dags/{DAG_ID}")),
                180,
                processes=processes,
            )
            workers_up = lambda: len(celery_tasks_per_worker(env, setup_log)) >= plan.workers  # noqa: E731
            wait_for(f"{plan.workers} Celery workers", workers_up, 180, processes=processes)
            say(f"Airflow up (CeleryExecutor, {plan.workers} workers): {time.monotonic() - started:.0f}s")
            api.call("PATCH", f"dags/{DAG_ID}", json={"is_paused": False})
            run_id = api.call(
                "POST", f"dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": {"chunks": plan.chunks}}
            )["dag_run_id"]
            state = ""

            def finished() -> bool:
                nonlocal state
                state = api.call("GET", f"dags/{DAG_ID}/dagRuns/{run_id}")["state"]
                return state in ("success", "failed")

            wait_for(f"the DAG run {run_id}", finished, 1800, processes=processes)
            instances = api.call(
                "GET",
                f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances",
                params={"task_id": "recognize_chunk", "limit": 1000},
            )["task_instances"]
            chunks = [t for t in instances if t["task_id"] == "recognize_chunk"]
            summary = (
                api.call("GET", f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/summarize/xcomEntries/return_value")[
                    "value"
                ]
                if state == "success"
                else {}
            )
            if isinstance(summary, str):
                summary = json.loads(summary)
            per_worker = celery_tasks_per_worker(env, setup_log)
            counters = emulator.counters()
    finally:
        services.stop_all()
    busy = [n for n in per_worker.values() if n > 0]
    twice = sum(1 for n in counters["billed_by_image"].values() if n > 1)
    throttled = counters["responses_by_status"].get("429", 0)
    span = span_seconds(chunks) if chunks else 0.0
    say(
        f"DAG run {state}: {len(chunks)} mapped chunks, tasks per worker {per_worker}; billed {counters['ocr_billed']}"
        f" calls (per try {summary.get('billed_per_try')}), {throttled} answered 429; OCR span {span:.1f}s; "
        f"logs in {logs}"
    )
    print(
        verdict_line(
            images=int(summary.get("images", 0)),
            ok=int(summary.get("ok", 0)),
            workers=len(busy),
            throughput=summary.get("images", 0) / span if span else 0.0,
            max_qps=int(counters["max_qps"]),
            limit=plan.qps_limit,
            twice=twice,
            pacing=plan.pacing,
            call_rate=counters["ocr_billed"] / counters["ocr_span_seconds"] if counters["ocr_span_seconds"] else 0.0,
        ),
        flush=True,
    )
    return 0 if state == "success" and summary.get("ok") == plan.images and twice == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
