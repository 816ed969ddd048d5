#!/usr/bin/env python3
"""hotline benchmark: time the annual report stage by stage on an archive of N tickets, with peak
memory, and the neutral DuckDB / DataFusion-python workload (benches/neutral) on the same file in
the same run, and print the ratios against issue 8's targets.

usage: scripts/bench.py [--rows 20000000] [--year 2025] [--file F.parquet] [--work DIR]
                        [--units district,department] [--repeats 3] [--engine scan|sql]
Needs: a release build of hotline (cargo build --release; found in $CARGO_TARGET_DIR, target/
or PATH), typst, and Python with duckdb (+ datafusion for the second engine):
  python3 -m venv ~/.cache/hotline-benchenv && ~/.cache/hotline-benchenv/bin/pip install duckdb datafusion pyarrow
"""
import argparse, multiprocessing, os, re, resource, shutil, statistics, subprocess, sys, time, pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
NEUTRAL = ROOT / "benches" / "neutral"


def hotline_bin():
    # $CARGO_TARGET_DIR's build when it is set; else the newest of the usual places (a stale
    # target/ beside a fresh ~/.cache build would otherwise be timed)
    dirs = [os.environ.get("CARGO_TARGET_DIR")] if os.environ.get("CARGO_TARGET_DIR") else [
        str(ROOT / "target"), os.path.expanduser("~/.cache/hotline-target")]
    builds = [pathlib.Path(d, "release", "hotline") for d in dirs if d]
    builds = [b for b in builds if b.is_file()]
    if builds:
        found = str(max(builds, key=lambda b: b.stat().st_mtime))
        print(f"hotline binary: {found}", file=sys.stderr)
        return found
    found = shutil.which("hotline")
    if not found:
        sys.exit("no hotline binary: run `cargo build --release` first")
    return found


def run(cmd, env=None):
    """Run cmd; return (seconds, peak RSS in MiB of it and its children, stderr)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{err}")
    return dt, usage.ru_maxrss / 1024.0, err


def stages(err):
    m = re.search(r"stages: (.*)", err)
    out = {}
    if m:
        for part in m.group(1).split(", "):
            name, secs, _ = part.rsplit(" ", 2)
            out[name] = float(secs)
    return out


def neutral(engine, path):
    """The neutral workload's queries and a function that runs one of them on `engine`."""
    sql = (NEUTRAL / "queries.sql").read_text()
    queries = [q.strip().rstrip(";") for q in re.split(r";\s*\n", sql) if "SELECT" in q]
    if engine == "duckdb":
        import duckdb
        con = duckdb.connect(); con.execute("SET threads TO 2")
        con.execute(f"CREATE VIEW tickets AS SELECT * FROM read_parquet('{path}')")
        runq = lambda q: con.sql(q).to_arrow_table().num_rows
    else:
        import datafusion
        ctx = datafusion.SessionContext(datafusion.SessionConfig().with_target_partitions(2))
        ctx.register_parquet("tickets", str(path))
        runq = lambda q: sum(b.num_rows for b in ctx.sql(q).collect())
    return queries, runq


def timed(runq, q):
    t = time.perf_counter(); runq(q)
    return time.perf_counter() - t


def engine_worker(engine, path, conn):
    """Serve one engine in a process of its own: the bench's own process stays small, so the
    peak RSS of the hotline runs it starts is hotline's (a child's peak RSS counts the memory of
    the process it was forked from)."""
    try:
        queries, runq = neutral(engine, path)
    except ImportError:
        conn.send(None)
        return
    conn.send(len(queries))
    while (k := conn.recv()) is not None:
        conn.send(timed(runq, queries[k]))


class Engine:
    """A neutral engine in its own process: `time(k)` runs query k there and returns its seconds."""

    def __init__(self, engine, path):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=engine_worker, args=(engine, str(path), child), daemon=True)
        self.proc.start()
        self.n = self.conn.recv()

    def time(self, k):
        self.conn.send(k)
        return self.conn.recv()

    def close(self):
        self.conn.send(None)
        self.proc.join()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--year", type=int, default=2025)
    ap.add_argument("--file", help="an existing archive (Parquet file or folder) instead of generating one")
    ap.add_argument("--work", default=os.path.expanduser("~/.cache/hotline-bench"))
    ap.add_argument("--units", default="district,department")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--engine", choices=["scan", "sql"], default="scan",
                    help="report's --engine: the native scan (default) or the SQL files on DataFusion")
    args = ap.parse_args()
    work = pathlib.Path(args.work); work.mkdir(parents=True, exist_ok=True)
    path = pathlib.Path(args.file) if args.file else work / f"t{args.rows}.parquet"
    if not path.exists():
        print(f"generating {args.rows:,} tickets with benches/neutral/gen.py → {path}", flush=True)
        t = time.perf_counter()
        subprocess.run([sys.executable, str(NEUTRAL / "gen.py"), str(args.rows), str(path), str(args.year)], check=True)
        print(f"  {time.perf_counter() - t:.1f} s", flush=True)
    hl = hotline_bin()
    rows = int(subprocess.run([hl, "sql", "--archive", str(path), "--format", "csv", "SELECT count(*) AS n FROM tickets"],
                              capture_output=True, text=True, check=True).stdout.split()[1])
    size = sum(f.stat().st_size for f in ([path] if path.is_file() else path.rglob("*.parquet")))
    print(f"\nhotline benchmark (--engine {args.engine}) · {rows:,} tickets · {size / 2**20:.0f} MiB · {os.cpu_count()} CPUs · {time.strftime('%Y-%m-%d')}")
    out = work / "out"
    env = dict(os.environ, HOTLINE_CONFIG=str(ROOT / "hotline.toml"))
    base = [hl, "report", "--period", str(args.year), "--archive", str(path), "--out", str(out),
            "--engine", args.engine]

    # --repeats rounds, each one hotline --no-pdf run and one run of every neutral query on each
    # engine, one after the other (this machine's speed drifts: a round's ratio compares runs
    # made seconds apart). The headline figures are the best of the rounds: hotline's best whole
    # run (the one with the shortest metric stage), each engine's sum of its queries' best times.
    engines = {}
    for engine in ("duckdb", "datafusion"):
        worker = Engine(engine, path)
        if worker.n is None:
            print(f"  {engine}: not installed (pip install {engine})")
        else:
            engines[engine] = worker
    per_query = {e: [[] for _ in range(w.n)] for e, w in engines.items()}
    rounds = []  # (hotline's metric stage, {engine: the round's total})
    best, peak = None, 0.0
    for _ in range(args.repeats):
        t, rss, err = run(base + ["--no-pdf", "--replace"], env)
        peak = max(peak, rss)
        st = stages(err)
        key = st.get("scan", 0) + st.get("checks", 0) + st.get("metrics", 0)
        if best is None or key < best[0]:
            best = (key, t, rss, st)
        totals = {}
        for e, w in engines.items():
            times = [w.time(k) for k in range(w.n)]
            for k, dt in enumerate(times):
                per_query[e][k].append(dt)
            totals[e] = sum(times)
        rounds.append((key, totals))
    for w in engines.values():
        w.close()
    _, t_tables, _, s = best
    rss_tables = peak  # the highest of the runs
    t_full, rss_full, err_full = run(base + ["--units", args.units] if args.units else base, env)
    s_full = stages(err_full)

    print(f"\n{'stage':<34}{'seconds':>9}{'tickets/s':>14}")
    for name, secs in s.items():
        print(f"{name:<34}{secs:>9.2f}{rows / secs if secs > 0 else 0:>14,.0f}")
    print(f"{'report --no-pdf (whole, best of ' + str(args.repeats) + ')':<34}{t_tables:>9.2f}{rows / t_tables:>14,.0f}   peak RSS {rss_tables:,.0f} MiB")
    for name in ("pdf", "unit pdfs"):
        if name in s_full:
            print(f"{name + ' (in the full run)':<34}{s_full[name]:>9.2f}")
    print(f"{'full run: city + ' + (args.units or 'no units'):<34}{t_full:>9.2f}{rows / t_full:>14,.0f}   peak RSS {rss_full:,.0f} MiB")

    # the metric stage: the one scan of the archive, the data checks and the metric SQL
    metrics = s.get("scan", 0) + s.get("checks", 0) + s.get("metrics", 0)
    with_read = metrics + s.get("read", 0)
    print(f"\nneutral workload (benches/neutral/queries.sql, sum of each query's best of {args.repeats}, 2 threads):")
    results = {e: sum(min(ts) for ts in per_query[e]) for e in engines}
    for e, secs in results.items():
        print(f"  {e:<12}{secs:>8.2f} s")
    print("\nagainst the targets of issue 8:")
    if "duckdb" in results:
        r = metrics / results["duckdb"]
        print(f"  hotline scan+checks+metrics / DuckDB = {metrics:.2f} / {results['duckdb']:.2f} = {r:.2f}   (target ≤ 0.50)")
        print(f"  … with the read stage (archive footers, SHA-256 of the inputs) = {with_read / results['duckdb']:.2f}")
        each = [h / totals["duckdb"] for h, totals in rounds]
        print(f"  … round by round (hotline, then DuckDB): " + ", ".join(f"{h:.2f} / {totals['duckdb']:.2f} = {r:.2f}"
              for (h, totals), r in zip(rounds, each)) + f"; median {statistics.median(each):.2f}")
    if "datafusion" in results:
        print(f"  hotline scan+checks+metrics / DataFusion-python = {metrics / results['datafusion']:.2f}")
    print(f"  whole annual run with PDFs: {t_full:.1f} s   (target ≤ 30 s)")
    print(f"  peak memory: {max(rss_tables, rss_full):,.0f} MiB   (target ≤ 2,048 MiB)")


if __name__ == "__main__":
    main()
