"""Importing a bank statement of N lines (ICBC layout, GBK CSV) and reconciling it: time and peak memory.

    .venv/bin/python bench/bank_import.py                 # 10,000 then 100,000 lines
    .venv/bin/python bench/bank_import.py --sizes 20000

For each size, in a fresh SQLite database with N/10 offline bank-transfer donations whose
references half of the lines carry, a child process reads the file, keeps its lines and
reconciles them (reconcile.bank.import_statement), then imports the same file again (which
must add nothing). Prints both times (the first also in CPU time), the child's peak resident
memory, and beside them the machine's baseline (bench/calibrate.py).
"""

import argparse
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import calibrate  # noqa: E402

HEADER = "凭证号,本方账号,对方账号,交易时间,借/贷,借方发生额,贷方发生额,对方行号,摘要,用途,对方单位名称,余额"


def statement(n: int, start: date) -> bytes:
    lines = ["中国工商银行 对公账户明细", "账号,1102020009000000001", HEADER]
    for i in range(n):
        day = start + timedelta(days=i % 28)
        amount = 1000 + i
        purpose = f"WXY-{i // 10:08d}" if i % 10 == 0 else f"转账{i}"
        lines.append(f"V{i:08d},1102,6222,{day} 10:00:00,贷,,{amount / 100:.2f},102,汇款,{purpose},捐赠人{i},0.00")
    return ("\n".join(lines) + "\n").encode("gbk")


def measure(db_path: str, file_path: str, out) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ["LOG_LEVEL"] = "WARNING"
    from app import create_app
    from core.extensions import db
    from core.models import Role, User
    from reconcile import bank

    app = create_app()
    with app.app_context():
        admin = db.session.scalar(db.select(User))
        assert admin.has_role(Role.FUND_ADMIN)
        data = Path(file_path).read_bytes()
        base = calibrate.baseline()
        started, cpu = time.perf_counter(), time.process_time()
        if os.environ.get("BENCH_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            statement_row, run = profile.runcall(bank.import_statement, admin, "bench.csv", data)
            pstats.Stats(profile).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(45)
        else:
            statement_row, run = bank.import_statement(admin, "bench.csv", data)
        db.session.commit()
        first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        matched, items = run.matched, len(run.items)
        started = time.perf_counter()
        again, none = bank.import_statement(admin, "bench.csv", data)
        db.session.commit()
        second = time.perf_counter() - started
        assert none is None and again.lines_new == 0
    out.put(
        {
            "baseline_s": base,
            "import_s": round(first, 2),
            "import_cpu_s": round(first_cpu, 2),
            "reimport_s": round(second, 2),
            "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "matched": matched,
            "items": items,
            "bytes": len(data),
        }
    )


def prepare(n: int, workdir: Path) -> tuple[str, str]:
    db_path = workdir / f"bank-{n}.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "LOG_LEVEL": "WARNING"}
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    start = date.today() - timedelta(days=30)
    code = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from datetime import UTC, datetime, timedelta
from sqlalchemy import insert
from app import create_app
from core.extensions import db
from core.services import create_user
from funds.models import Donation, Fund
app = create_app()
with app.app_context():
    create_user("bench-fund@example.org", "bench-password-1", "bench", roles=["fund_admin"])
    fund = Fund(slug="bench", name="bench")
    db.session.add(fund)
    db.session.commit()
    start = datetime.combine(datetime.fromisoformat({start.isoformat()!r}).date(), datetime.min.time(), tzinfo=UTC)
    rows = []
    for i in range(0, {n}, 10):
        rows.append(dict(public_id=f"bank{{i:012d}}", amount_fen=1000 + i, currency="CNY", fund_id=fund.id, name="bench",
            contact="bench@example.org", channel="bank_transfer", status="succeeded", reference=f"WXY-{{i // 10:08d}}",
            receipt_no=f"2001-{{i + 1:06d}}", created_at=start, succeeded_at=start + timedelta(days=i % 28, hours=2)))
    db.session.execute(insert(Donation), rows)
    db.session.commit()
"""
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
    file_path = workdir / f"statement-{n}.csv"
    file_path.write_bytes(statement(n, start))
    return str(db_path), str(file_path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            db_path, file_path = prepare(n, Path(tmp))
            out = multiprocessing.Queue()
            child = multiprocessing.Process(target=measure, args=(db_path, file_path, out))
            child.start()
            results[n] = out.get(timeout=1800)
            child.join()
            print(f"{n:>8} lines: {json.dumps(results[n])}", flush=True)
    sizes = sorted(results)
    for small, large in zip(sizes, sizes[1:], strict=False):
        ratio = results[large]["import_s"] / max(results[small]["import_s"], 1e-9)
        cpu = results[large]["import_cpu_s"] / max(results[small]["import_cpu_s"], 1e-9)
        print(f"time {large}/{small}: x{ratio:.1f} (CPU x{cpu:.1f}) for x{large / small:.0f} the lines")


if __name__ == "__main__":
    main()
