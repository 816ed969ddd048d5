#!/usr/bin/env python3
"""Import benchmark: `hotline import` of a Chinese 12345 export (the beijing-zh headers and values,
UTF-8 CSV) of N rows, against DuckDB's `COPY (SELECT * FROM read_csv(...)) TO '...parquet'` on the
same file, in the same run: time and peak RSS of each, then a monthly increment into the archive.

usage: scripts/bench_import.py --source T.parquet [--rows 1000000,5000000] [--work DIR]
The source is a canonical tickets Parquet file (e.g. benches/neutral/gen.py's output); the
exports are made from it with DuckDB (kept in --work for the next run). Needs a release build
of hotline and Python with duckdb (see scripts/bench.py).
"""
import argparse, os, pathlib, shutil, subprocess, sys, time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench import hotline_bin  # noqa: E402

CHANNEL = {"phone": "电话", "web": "网站", "wechat": "微信", "app": "客户端", "weibo": "微博", "other": "其他"}
REQUEST = {"consultation": "咨询", "help": "求助", "complaint": "投诉", "report": "举报", "suggestion": "建议",
           "praise": "表扬", "other": "其他"}
URGENCY = {"emergency": "紧急", "utility": "水电气热", "general": "一般", "complex": "疑难"}
SATISFACTION = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}
EXCLUDED = {"duplicate": "重复", "invalid": "无效", "out_of_scope": "超范围", "malicious": "恶意",
            "appeal_approved": "申诉核减"}


def case(col, mapping):
    arms = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in mapping.items())
    return f"CASE {col} {arms} ELSE {col} END"


def export_sql(source, rows, where):
    t = lambda c: f"strftime({c}, '%Y-%m-%d %H:%M:%S')"
    return f"""
      SELECT ticket_id AS 工单编号, {t('received_at')} AS 受理时间, {case('channel', CHANNEL)} AS 受理渠道,
        {case('request_type', REQUEST)} AS 诉求类型, category_l1 AS 一级分类, category_l2 AS 二级分类,
        category_l3 AS 三级分类, {case('urgency', URGENCY)} AS 紧急程度, district AS 所属区, street AS 街道乡镇,
        department AS 承办单位, {t('dispatched_at')} AS 派单时间, {t('responded_at')} AS 首次联系时间,
        {t('closed_at')} AS 办结时间, CASE resolved WHEN true THEN '是' WHEN false THEN '否' END AS 是否解决,
        {case('satisfaction', SATISFACTION)} AS 回访结果, {case('excluded_reason', EXCLUDED)} AS 剔除原因,
        caller_id AS 来电人编号, caller_phone AS 来电号码, content AS 诉求内容
      FROM read_parquet('{source}') {where} LIMIT {rows}"""


def measure(cmd):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{err}")
    return time.perf_counter() - t, usage.ru_maxrss / 1024.0, err


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", required=True)
    ap.add_argument("--rows", default="1000000,5000000")
    ap.add_argument("--work", default="/tmp/hotline-bench-import")
    a = ap.parse_args()
    hotline = hotline_bin()

    def duck(sql):
        # in a process of its own, so that DuckDB's memory is not counted in hotline's peak RSS
        code = "import duckdb, sys; duckdb.sql(\"SET threads=2\"); duckdb.sql(sys.argv[1])"
        return measure([sys.executable, "-c", code, sql])

    work = pathlib.Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    print("| rows | CSV | hotline import | peak RSS | DuckDB read_csv → Parquet | peak RSS | ratio |")
    print("|---|---|---|---|---|---|---|")
    last_archive = None
    for n in [int(x) for x in a.rows.split(",")]:
        csv = work / f"export-{n}.csv"
        if not csv.exists():
            tmp = csv.with_suffix(".tmp")
            # the tickets before December: the increment below is December's
            sql = export_sql(a.source, n, "WHERE received_at < '2025-12-01'")
            duck(f"COPY ({sql}) TO '{tmp}' (HEADER, DELIMITER ',')")
            tmp.rename(csv)
        archive = work / f"archive-{n}"
        shutil.rmtree(archive, ignore_errors=True)
        th, rh, err = measure([hotline, "import", str(csv), "--mapping", "beijing-zh", "--archive", str(archive),
                               "--quarantine", str(work / f"quarantine-{n}.csv")])
        summary = [l for l in err.splitlines() if l.startswith("read ")]
        td, rd, _ = duck(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{work}/duck-{n}.parquet' (FORMAT parquet)")
        size = csv.stat().st_size / 2**30
        rows = int(summary[0].split()[1]) if summary else n  # the source may hold fewer before December
        print(f"| {rows:,} | {size:.2f} GiB | {th:.1f} s | {rh:,.0f} MiB | {td:.1f} s | {rd:,.0f} MiB | {th / td:.2f}× |")
        print(f"  {summary[0] if summary else ''}", file=sys.stderr)
        last_archive = (n, archive)
    if last_archive:
        # a month of new tickets (December, an eleventh of the archive) into the last archive
        n, archive = last_archive
        inc = work / f"increment-{n}.csv"
        if not inc.exists():
            sql = export_sql(a.source, n // 11, "WHERE received_at >= '2025-12-01'")
            duck(f"COPY ({sql}) TO '{inc}' (HEADER, DELIMITER ',')")
        t, r, err = measure([hotline, "import", str(inc), "--mapping", "beijing-zh", "--archive", str(archive),
                             "--quarantine", str(work / "quarantine-inc.csv")])
        summary = [l for l in err.splitlines() if l.startswith("read ")]
        print(f"\nDecember's {n // 11:,} tickets into the {n:,}-row archive: {t:.1f} s, peak RSS {r:,.0f} MiB")
        print(f"  {summary[0] if summary else ''}")


if __name__ == "__main__":
    main()
