use super::*;

#[test]
fn stems_are_safe_everywhere() {
    assert_eq!(safe_stem("东城区"), "东城区");
    assert_eq!(safe_stem("a/b\\c:d*e?f\"g<h>i|j"), "a_b_c_d_e_f_g_h_i_j");
    assert_eq!(safe_stem("../etc/passwd"), "_._etc_passwd");
    assert_eq!(safe_stem(".hidden"), "_hidden");
    assert_eq!(safe_stem("name. "), "name");
    assert_eq!(safe_stem("CON"), "_CON");
    assert_eq!(safe_stem("com1.txt"), "_com1.txt");
    assert_eq!(safe_stem("COM10"), "COM10");
    assert_eq!(safe_stem(""), "_");
    assert_eq!(safe_stem("line\nbreak\u{0}"), "line_break_");
    assert_eq!(safe_stem("#read(\"/etc/passwd\")"), "#read(__etc_passwd_)");
    let long = "街".repeat(100); // 300 bytes → cut at a char boundary ≤ 120 bytes
    let s = safe_stem(&long);
    assert_eq!(s.len(), 120);
    assert!(s.chars().all(|c| c == '街'));
}

#[test]
fn file_names_never_collide() {
    let names = file_names(&[
        ("street", "八里庄街道", Some("朝阳区")),
        ("street", "八里庄街道", Some("海淀区")),
        ("department", "a/b", None),
        ("department", "a_b", None),
        ("department", "A_B", None),
        ("district", "a_b", None),
    ]);
    assert_eq!(names[0], "street/朝阳区_八里庄街道.pdf");
    assert_eq!(names[1], "street/海淀区_八里庄街道.pdf");
    assert_eq!(names[2], "department/a_b.pdf");
    assert!(names[3].starts_with("department/a_b~") && names[3].ends_with(".pdf"));
    assert!(names[4].starts_with("department/A_B~"));
    assert_ne!(names[3], names[4]);
    assert_eq!(names[5], "district/a_b.pdf");
}

#[test]
fn unit_types_parse_in_a_fixed_order() {
    assert_eq!(parse_unit_types("department,district").unwrap(), ["district", "department"]);
    assert_eq!(parse_unit_types("all").unwrap(), ["district", "street", "department"]);
    assert_eq!(parse_unit_types("streets").unwrap(), ["street"]);
    assert!(parse_unit_types("city").unwrap_err().contains("unknown unit type `city`"));
    assert!(parse_unit_types(" , ").is_err());
}
