//! `hotline import` with the real 311 samples and a GBK export, and `hotline check` / the
//! report's refusal on an error-level check.

use std::path::{Path, PathBuf};

use crate::common::*;

const REAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn sql(archive: &Path, q: &str) -> String {
    let o = hotline(&["sql", "--archive", s(archive), "--format", "csv", q]);
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn boston_imports_reconciles_reimports_to_nothing_and_renders_in_english() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("boston");
    let src = PathBuf::from(REAL).join("boston311_2022-01_100rows.csv");
    let o = hotline(&["import", s(&src), "--mapping", "boston311", "--archive", s(&archive)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("read 100 = accepted 100 (new 100, replacing 0) + quarantined 0 + duplicates 0"),
        "{}",
        stderr(&o)
    );
    // every case is there once, with its Boston neighbourhood as the district
    assert_eq!(
        sql(&archive, "SELECT count(*) AS n, count(DISTINCT ticket_id) AS ids FROM tickets"),
        "n,ids\n100,100\n"
    );
    assert!(sql(&archive, "SELECT DISTINCT district FROM tickets ORDER BY 1").contains("Dorchester"));
    assert!(files_with_plain_ids(&archive) > 0);
    // no citizen follow-up in 311: resolved and satisfaction are empty, never false or 0
    assert_eq!(sql(&archive, "SELECT count(resolved) AS r, count(satisfaction) AS s FROM tickets"), "r,s\n0,0\n");

    let before = tree_snapshot(&archive);
    let o = hotline(&["import", s(&src), "--mapping", "boston311", "--archive", s(&archive)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("read 100 = accepted 0 (new 0, replacing 0) + quarantined 0 + duplicates 100"),
        "{}",
        stderr(&o)
    );
    assert_eq!(tree_snapshot(&archive), before, "re-importing changed the archive");

    // an English report renders from it; rates without data print as "—", not 0
    let config = dir.path().join("boston.toml");
    std::fs::write(&config, "[city]\nname = \"Boston\"\nname_en = \"Boston\"\ntime_zone = \"America/New_York\"\n\n[population]\nfile = \"\"\n").unwrap();
    let out = dir.path().join("out");
    let o = hotline(&[
        "report",
        "--period",
        "2022-01",
        "--archive",
        s(&archive),
        "--out",
        s(&out),
        "--lang",
        "en",
        "--config",
        s(&config),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = pdftotext(&out.join("2022-01/report.pdf"));
    assert!(text.contains("Boston 12345") || text.contains("Boston"), "{text}");
    assert!(text.contains("received 100 calls"), "{text}");
    assert!(text.contains("the response rate was —, the resolution rate —, the satisfaction"), "{text}");
    // the cases' target_dt became due_at: on-time closing is judged against it, and labelled a proxy
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("on-time closing rate (proxy)"), "{flat}");
    assert!(flat.contains("On-time closing rate (proxy):"), "{flat}");
    assert!(flat.contains("due time from the source system: due_at"), "{flat}");
}

/// A 311 due date makes on-time closing "closed by the due date" (a proxy), computed by hand:
/// four requests in one borough, all dispatched on creation (scored = 4):
///   1 closed 2 h before its due date      → on time
///   2 closed 1 h after its due date       → late
///   3 still open                          → not on time
///   4 no due date, closed after 3 days    → judged by the 7-day general limit: on time
/// on-time rate = 2 / 4 = 0.5 (the 12345 limit alone would give 3 / 4: request 2 closed in a day)
#[test]
fn a_311_due_date_gives_a_proxy_on_time_rate() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("nyc.csv");
    std::fs::write(
        &src,
        "Unique Key,Created Date,Closed Date,Agency,Complaint Type,Descriptor,Location Type,Due Date,Community Board,Borough,Open Data Channel Type\n\
         1,05/02/2022 09:00:00 AM,05/03/2022 08:00:00 AM,DOT,Street Condition,Pothole,Street,05/03/2022 10:00:00 AM,01 BRONX,BRONX,PHONE\n\
         2,05/02/2022 09:00:00 AM,05/03/2022 11:00:00 AM,DOT,Street Condition,Pothole,Street,05/03/2022 10:00:00 AM,01 BRONX,BRONX,PHONE\n\
         3,05/02/2022 09:00:00 AM,,DOT,Street Condition,Pothole,Street,05/03/2022 10:00:00 AM,01 BRONX,BRONX,PHONE\n\
         4,05/02/2022 09:00:00 AM,05/05/2022 09:00:00 AM,DOT,Street Condition,Pothole,Street,,01 BRONX,BRONX,PHONE\n",
    )
    .unwrap();
    let archive = dir.path().join("archive");
    let o = hotline(&["import", s(&src), "--mapping", "nyc311", "--archive", s(&archive)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let config = dir.path().join("nyc.toml");
    std::fs::write(&config, "[city]\nname = \"NYC\"\nname_en = \"New York\"\n\n[population]\nfile = \"\"\n\n[ranking]\nmin_scored_tickets = 1\n").unwrap();
    let out = dir.path().join("out");
    for engine in ["scan", "sql"] {
        let o = hotline(&[
            "report",
            "--period",
            "2022-05",
            "--archive",
            s(&archive),
            "--out",
            s(&out),
            "--config",
            s(&config),
            "--lang",
            "en",
            "--no-pdf",
            "--engine",
            engine,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let rows = read_scores(&out.join("2022-05/scores.csv"));
        let bronx = rows.iter().find(|r| r["unit_type"] == "district" && r["unit"] == "BRONX").expect("BRONX");
        assert_eq!(bronx["scored_tickets"], "4");
        assert_eq!(bronx["on_time_rate"].parse::<f64>().unwrap(), 0.5, "engine {engine}");
        // the manifest says which engine read the tickets
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("2022-05/manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["run"]["engine"], engine);
    }
}

#[test]
fn nyc_bad_rows_land_in_quarantine_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let real = std::fs::read_to_string(PathBuf::from(REAL).join("nyc311_2022-05-01_night_924rows.csv")).unwrap();
    let mut lines: Vec<String> = real.lines().map(str::to_string).collect();
    let first = lines[1].clone(); // Unique Key 54049402, created 05/01/2022 12:00:03 AM
    let swap = |from: &str, to: &str| first.replacen(from, to, 1);
    lines.push(first.clone()); // an identical copy: a duplicate
    lines.push(swap("54049402,05/01/2022 12:00:03 AM", "99000001,not a date")); // unreadable time
    lines.push(swap("54049402,05/01/2022 12:00:03 AM,", "99000002,05/01/2022 12:00:03 AM,04/30/2022 11:00:00 PM")); // closed before created
    lines.push(swap("54049402,", ",")); // no Unique Key
    let src = dir.path().join("nyc.csv");
    std::fs::write(&src, lines.join("\n") + "\n").unwrap();
    let archive = dir.path().join("nyc");
    let quarantine = dir.path().join("rejected.csv");
    let o =
        hotline(&["import", s(&src), "--mapping", "nyc311", "--archive", s(&archive), "--quarantine", s(&quarantine)]);
    assert!(o.status.success(), "{}", stderr(&o));
    // 924 real rows + 4 added = 928 = 924 accepted + 3 quarantined + 1 duplicate
    assert!(
        stderr(&o).contains("read 928 = accepted 924 (new 924, replacing 0) + quarantined 3 + duplicates 1"),
        "{}",
        stderr(&o)
    );
    let q = read_scores(&quarantine);
    assert_eq!(q.len(), 3);
    let by_line = |l: &str| q.iter().find(|r| r["line"] == l).unwrap_or_else(|| panic!("no line {l} in {q:?}"));
    // the header is line 1, so the 924 real rows are lines 2–925 and the copy is 926
    assert_eq!(by_line("927")["column"], "received_at");
    assert!(by_line("927")["reason"].contains("cannot read `not a date` as a time"));
    assert_eq!(by_line("928")["column"], "closed_at");
    assert!(by_line("928")["reason"].contains("before received_at"));
    assert_eq!(by_line("929")["column"], "ticket_id");
    assert!(by_line("929")["reason"].contains("required value missing (source column `Unique Key`)"));
    assert!(q.iter().all(|r| r["source_file"].ends_with("nyc.csv") && r["record"].contains("Complaint Type")));
    assert_eq!(sql(&archive, "SELECT count(*) AS n FROM tickets"), "n\n924\n");
}

#[test]
fn a_gbk_export_with_chinese_headers_imports_without_a_garbled_character() {
    let dir = tempfile::tempdir().unwrap();
    let text = "工单编号,受理时间,受理渠道,诉求类型,一级分类,二级分类,三级分类,紧急程度,所属区,街道乡镇,承办单位,派单时间,首次联系时间,办结时间,是否解决,回访结果,剔除原因,来电人编号,来电号码,诉求内容\n\
        BJ001,2025-03-01 09:30:00,电话,投诉,城乡建设,住房保障与房地产,物业服务,一般,朝阳区,八里庄街道,八里庄街道办事处,2025-03-01 09:40:00,2025-03-01 10:00:00,2025-03-02 10:00:00,是,满意,,C1,13800001111,楼道堆物噪音扰民\n\
        BJ002,2025/03/02 10:00:00,微信,求助,环境保护,环境污染,噪声污染,紧急,海淀区,八里庄街道,市生态环境局,2025/03/02 10:05:00,,2100-01-01 00:00:00,否,不满意,重复,C2,13900002222,夜间施工噪声\n";
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    let src = dir.path().join("export.csv");
    std::fs::write(&src, &gbk).unwrap();
    let archive = dir.path().join("archive");
    let o = hotline(&["import", s(&src), "--mapping", "beijing-zh", "--archive", s(&archive)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("(CSV, GB18030)"), "{}", stderr(&o));
    assert!(stderr(&o).contains("read 2 = accepted 2"), "{}", stderr(&o));
    let got = sql(
        &archive,
        "SELECT ticket_id, channel, request_type, category_l3, urgency, district, street, department, resolved, satisfaction, excluded_reason, closed_at FROM tickets ORDER BY ticket_id",
    );
    assert_eq!(
        got,
        "ticket_id,channel,request_type,category_l3,urgency,district,street,department,resolved,satisfaction,excluded_reason,closed_at\n\
         BJ001,phone,complaint,物业服务,general,朝阳区,八里庄街道,八里庄街道办事处,true,satisfied,,2025-03-02T10:00:00\n\
         BJ002,wechat,help,噪声污染,emergency,海淀区,八里庄街道,市生态环境局,false,dissatisfied,duplicate,\n"
    );
    let content = hotline(&[
        "sql",
        "--archive",
        s(&archive),
        "--allow-personal-data",
        "--format",
        "csv",
        "SELECT content FROM tickets ORDER BY ticket_id",
    ]);
    assert_eq!(stdout(&content), "content\n楼道堆物噪音扰民\n夜间施工噪声\n");
}

/// unknown_districts names each district the population table (the built-in one: Beijing's 16)
/// does not know, with its tickets, busiest first; a known district is not named.
#[test]
fn districts_outside_the_population_table_are_named_with_their_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let mut v = Vec::new();
    for (i, d) in ["东城区", "东城区", "甲区", "甲区", "甲区", "乙区"].iter().enumerate() {
        v.push(ticket(&format!("t{i}"), d));
    }
    write_archive(&archive, "t.parquet", &v);
    let o = hotline(&["check", "--archive", s(&archive), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap_or_else(|_| panic!("{}", stderr(&o)));
    let c = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "unknown_districts").unwrap();
    // two districts fail: 甲区 with 3 tickets, then 乙区 with 1
    assert_eq!(c["failing"], 2, "{c}");
    let examples: Vec<&str> = c["examples"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert_eq!(examples, ["district=甲区, tickets=3", "district=乙区, tickets=1"]);
}

#[test]
fn an_error_level_check_stops_the_report_and_names_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let mut a = ticket("dup-1", "甲区");
    a.received = at(2025, 8, 1, 9, 0, 0);
    write_archive(&archive, "a.parquet", &[a.clone()]);
    write_archive(&archive, "b.parquet", &[a]);
    let o = hotline(&["check", "--archive", s(&archive), "--format", "json"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["errors"], 1);
    assert_eq!(v["rows"], 2);
    let dup = v["checks"].as_array().unwrap().iter().find(|c| c["name"] == "duplicate_ticket_id").unwrap();
    assert_eq!((dup["failing"].as_i64(), dup["severity"].as_str()), (Some(1), Some("error")));

    let out = dir.path().join("out");
    let o = hotline(&["report", "--period", "2025Q3", "--archive", s(&archive), "--out", s(&out), "--no-pdf"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("data check `duplicate_ticket_id` failed (1 rows"), "{err}");
    assert!(err.contains("ticket_id=dup-1, copies=2"), "{err}");
    assert!(!out.join("2025Q3").exists(), "a report was published");
}

#[test]
fn xlsx_and_json_lines_import_through_their_presets() {
    let dir = tempfile::tempdir().unwrap();
    // an Excel export with Chinese headers; the time cells are real Excel dates
    let xlsx = dir.path().join("export.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let headers = ["工单编号", "受理时间", "诉求类型", "一级分类", "所属区", "回访结果"];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let fmt = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let when = rust_xlsxwriter::ExcelDateTime::from_ymd(2025, 4, 2).unwrap().and_hms(8, 15, 0).unwrap();
    ws.write_string(1, 0, "X1").unwrap();
    ws.write_datetime_with_format(1, 1, &when, &fmt).unwrap();
    for (c, v) in [(2, "咨询"), (3, "民政"), (4, "西城区"), (5, "满意")] {
        ws.write_string(1, c, v).unwrap();
    }
    wb.save(&xlsx).unwrap();
    let mapping = dir.path().join("mini.toml");
    std::fs::write(
        &mapping,
        "[columns]\nticket_id = \"工单编号\"\nreceived_at = \"受理时间\"\nrequest_type = \"诉求类型\"\ncategory_l1 = \"一级分类\"\ndistrict = \"所属区\"\nsatisfaction = \"回访结果\"\n\n[values.request_type]\n\"咨询\" = \"consultation\"\n\n[values.satisfaction]\n\"满意\" = \"satisfied\"\n",
    )
    .unwrap();
    let archive = dir.path().join("archive");
    let o = hotline(&["import", s(&xlsx), "--mapping", s(&mapping), "--archive", s(&archive)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("(XLSX, sheet Sheet1)"), "{}", stderr(&o));

    // Open311 JSON lines: ISO 8601 times with an offset keep their wall-clock time
    let jsonl = dir.path().join("open311.jsonl");
    std::fs::write(
        &jsonl,
        "{\"service_request_id\": \"638344\", \"requested_datetime\": \"2025-04-03T17:12:10-04:00\", \"service_name\": \"Pothole\", \"service_code\": 21, \"agency_responsible\": \"DPW\", \"description\": \"deep hole\"}\n",
    )
    .unwrap();
    let o = hotline(&["import", s(&jsonl), "--mapping", "open311", "--archive", s(&archive)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        sql(
            &archive,
            "SELECT ticket_id, received_at, request_type, category_l1, category_l2, district, satisfaction FROM tickets ORDER BY ticket_id"
        ),
        "ticket_id,received_at,request_type,category_l1,category_l2,district,satisfaction\n\
         638344,2025-04-03T17:12:10,help,Pothole,21,Unspecified,\n\
         X1,2025-04-02T08:15:00,consultation,民政,,西城区,satisfied\n"
    );
    // both months' partitions exist in the archive's layout
    assert!(archive.join("year=2025/month=04/part-0.parquet").is_file());
}

/// A quote that is never closed (line 4) and a byte that is not UTF-8 (line 10) cost their own
/// rows only: both are quarantined with the line and the reason (the byte with its offset), the
/// 48 other rows import, and the archive gets a manifest that `check` verifies.
#[test]
fn a_broken_quote_and_a_bad_byte_cost_their_own_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let header = "工单编号,受理时间,受理渠道,诉求类型,一级分类,二级分类,三级分类,紧急程度,所属区,街道乡镇,承办单位,派单时间,首次联系时间,办结时间,是否解决,回访结果,剔除原因,来电人编号,来电号码,诉求内容";
    let mut lines: Vec<Vec<u8>> = vec![header.as_bytes().to_vec()];
    for i in 1..=50 {
        let content = match i {
            3 => "\"楼道堆物噪音扰民".to_string(), // line 4: a quote opened and never closed
            _ => format!("诉求{i}"),
        };
        let row = format!(
            "BJ{i:03},2025-03-01 09:30:00,电话,投诉,城乡建设,住房保障与房地产,物业服务,一般,朝阳区,八里庄街道,八里庄街道办事处,2025-03-01 09:40:00,2025-03-01 10:00:00,2025-03-02 10:00:00,是,满意,,C{i},13800001111,{content}"
        );
        let mut bytes = row.into_bytes();
        if i == 9 {
            bytes.push(0xFF); // line 10: one byte that is not UTF-8 at the end of the content
        }
        lines.push(bytes);
    }
    // the byte offset where line 10 starts: the 9 lines before it and their newlines
    let line10: usize = lines[..9].iter().map(|l| l.len() + 1).sum();
    let src = dir.path().join("export.csv");
    let mut bytes = lines.join(&b'\n');
    bytes.push(b'\n');
    std::fs::write(&src, bytes).unwrap();
    let archive = dir.path().join("archive");
    let quarantine = dir.path().join("rejected.csv");
    let o = hotline(&[
        "import",
        s(&src),
        "--mapping",
        "beijing-zh",
        "--archive",
        s(&archive),
        "--quarantine",
        s(&quarantine),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("(CSV, UTF-8)"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("read 50 = accepted 48 (new 48, replacing 0) + quarantined 2 + duplicates 0"),
        "{}",
        stderr(&o)
    );
    let q = read_scores(&quarantine);
    let lines_and_reasons: Vec<(String, String)> = q.iter().map(|r| (r["line"].clone(), r["reason"].clone())).collect();
    assert_eq!(
        lines_and_reasons,
        vec![
            (
                "4".to_string(),
                "a quote is not closed on its line; the 47 lines after it were read on their own".to_string()
            ),
            ("10".to_string(), format!("bytes that are not valid UTF-8; line 10, from byte {line10} of the file")),
        ]
    );
    assert_eq!(sql(&archive, "SELECT count(*) AS n, max(ticket_id) AS last FROM tickets"), "n,last\n48,BJ050\n");
    // the import wrote the archive's manifest; check verifies it without a warning
    assert!(archive.join("manifest.json").is_file());
    let o = hotline(&["check", "--archive", s(&archive)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("manifest"), "{}", stderr(&o));
}

/// An Excel export whose time column mixes real date cells with text: the date cell is taken as
/// the time it is, and only the text is read with the mapping's formats (here only `2025/04/02
/// 09:00`-style ones, which a date cell's `2025-04-02 08:15:00` would not match).
#[test]
fn xlsx_date_cells_are_times_and_text_cells_use_the_formats() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("export.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["工单编号", "受理时间", "诉求类型", "一级分类", "所属区"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    let fmt = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let when = rust_xlsxwriter::ExcelDateTime::from_ymd(2025, 4, 2).unwrap().and_hms(8, 15, 20).unwrap();
    ws.write_string(1, 0, "D1").unwrap();
    ws.write_datetime_with_format(1, 1, &when, &fmt).unwrap();
    ws.write_string(2, 0, "T1").unwrap();
    ws.write_string(2, 1, "2025/04/02 09:00").unwrap();
    ws.write_string(3, 0, "T2").unwrap();
    ws.write_string(3, 1, "2025-04-02 10:00:00").unwrap(); // text in a format the mapping does not list
    for r in 1..=3 {
        for (c, v) in [(2, "咨询"), (3, "民政"), (4, "西城区")] {
            ws.write_string(r, c, v).unwrap();
        }
    }
    wb.save(&xlsx).unwrap();
    let mapping = dir.path().join("mini.toml");
    std::fs::write(
        &mapping,
        "[source]\ntimestamp_formats = [\"%Y/%m/%d %H:%M\"]\n\n[columns]\nticket_id = \"工单编号\"\nreceived_at = \"受理时间\"\nrequest_type = \"诉求类型\"\ncategory_l1 = \"一级分类\"\ndistrict = \"所属区\"\n\n[values.request_type]\n\"咨询\" = \"consultation\"\n",
    )
    .unwrap();
    let archive = dir.path().join("archive");
    let quarantine = dir.path().join("rejected.csv");
    let o = hotline(&[
        "import",
        s(&xlsx),
        "--mapping",
        s(&mapping),
        "--archive",
        s(&archive),
        "--quarantine",
        s(&quarantine),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("read 3 = accepted 2 (new 2, replacing 0) + quarantined 1 + duplicates 0"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        sql(&archive, "SELECT ticket_id, received_at FROM tickets ORDER BY ticket_id"),
        "ticket_id,received_at\nD1,2025-04-02T08:15:20\nT1,2025-04-02T09:00:00\n"
    );
    let q = read_scores(&quarantine);
    assert_eq!(q.len(), 1);
    assert_eq!((q[0]["line"].as_str(), q[0]["column"].as_str()), ("4", "received_at"));
    assert!(q[0]["reason"].contains("cannot read `2025-04-02 10:00:00` as a time"), "{:?}", q[0]);
}

/// `[extract]`: a "message the mayor" export carries the district only inside its subject line.
/// The first capture group of the pattern becomes the district; a subject without one falls back
/// to `[defaults]`; a subject field that is empty too leaves the required district missing only
/// when there is no default (second mapping).
#[test]
fn extract_takes_a_column_from_a_subject_line() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("messages.csv");
    std::fs::write(
        &src,
        "编号,留言时间,留言主题\n\
         M1,2025-05-06 10:00:00,A2区景蓉华苑物业管理有问题\n\
         M2,2025-05-06 11:00:00,关于A13区公交线路的建议\n\
         M3,2025-05-07 09:30:00,小区噪音扰民\n",
    )
    .unwrap();
    let base = "[columns]\nticket_id = \"编号\"\nreceived_at = \"留言时间\"\ncontent = \"留言主题\"\n\n[constants]\nrequest_type = \"suggestion\"\ncategory_l1 = \"留言\"\n\n[extract]\ndistrict = { from = \"留言主题\", pattern = \"(A\\\\d+区)\" }\n";
    let mapping = dir.path().join("mayor.toml");
    std::fs::write(&mapping, format!("{base}\n[defaults]\ndistrict = \"未注明\"\n")).unwrap();
    let archive = dir.path().join("archive");
    let o = hotline(&["import", s(&src), "--mapping", s(&mapping), "--archive", s(&archive)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        sql(&archive, "SELECT ticket_id, district FROM tickets ORDER BY ticket_id"),
        "ticket_id,district\nM1,A2区\nM2,A13区\nM3,未注明\n"
    );
    // without a default, the message without a district is quarantined, naming the column
    let strict = dir.path().join("strict.toml");
    std::fs::write(&strict, base).unwrap();
    let quarantine = dir.path().join("rejected.csv");
    let o = hotline(&[
        "import",
        s(&src),
        "--mapping",
        s(&strict),
        "--archive",
        s(&dir.path().join("strict")),
        "--quarantine",
        s(&quarantine),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("accepted 2 (new 2, replacing 0) + quarantined 1"), "{}", stderr(&o));
    let q = read_scores(&quarantine);
    assert_eq!((q[0]["line"].as_str(), q[0]["column"].as_str()), ("4", "district"));
    // a source column that the export lacks is named, like a mapped one
    std::fs::write(&src, "编号,留言时间,标题\nM1,2025-05-06 10:00:00,A2区\n").unwrap();
    let o = hotline(&["import", s(&src), "--mapping", s(&strict), "--archive", s(&dir.path().join("x"))]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no column `留言主题` (mapped to district"), "{}", stderr(&o));
}

/// Reconciliation on random exports: rows that are good, bad in one of several ways, repeated
/// unchanged or changed, in two files imported one after the other. What the test expects is
/// counted as it writes the rows, independently of the import:
///   first import:  read = rows written; quarantined = bad rows; duplicates = repeats;
///                  accepted = distinct good ids
///   second import: a re-sent copy of some archived tickets (duplicates), some changed ones
///                  (replacing), some new ones; archive = all distinct ids, each as last sent
#[test]
fn every_row_is_accounted_for_on_random_exports() {
    let header = "ticket_id,received_at,channel,request_type,category_l1,district,satisfaction";
    for seed in 1..=6u64 {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut next = |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let sats = ["satisfied", "basically_satisfied", "dissatisfied"];
        let mut lines = vec![header.to_string()];
        let mut last: std::collections::BTreeMap<String, String> = Default::default(); // id → satisfaction as last sent
        let (mut bad, mut repeats) = (0u64, 0u64);
        let rows = 200 + next(200);
        for i in 0..rows {
            let kind = next(10);
            let id = if kind >= 8 && !last.is_empty() {
                // a repeat of an earlier good id, unchanged or with another satisfaction
                let k = next(last.len() as u64) as usize;
                last.keys().nth(k).unwrap().clone()
            } else {
                format!("S{seed}-{i:05}")
            };
            let day = 1 + next(28);
            let month = 1 + next(3);
            let sat = if kind == 9 {
                sats[next(3) as usize]
            } else {
                last.get(&id).map(|s| s.as_str()).unwrap_or("satisfied")
            };
            let sat = sat.to_string();
            let line = match kind {
                0 => {
                    bad += 1;
                    format!("{id},2025-{month:02}-{day:02} 08:00:00,fax,help,市政,东城区,{sat}") // unknown channel
                }
                1 => {
                    bad += 1;
                    format!("{id},someday,phone,help,市政,东城区,{sat}") // no time
                }
                2 => {
                    bad += 1;
                    format!("{id},2025-{month:02}-{day:02} 08:00:00,phone,help,市政") // fields missing
                }
                _ => {
                    if last.contains_key(&id) {
                        repeats += 1;
                        // a repeat keeps its received_at so that it stays in its month
                        let first = lines.iter().find(|l| l.starts_with(&format!("{id},"))).unwrap().clone();
                        let mut f: Vec<String> = first.split(',').map(str::to_string).collect();
                        f[6] = sat.clone();
                        last.insert(id.clone(), sat);
                        f.join(",")
                    } else {
                        last.insert(id.clone(), sat.clone());
                        format!("{id},2025-{month:02}-{day:02} 0{}:00:00,phone,help,市政,东城区,{sat}", next(10))
                    }
                }
            };
            lines.push(line);
        }
        let a = dir.path().join("a.csv");
        std::fs::write(&a, lines.join("\n") + "\n").unwrap();
        let archive = dir.path().join("archive");
        let quarantine = dir.path().join("q.csv");
        let run = |file: &Path| {
            let o = hotline(&[
                "import",
                s(file),
                "--mapping",
                "canonical",
                "--archive",
                s(&archive),
                "--quarantine",
                s(&quarantine),
            ]);
            assert!(o.status.success(), "seed {seed}: {}", stderr(&o));
            stderr(&o)
        };
        let err = run(&a);
        let good = last.len() as u64;
        let expected = format!(
            "read {rows} = accepted {good} (new {good}, replacing 0) + quarantined {bad} + duplicates {repeats}"
        );
        assert!(err.contains(&expected), "seed {seed}: expected {expected}\n{err}");
        assert_eq!(read_scores(&quarantine).len() as u64, bad, "seed {seed}");

        // the second file: every fourth archived ticket re-sent unchanged, every fourth changed,
        // and 20 new ones
        let mut second = vec![header.to_string()];
        let (mut same, mut changed) = (0u64, 0u64);
        for (k, (id, sat)) in last.clone().iter().enumerate() {
            let first = lines.iter().find(|l| l.starts_with(&format!("{id},")) && !l.contains("fax")).unwrap();
            let mut f: Vec<String> = first.split(',').map(str::to_string).collect();
            if f.len() != 7 || f[1] == "someday" {
                continue;
            }
            match k % 4 {
                0 => {
                    f[6] = sat.clone();
                    same += 1;
                }
                1 => {
                    let other = sats.iter().find(|s| *s != sat).unwrap().to_string();
                    f[6] = other.clone();
                    last.insert(id.clone(), other);
                    changed += 1;
                }
                _ => continue,
            }
            second.push(f.join(","));
        }
        for j in 0..20 {
            let id = format!("N{seed}-{j}");
            second.push(format!("{id},2025-04-0{} 12:00:00,web,help,市政,西城区,satisfied", 1 + j % 9));
            last.insert(id, "satisfied".into());
        }
        let b = dir.path().join("b.csv");
        std::fs::write(&b, second.join("\n") + "\n").unwrap();
        let err = run(&b);
        let read = same + changed + 20;
        let expected = format!(
            "read {read} = accepted {} (new 20, replacing {changed}) + quarantined 0 + duplicates {same}",
            changed + 20
        );
        assert!(err.contains(&expected), "seed {seed}: expected {expected}\n{err}");
        let want: String = last.iter().map(|(id, sat)| format!("{id},{sat}\n")).collect();
        assert_eq!(
            sql(&archive, "SELECT ticket_id, satisfaction FROM tickets ORDER BY ticket_id"),
            format!("ticket_id,satisfaction\n{want}"),
            "seed {seed}"
        );
    }
}
