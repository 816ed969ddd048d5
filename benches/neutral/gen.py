#!/usr/bin/env python3
"""Generate a synthetic 12345-style archive in the canonical `tickets` schema (shared/spec.md) with DuckDB.

Independent of the project's own generator: a neutral workload for side-by-side timing and
an oracle data set whose distributions the project has not seen.
usage: gen.py ROWS OUT.parquet [YEAR] [SEED]
"""
import sys, duckdb, pathlib

rows = int(sys.argv[1]); out = sys.argv[2]
year = int(sys.argv[3]) if len(sys.argv) > 3 else 2025
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
tax = pathlib.Path(__file__).resolve().parents[2] / "data/taxonomy/category-taxonomy-3level.csv"  # hotline: the repo's copy
con = duckdb.connect()
con.execute("SET threads TO 2")
con.execute(f"CREATE TABLE tax AS SELECT row_number() OVER () - 1 AS k, * FROM read_csv('{tax}', header=true)")
ntax = con.execute("SELECT count(*) FROM tax").fetchone()[0]
districts = "东城区 西城区 朝阳区 海淀区 丰台区 石景山区 门头沟区 房山区 通州区 顺义区 昌平区 大兴区 怀柔区 平谷区 密云区 延庆区".split()
depts = ("市住房城乡建设委 市城市管理委 市规划自然资源委 市交通委 市水务局 市人力资源社会保障局 市市场监管局 "
         "市卫生健康委 市教委 市民政局 市生态环境局 市城管执法局 市公安局公安交通管理局 市热力集团 市燃气集团 "
         "国网北京市电力公司 市自来水集团 市排水集团 市园林绿化局 市医保局").split()
dl = "[" + ",".join(f"'{d}'" for d in districts) + "]"
pl = "[" + ",".join(f"'{d}'" for d in depts) + "]"
con.execute(f"""
COPY (
WITH base AS (
  SELECT i, hash(i + {seed} * 1000003) AS h1, hash(i * 7919 + {seed}) AS h2, hash(i * 104729 + {seed}) AS h3
  FROM range({rows}) t(i)
), t AS (
  SELECT *,
    TIMESTAMP '{year}-01-01' + to_seconds(CAST((h1 % 31536000) AS BIGINT)) AS recv,
    CAST(floor(pow((h1 >> 20) % 1000 / 1000.0, 1.6) * 16) AS INT) AS d,
    CAST((h2 >> 20) % 21 AS INT) AS s,
    CAST(floor(pow((h3 >> 20) % 1000 / 1000.0, 1.8) * 24) AS INT) AS p,
    CAST(floor(pow((h1 >> 30) % 10000 / 10000.0, 2.2) * {ntax}) AS INT) AS k,
    (h3 >> 8) % 100 AS typ, (h2 >> 8) % 100 AS urg, (h1 >> 50) % 1000 AS excl
  FROM base
)
SELECT
  'T{year}' || lpad(CAST(i AS VARCHAR), 9, '0') AS ticket_id,
  recv AS received_at,
  ['phone','phone','phone','phone','web','wechat','app','weibo'][1 + CAST(h2 % 8 AS INT)] AS channel,
  CASE WHEN typ < 55 THEN 'consultation' WHEN typ < 75 THEN 'help' WHEN typ < 88 THEN 'complaint'
       WHEN typ < 93 THEN 'report' WHEN typ < 99 THEN 'suggestion' ELSE 'praise' END AS request_type,
  tax."一级分类" AS category_l1, tax."二级分类" AS category_l2, tax."三级分类" AS category_l3,
  CASE WHEN urg < 2 THEN 'emergency' WHEN urg < 12 THEN 'utility' WHEN urg < 20 THEN 'complex'
       WHEN urg < 60 THEN 'general' END AS urgency,
  {dl}[1 + d] AS district,
  CASE WHEN s < 20 THEN {dl}[1 + d] || '第' || CAST(s + 1 AS VARCHAR) || '街道' END AS street,
  CASE WHEN typ >= 55 THEN CASE WHEN p < 20 THEN {pl}[1 + p] ELSE {dl}[1 + d] || '第' || CAST(s + 1 AS VARCHAR) || '街道办事处' END END AS department,
  CASE WHEN typ >= 55 THEN recv + to_seconds(CAST(60 + (h2 >> 12) % 600 AS BIGINT)) END AS dispatched_at,
  CASE WHEN typ >= 55 AND (h2 >> 30) % 1000 < 985 + d
       THEN recv + to_seconds(CAST(600 + pow(((h3 >> 10) % 10000) / 10000.0, 3) * 110000 AS BIGINT)) END AS responded_at,
  CASE WHEN typ >= 55 AND (h1 >> 34) % 100 < 95
       THEN recv + to_seconds(CAST(3600 + pow(((h3 >> 24) % 10000) / 10000.0, 2) * 1400000 AS BIGINT)) END AS closed_at,
  CASE WHEN typ >= 55 AND (h3 >> 30) % 100 < 82 THEN ((h1 >> 40) % 1000) < 930 + 3 * d - p END AS resolved,
  CASE WHEN typ >= 55 AND (h3 >> 30) % 100 < 80 THEN
       CASE WHEN (h2 >> 40) % 1000 < 880 + 2 * d - p THEN 'satisfied'
            WHEN (h2 >> 40) % 1000 < 950 THEN 'basically_satisfied' ELSE 'dissatisfied' END END AS satisfaction,
  CASE WHEN typ >= 55 AND excl < 12 THEN ['duplicate','invalid','out_of_scope','malicious','appeal_approved'][1 + CAST(excl % 5 AS INT)] END AS excluded_reason,
  'C' || CAST((h3 >> 36) % 5000000 AS VARCHAR) AS caller_id,
  '1' || lpad(CAST((h2 >> 20) % 10000000000 AS VARCHAR), 10, '0') AS caller_phone,
  tax."三级分类" || '问题反映' AS content
FROM t JOIN tax ON tax.k = t.k
) TO '{out}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
""")
print(con.execute(f"SELECT count(*), count(dispatched_at), min(received_at), max(received_at) FROM '{out}'").fetchall())
