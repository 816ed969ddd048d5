#!/usr/bin/env python3
"""Check hotline's scores.csv against an independent DuckDB computation of the metric definitions.

usage: oracle_check.py ARCHIVE SCORES.csv START END [--config hotline.toml] [--population FILE]
  ARCHIVE    a Parquet file or a folder (read recursively) in the canonical tickets schema
  START/END  the period as [START, END), e.g. 2025-01-01 2026-01-01
  --config   the hotline.toml the report ran with (default: the spec's default settings)
  --population  the population CSV (district,street,population); default: the builtin
                data/reference/population.csv, unless the config names another file

Written from the definitions in docs/metrics.md, not from queries/: per district,
(district, street) and department it computes volume, scored tickets, the four rates, the
composite score (re-normalised when a rate is missing), the competition rank among units of the
same ranking group with at least min_scored_tickets scored tickets, tickets per 1,000 residents
and the median / 90th percentile of the hours to respond and to close, then compares every value
with scores.csv. Needs `pip install duckdb` (Python 3.11+ for tomllib).
Exits 1 on any difference above 1e-9 (rates; score / 100; per-1000 and hours relative to size).
"""
import argparse
import csv
import math
import os
import sys
import tomllib

import duckdb

ap = argparse.ArgumentParser()
ap.add_argument("archive")
ap.add_argument("scores_csv")
ap.add_argument("start")
ap.add_argument("end")
ap.add_argument("--config")
ap.add_argument("--population")
a = ap.parse_args()

# ---- settings: the spec's defaults, overridden by the config file --------------------------
def duration(text):
    n, unit = int(text[:-1]), text[-1]
    return n * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]

cfg = {}
if a.config:
    with open(a.config, "rb") as f:
        cfg = tomllib.load(f)
resp = {"emergency": 7200, "utility": 86400, "general": 86400, "complex": 86400}
close = {"emergency": 7200, "utility": 86400, "general": 7 * 86400, "complex": 15 * 86400}
for k, v in cfg.get("response_deadline", {}).items():
    resp[k] = duration(v)
for k, v in cfg.get("close_limit", {}).items():
    close[k] = duration(v)
sat_w = {"satisfied": 1.0, "basically_satisfied": 1.0, "dissatisfied": 0.0}
sat_w.update(cfg.get("satisfaction_weights", {}))
weights = {t: (0.10, 0.45, 0.45) for t in ("district", "street", "department")}
for t, w in cfg.get("weights", {}).items():
    weights[t] = (w["response"], w["resolution"], w["satisfaction"])
min_scored = cfg.get("ranking", {}).get("min_scored_tickets", 30)
reasons = cfg.get("exclusions", {}).get("reasons",
                                       ["duplicate", "invalid", "out_of_scope", "malicious", "appeal_approved"])
here = os.path.dirname(os.path.abspath(__file__))
pop_file = a.population
if pop_file is None:
    f = cfg.get("population", {}).get("file", "builtin")
    if f == "builtin":
        pop_file = os.path.join(here, "..", "data", "reference", "population.csv")
    elif f:
        pop_file = os.path.join(os.path.dirname(os.path.abspath(a.config)), f)
population = {}
if pop_file:
    with open(pop_file, newline="", encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            population[(r["district"], r["street"] or None)] = int(r["population"])

# ---- the computation, straight from the definitions -----------------------------------------
src = os.path.join(a.archive, "**", "*.parquet") if os.path.isdir(a.archive) else a.archive
con = duckdb.connect()
con.execute("SET threads TO 2")
quoted = src.replace("'", "''")
con.execute(f"CREATE VIEW tickets AS SELECT * FROM read_parquet('{quoted}', union_by_name=true)")

def limit_sql(limits, col="urgency"):
    return ("CASE coalesce(urgency, 'general') "
            + " ".join(f"WHEN '{u}' THEN INTERVAL {s} SECOND" for u, s in limits.items() if u != "general")
            + f" ELSE INTERVAL {limits['general']} SECOND END")

reason_list = ", ".join(f"'{r}'" for r in reasons) or "NULL"
scored_sql = f"dispatched_at IS NOT NULL AND (excluded_reason IS NULL OR excluded_reason NOT IN ({reason_list}))"
UNIT = {"district": ("district", "NULL"), "street": ("street", "district"), "department": ("department", "NULL")}
# a due time from the source system (optional column due_at) replaces the closing limit
has_due = "due_at" in [r[0] for r in con.execute("DESCRIBE tickets").fetchall()]
due_sql = (f"coalesce(due_at, dispatched_at + {limit_sql(close)})" if has_due
           else f"dispatched_at + {limit_sql(close)}")
# no first-contact time on any scored ticket of the period and the year before it (an archive
# without that column, e.g. 311): the response rate is "not available", not 0
has_response = con.execute(f"""
    SELECT count(*) FROM tickets WHERE {scored_sql} AND responded_at IS NOT NULL
      AND received_at >= ?::TIMESTAMP - INTERVAL 1 YEAR AND received_at < ?::TIMESTAMP""", [a.start, a.end]).fetchone()[0] > 0
oracle = {}
for unit_type, (col, parent) in UNIT.items():
    rows = con.execute(f"""
        SELECT {col} AS unit, {parent} AS parent,
          count(*) AS tickets,
          count(*) FILTER (WHERE {scored_sql}) AS scored,
          count(*) FILTER (WHERE {scored_sql} AND responded_at <= dispatched_at + {limit_sql(resp)}) AS resp,
          count(*) FILTER (WHERE {scored_sql} AND resolved) AS res_yes,
          count(resolved) FILTER (WHERE {scored_sql}) AS res_n,
          count(*) FILTER (WHERE {scored_sql} AND satisfaction = 'satisfied') AS s1,
          count(*) FILTER (WHERE {scored_sql} AND satisfaction = 'basically_satisfied') AS s2,
          count(*) FILTER (WHERE {scored_sql} AND satisfaction = 'dissatisfied') AS s3,
          count(*) FILTER (WHERE {scored_sql} AND closed_at <= {due_sql}) AS ontime,
          quantile_cont(epoch(responded_at) - epoch(dispatched_at), 0.5)
            FILTER (WHERE {scored_sql} AND responded_at >= dispatched_at) / 3600 AS rm,
          quantile_cont(epoch(responded_at) - epoch(dispatched_at), 0.9)
            FILTER (WHERE {scored_sql} AND responded_at >= dispatched_at) / 3600 AS rp,
          quantile_cont(epoch(closed_at) - epoch(dispatched_at), 0.5)
            FILTER (WHERE {scored_sql} AND closed_at >= dispatched_at) / 3600 AS cm,
          quantile_cont(epoch(closed_at) - epoch(dispatched_at), 0.9)
            FILTER (WHERE {scored_sql} AND closed_at >= dispatched_at) / 3600 AS cp
        FROM tickets
        WHERE {col} IS NOT NULL AND received_at >= ?::TIMESTAMP AND received_at < ?::TIMESTAMP
        GROUP BY ALL
    """, [a.start, a.end]).fetchall()
    W = weights[unit_type]
    units = []
    for unit, par, tickets, scored, rs, ry, rn, s1, s2, s3, ot, rm, rp, cm, cp in rows:
        sn = s1 + s2 + s3
        sat = (s1 * sat_w["satisfied"] + s2 * sat_w["basically_satisfied"] + s3 * sat_w["dissatisfied"]) / sn if sn else None
        rates = [rs / scored if scored and has_response else None, ry / rn if rn else None, sat]
        num = sum(w * r for w, r in zip(W, rates) if r is not None)
        den = sum(w for w, r in zip(W, rates) if r is not None)
        score = 100 * num / den if den else None
        pop = population.get((unit, None) if unit_type == "district" else (par, unit)) if unit_type != "department" else None
        per_1000 = tickets / pop * 1000 if pop else None
        units.append({"unit": unit, "parent": par, "tickets": tickets, "scored_tickets": scored,
                      "response_rate": rates[0], "resolution_rate": rates[1], "satisfaction_rate": rates[2],
                      "on_time_rate": ot / scored if scored else None, "score": score, "rank": None,
                      "tickets_per_1000": per_1000, "respond_hours_median": rm, "respond_hours_p90": rp,
                      "close_hours_median": cm, "close_hours_p90": cp})

    def group(name):
        # ranking groups within departments (docs/metrics.md): street offices, enterprises, municipal
        if unit_type != "department":
            return unit_type
        if name.endswith("办事处") or name.endswith("人民政府"):
            return "street_office"
        return "enterprise" if ("集团" in name or "公司" in name) else "municipal"
    for g in {group(u["unit"]) for u in units}:
        ranked = sorted((u for u in units if group(u["unit"]) == g and u["score"] is not None
                         and u["scored_tickets"] >= min_scored), key=lambda u: -u["score"])
        for i, u in enumerate(ranked):
            same = i > 0 and u["score"] == ranked[i - 1]["score"]
            u["rank"] = ranked[i - 1]["rank"] if same else i + 1
    for u in units:
        oracle[(unit_type, u["unit"], u["parent"] or "")] = u

# ---- compare --------------------------------------------------------------------------------
def num(s):
    return None if s == "" else float(s)

COLUMNS = ["tickets", "scored_tickets", "response_rate", "resolution_rate", "satisfaction_rate", "on_time_rate",
           "score", "rank", "tickets_per_1000", "respond_hours_median", "respond_hours_p90",
           "close_hours_median", "close_hours_p90"]
RELATIVE = {"tickets_per_1000", "respond_hours_median", "respond_hours_p90", "close_hours_median", "close_hours_p90"}
compared = mismatches = 0
worst = 0.0
seen = set()
with open(a.scores_csv, newline="") as f:
    for r in csv.DictReader(f):
        key = (r["unit_type"], r["unit"], r.get("parent", ""))
        seen.add(key)
        o = oracle.get(key)
        if o is None:
            print("only in scores.csv:", key); mismatches += 1; continue
        for name in COLUMNS:
            got, want = num(r[name]), o[name]
            compared += 1
            if (got is None) != (want is None):
                print("null mismatch", key, name, got, want); mismatches += 1
            elif got is not None:
                scale = 100 if name == "score" else max(1.0, abs(want)) if name in RELATIVE else 1
                d = abs(got - want) / scale
                worst = max(worst, d)
                if d > 1e-9 or math.isnan(got):
                    print("value mismatch", key, name, got, want); mismatches += 1
for k in sorted(set(oracle) - seen):
    print("only in the oracle:", k); mismatches += 1
print(f"oracle: {len(seen)} units, {compared} values compared, {mismatches} mismatches, "
      f"largest difference {worst:.3g}")
sys.exit(1 if mismatches else 0)
