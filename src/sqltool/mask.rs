//! The functions `hotline sql`'s masked `tickets` view is made of: they hold what must not show
//! (the session's key) inside the function, so no plan, `EXPLAIN`, error or log line can print it.
//!
//! - `caller_key(caller_id)`: `id-` and 12 hex digits of HMAC-SHA256 under a key drawn per
//!   session: the same caller groups together within one run, and without the key (which SQL
//!   cannot reach) a low-entropy caller id cannot be found by trying candidates.
//! - `mask_phone(caller_phone)`: a mobile number (11 digits or more) keeps its first 3 and last 4
//!   digits (`138****5678`); a shorter one its last 4 (`****3456`), under 8 digits none.
//! - `mask_text(content)`: every number of 3 or more digits becomes `***` — digits of any script
//!   (full-width `１３８`, Arabic-Indic …) and the Chinese numerals 〇零一二三四五六七八九两,
//!   with single spaces, hyphens or dots between them counted as one number — and the result is
//!   cut to 30 characters (`…` when it was longer).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};
use sha2::{Digest, Sha256};

/// Which masking a [`Mask`] function applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    CallerKey,
    Phone,
    Text,
}

/// One masking function; the key is used by `caller_key` only and never printed.
#[derive(PartialEq, Eq, Hash)]
struct Mask {
    kind: Kind,
    key: [u8; 32],
    signature: Signature,
}

impl std::fmt::Debug for Mask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name())
    }
}

/// The three functions, `caller_key` with `key`.
pub fn functions(key: [u8; 32]) -> [ScalarUDF; 3] {
    [Kind::CallerKey, Kind::Phone, Kind::Text].map(|kind| {
        let text = vec![DataType::Utf8View, DataType::Utf8, DataType::LargeUtf8];
        ScalarUDF::from(Mask { kind, key, signature: Signature::uniform(1, text, Volatility::Immutable) })
    })
}

impl ScalarUDFImpl for Mask {
    fn name(&self) -> &str {
        match self.kind {
            Kind::CallerKey => "caller_key",
            Kind::Phone => "mask_phone",
            Kind::Text => "mask_text",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let text = datafusion::arrow::compute::cast(&arrays[0], &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let out: StringArray = text
            .iter()
            .map(|v| {
                v.map(|v| match self.kind {
                    Kind::CallerKey => caller_key(&self.key, v),
                    Kind::Phone => phone(v),
                    Kind::Text => mask_text(v),
                })
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
    }
}

/// HMAC-SHA256 (RFC 2104) of `id` under `key` (at most 64 bytes), as `id-` and its first 12
/// hex digits.
pub fn caller_key(key: &[u8], id: &str) -> String {
    let mut inner = Sha256::new();
    let mut outer = Sha256::new();
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (k, b) in key.iter().enumerate() {
        ipad[k] ^= b;
        opad[k] ^= b;
    }
    inner.update(ipad);
    inner.update(id.as_bytes());
    outer.update(opad);
    outer.update(inner.finalize());
    let mac = outer.finalize();
    let hex: String = mac.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("id-{hex}")
}

/// The digit value of `c` when it is a digit of any script or a Chinese numeral.
fn is_digit(c: char) -> bool {
    c.is_numeric() || "〇零一二三四五六七八九两壹贰叁肆伍陆柒捌玖".contains(c)
}

/// Characters that may stand between two digits of one number.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '\u{3000}' | '－' | '．' | '‐' | '–' | '—' | '·' | '・' | '_')
}

/// A phone number with at most the digits that identify no one: see the module comment.
pub fn phone(v: &str) -> String {
    let digits: Vec<char> = v.chars().filter(|&c| is_digit(c)).collect();
    let n = digits.len();
    let last4: String = digits[n.saturating_sub(4)..].iter().collect();
    if n >= 11 {
        format!("{}****{last4}", digits[..3].iter().collect::<String>())
    } else if n >= 8 {
        format!("****{last4}")
    } else {
        "****".to_string()
    }
}

/// Free text with every number of 3+ digits hidden, cut to 30 characters.
pub fn mask_text(v: &str) -> String {
    let chars: Vec<char> = v.chars().collect();
    let mut out = String::with_capacity(v.len());
    let mut k = 0;
    while k < chars.len() {
        if !is_digit(chars[k]) {
            out.push(chars[k]);
            k += 1;
            continue;
        }
        // a number: digits, with single separators between digits
        let start = k;
        let mut digits = 0;
        let mut end = k;
        while end < chars.len() {
            if is_digit(chars[end]) {
                digits += 1;
                end += 1;
            } else if is_separator(chars[end]) && end + 1 < chars.len() && is_digit(chars[end + 1]) {
                end += 1;
            } else {
                break;
            }
        }
        if digits >= 3 {
            out.push_str("***");
        } else {
            out.extend(&chars[start..end]);
        }
        k = end;
    }
    let n = out.chars().count();
    if n > 30 { out.chars().take(30).chain(['…']).collect() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_of_every_form_are_hidden() {
        for (text, want) in [
            ("电话13812345678", "电话***"),
            ("电话１３８１２３４５６７８", "电话***"),
            ("1 3 8 1 2 3 4 5 6 7 8 找我", "*** 找我"),
            ("138-1234-5678", "***"),
            ("１38 1２3４ 5678", "***"),
            ("一三八一二三四五六七八", "***"),
            ("座机65123456", "座机***"),
            ("٣٤٥٦٧ arabic-indic", "*** arabic-indic"),
            // two digits stay, and a number needs its separators between digits
            ("3楼12号", "3楼12号"),
            ("十一月", "十一月"),
            ("12 - 34", "12 - 34"),
        ] {
            assert_eq!(mask_text(text), want, "{text}");
        }
        // cut after masking: no fragment of a number at the cut
        let long = format!("{}电话13812345678再见", "字".repeat(27));
        assert_eq!(mask_text(&long), format!("{}电话*…", "字".repeat(27)));
    }

    #[test]
    fn phones_show_at_most_the_last_four_digits_of_a_landline() {
        assert_eq!(phone("13812345678"), "138****5678");
        assert_eq!(phone("65123456"), "****3456");
        assert_eq!(phone("010-6512-3456"), "010****3456");
        assert_eq!(phone("12345"), "****");
    }

    #[test]
    fn the_caller_key_depends_on_the_key_and_never_shows_it() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert_eq!(caller_key(&a, "P1"), caller_key(&a, "P1"));
        assert_ne!(caller_key(&a, "P1"), caller_key(&a, "P2"));
        assert_ne!(caller_key(&a, "P1"), caller_key(&b, "P1"));
        assert_eq!(caller_key(&a, "P1").len(), 15);
        // RFC 4231, test case 1: HMAC-SHA256 of "Hi There" under 20 bytes of 0x0b = b0344c61d8db…
        assert_eq!(caller_key(&[0x0b; 20], "Hi There"), "id-b0344c61d8db");
        let f = functions(a);
        assert!(!format!("{:?}", f[0]).contains("1, 1"), "{:?}", f[0]);
    }
}
