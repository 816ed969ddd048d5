"""DuckDB's answers to the differential test's queries (tests/it/difftest.rs).

    python3 duckdb_answers.py DATA_DIR QUERIES_JSON OUT_JSON

DATA_DIR holds the tables as hotline's session shows them, one Parquet file each
(tickets.parquet, districts.parquet, streets.parquet, population.parquet). QUERIES_JSON is a
list of {"name", "sql"}; OUT_JSON gets, per query, {"name", "columns", "rows"} or
{"name", "error"}. Values are written in the test's neutral form: numbers as JSON numbers,
timestamps as "YYYY-MM-DD HH:MM:SS.ffffff", dates as "YYYY-MM-DD", durations and intervals as
"dur:<microseconds>" (a month as 30 days), NaN and infinities as strings.
"""

import datetime
import decimal
import json
import math
import os
import sys

import duckdb


def neutral(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(v, decimal.Decimal):
        return neutral(float(v))
    if isinstance(v, datetime.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, datetime.time):
        return v.strftime("%H:%M:%S.%f")
    if isinstance(v, datetime.timedelta):
        return "dur:%d" % (((v.days * 86400) + v.seconds) * 1_000_000 + v.microseconds)
    if isinstance(v, (list, tuple)):
        return [neutral(x) for x in v]
    return str(v)


def main():
    data, queries, out = sys.argv[1:4]
    con = duckdb.connect()
    # the same two threads hotline uses; results do not depend on it
    con.execute("SET threads = 2")
    for table in ("tickets", "districts", "streets", "population"):
        path = os.path.join(data, table + ".parquet")
        con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}')")
    answers = []
    with open(queries, encoding="utf-8") as f:
        for q in json.load(f):
            try:
                cur = con.execute(q["sql"])
                columns = [d[0] for d in cur.description]
                rows = [[neutral(v) for v in row] for row in cur.fetchall()]
                answers.append({"name": q["name"], "columns": columns, "rows": rows})
            except Exception as e:  # a query DuckDB refuses is an answer too
                answers.append({"name": q["name"], "error": str(e).splitlines()[0]})
    with open(out, "w", encoding="utf-8") as f:
        json.dump(answers, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
