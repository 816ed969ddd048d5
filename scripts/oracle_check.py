#!/usr/bin/env python3
"""Check hotline's scores.csv against an independent DuckDB computation of the spec's defaults.

usage: oracle_check.py ARCHIVE SCORES.csv START END
  ARCHIVE   a Parquet file or a folder (read recursively) in the canonical tickets schema
  START/END the period as [START, END), e.g. 2025-01-01 2026-01-01

Written from the metric definitions (README "Metrics"), not from queries/: per district,
(district, street) and department it computes scored tickets, the four rates, the composite
score (re-normalised when a rate is missing) and the competition rank among units of the same
ranking group with at least 30 scored tickets, then compares every value with scores.csv. Needs `pip install duckdb`.
Exits 1 on any difference above 1e-9.
"""
import csv
import math
import os
import sys

import duckdb

archive, scores_csv, start, end = sys.argv[1:5]
src = os.path.join(archive, "**", "*.parquet") if os.path.isdir(archive) else archive
con = duckdb.connect()
con.execute("SET threads TO 2")
con.execute(f"CREATE VIEW tickets AS SELECT * FROM read_parquet('{src}', union_by_name=true)")

UNIT = {"district": ("district", "NULL"), "street": ("street", "district"), "department": ("department", "NULL")}
W = (0.10, 0.45, 0.45)
oracle = {}
for unit_type, (col, parent) in UNIT.items():
    rows = con.execute(f"""
        SELECT {col} AS unit, {parent} AS parent,
          count(*) AS scored,
          count(*) FILTER (WHERE responded_at IS NOT NULL AND responded_at <= dispatched_at +
              CASE WHEN urgency = 'emergency' THEN INTERVAL 2 HOUR ELSE INTERVAL 24 HOUR END) AS resp,
          count(*) FILTER (WHERE resolved) AS res_yes,
          count(resolved) AS res_n,
          count(*) FILTER (WHERE satisfaction IN ('satisfied', 'basically_satisfied')) AS sat_yes,
          count(*) FILTER (WHERE satisfaction IN ('satisfied', 'basically_satisfied', 'dissatisfied')) AS sat_n,
          count(*) FILTER (WHERE closed_at IS NOT NULL AND closed_at <= dispatched_at +
              CASE coalesce(urgency, 'general') WHEN 'emergency' THEN INTERVAL 2 HOUR
                   WHEN 'utility' THEN INTERVAL 24 HOUR WHEN 'complex' THEN INTERVAL 15 DAY
                   ELSE INTERVAL 7 DAY END) AS ontime
        FROM tickets
        WHERE dispatched_at IS NOT NULL AND excluded_reason IS NULL AND {col} IS NOT NULL
          AND received_at >= TIMESTAMP '{start}' AND received_at < TIMESTAMP '{end}'
        GROUP BY ALL
    """).fetchall()
    units = []
    for unit, par, scored, resp, ry, rn, sy, sn, ot in rows:
        rates = [resp / scored if scored else None, ry / rn if rn else None, sy / sn if sn else None]
        num = sum(w * r for w, r in zip(W, rates) if r is not None)
        den = sum(w for w, r in zip(W, rates) if r is not None)
        score = 100 * num / den if den else None
        units.append([unit, par, scored, *rates, ot / scored if scored else None, score, None])
    def group(name):
        # ranking groups within departments (README "Metrics"): street offices, enterprises, municipal
        if unit_type != "department":
            return unit_type
        if name.endswith("办事处") or name.endswith("人民政府"):
            return "street_office"
        return "enterprise" if ("集团" in name or "公司" in name) else "municipal"
    for g in {group(u[0]) for u in units}:
        ranked = sorted((u for u in units if group(u[0]) == g and u[7] is not None and u[2] >= 30),
                        key=lambda u: -u[7])
        for i, u in enumerate(ranked):
            u[8] = i + 1 if i == 0 or u[7] != ranked[i - 1][7] else ranked[i - 1][8]
    for u in units:
        oracle[(unit_type, u[0], u[1] or "")] = u

def num(s):
    return None if s == "" else float(s)

compared = mismatches = 0
worst = 0.0
seen = set()
with open(scores_csv, newline="") as f:
    for r in csv.DictReader(f):
        key = (r["unit_type"], r["unit"], r.get("parent", ""))
        if int(r["scored_tickets"]) == 0:
            continue  # units with tickets but nothing scored: not in the oracle's scored set
        seen.add(key)
        o = oracle.get(key)
        if o is None:
            print("only in scores.csv:", key); mismatches += 1; continue
        pairs = [("scored_tickets", float(o[2])), ("response_rate", o[3]), ("resolution_rate", o[4]),
                 ("satisfaction_rate", o[5]), ("on_time_rate", o[6]), ("score", o[7]),
                 ("rank", None if o[8] is None else float(o[8]))]
        for name, want in pairs:
            got = num(r[name])
            compared += 1
            if (got is None) != (want is None):
                print("null mismatch", key, name, got, want); mismatches += 1
            elif got is not None:
                tol = 1e-9 * (100 if name == "score" else 1)
                d = abs(got - want)
                worst = max(worst, d / (100 if name == "score" else 1))
                if d > tol or math.isnan(got):
                    print("value mismatch", key, name, got, want); mismatches += 1
missing = set(oracle) - seen
for k in sorted(missing):
    print("only in the oracle:", k); mismatches += 1
print(f"oracle: {len(seen)} units, {compared} values compared, {mismatches} mismatches, "
      f"largest difference {worst:.3g}")
sys.exit(1 if mismatches else 0)
