//! Reference data compiled into the binary: Beijing's districts and streets, and the
//! 3-level category taxonomy (see data/README.md for sources).

pub const DISTRICTS_CSV: &str = include_str!("../data/reference/districts.csv");
pub const STREETS_CSV: &str = include_str!("../data/reference/streets.csv");
pub const TAXONOMY_CSV: &str = include_str!("../data/taxonomy/category-taxonomy-3level.csv");

#[derive(Debug, Clone)]
pub struct District {
    /// GB/T 2260 code
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub population: u64,
    pub area_km2: f64,
    /// core, central, new-development, ecological
    pub kind: String,
}

#[derive(Debug, Clone)]
pub struct Street {
    pub district: String,
    pub name: String,
    /// 街道, 镇, 乡, 民族乡
    pub kind: String,
}

#[derive(Debug, Clone)]
pub struct Category {
    pub l1: String,
    pub l2: String,
    pub l3: String,
}

fn rows(csv_text: &str) -> Vec<csv::StringRecord> {
    csv::Reader::from_reader(csv_text.as_bytes())
        .records()
        .map(|r| r.expect("embedded reference CSV is valid"))
        .collect()
}

pub fn districts() -> Vec<District> {
    rows(DISTRICTS_CSV)
        .iter()
        .map(|r| District {
            code: r[0].to_string(),
            name: r[1].to_string(),
            name_en: r[2].to_string(),
            population: r[3].parse().expect("population"),
            area_km2: r[4].parse().expect("area"),
            kind: r[5].to_string(),
        })
        .collect()
}

pub fn streets() -> Vec<Street> {
    rows(STREETS_CSV)
        .iter()
        .map(|r| Street { district: r[0].to_string(), name: r[1].to_string(), kind: r[2].to_string() })
        .collect()
}

pub fn categories() -> Vec<Category> {
    rows(TAXONOMY_CSV)
        .iter()
        .map(|r| Category { l1: r[0].to_string(), l2: r[1].to_string(), l3: r[2].to_string() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_tables_have_the_documented_sizes() {
        let d = districts();
        assert_eq!(d.len(), 16);
        assert_eq!(d.iter().map(|d| d.population).sum::<u64>(), 21_893_095);
        assert_eq!(streets().len(), 343);
        let c = categories();
        assert_eq!(c.len(), 517);
        let l1: std::collections::BTreeSet<_> = c.iter().map(|c| c.l1.as_str()).collect();
        assert_eq!(l1.len(), 15);
    }
}
