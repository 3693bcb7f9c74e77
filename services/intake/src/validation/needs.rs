//! The rules for needs and concerns: SNOMED CT codes (format, Verhoeff check digit,
//! concept partition, no repeats) and the description.

use linkway_events::common::{Coding, SNOMED};

use super::errors::{Errors, present};
use super::{CODE, FREE_TEXT, NEEDS_MAX, NeedsInput, SHORT_TEXT, rule};

pub(super) fn validate_needs(
    e: &mut Errors,
    n: &NeedsInput,
) -> Option<(Vec<Coding>, Option<String>)> {
    let text = e.text("needs_and_concerns.text", &n.text, FREE_TEXT);
    if n.codes.is_empty() && !present(&n.text) {
        e.add(
            "needs_and_concerns",
            rule::NEEDS_REQUIRED,
            "give at least one SNOMED CT code or a description",
        );
        return None;
    }
    if n.codes.len() > NEEDS_MAX {
        e.add(
            "needs_and_concerns.codes",
            rule::MAX_ITEMS,
            format!("at most {NEEDS_MAX} codes"),
        );
        return None;
    }
    let before = e.0.len();
    let mut codes: Vec<Coding> = Vec::with_capacity(n.codes.len());
    for (i, c) in n.codes.iter().enumerate() {
        let field = format!("needs_and_concerns.codes[{i}]");
        let before_system = e.0.len();
        let system = e
            .text(&format!("{field}.system"), &c.system, CODE)
            .unwrap_or_else(|| SNOMED.to_owned());
        if e.0.len() > before_system {
            continue;
        }
        if system != SNOMED {
            e.add(
                format!("{field}.system"),
                rule::CODE_SYSTEM,
                format!("must be SNOMED CT ({SNOMED})"),
            );
            continue;
        }
        let Some(code) = e.required_text(&format!("{field}.code"), &c.code, CODE) else {
            continue;
        };
        if let Err(rule) = check_sctid(&code) {
            let message = match rule {
                rule::SNOMED_FORMAT => "must be a SNOMED CT id: 6 to 18 digits",
                rule::SNOMED_CHECK_DIGIT => {
                    "is not a SNOMED CT id: its check digit (Verhoeff) does not match"
                }
                _ => "must be a SNOMED CT concept id, not a description or relationship id",
            };
            e.add(format!("{field}.code"), rule, message);
            continue;
        }
        if codes.iter().any(|k| k.code == code) {
            e.add(
                format!("{field}.code"),
                rule::DUPLICATE_CODE,
                "is given twice",
            );
            continue;
        }
        let display = e.text(&format!("{field}.display"), &c.display, SHORT_TEXT);
        codes.push(Coding {
            system,
            code,
            display,
        });
    }
    (e.0.len() == before).then_some((codes, text))
}

/// Checks a SNOMED CT concept id: 6-18 digits, no leading zero, Verhoeff check digit, and a
/// concept partition (`00` core or `10` extension). Returns the rule broken.
pub fn check_sctid(code: &str) -> Result<(), &'static str> {
    let b = code.as_bytes();
    if !(6..=18).contains(&b.len()) || !b.iter().all(u8::is_ascii_digit) || b[0] == b'0' {
        return Err(rule::SNOMED_FORMAT);
    }
    if !verhoeff_valid(code) {
        return Err(rule::SNOMED_CHECK_DIGIT);
    }
    let partition = &code[code.len() - 3..code.len() - 1];
    if partition != "00" && partition != "10" {
        return Err(rule::SNOMED_CONCEPT_ID);
    }
    Ok(())
}

/// The Verhoeff check SNOMED CT uses for the last digit of every id.
pub(super) fn verhoeff_valid(digits: &str) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut c = 0u8;
    for (i, b) in digits.bytes().rev().enumerate() {
        c = D[c as usize][P[i % 8][(b - b'0') as usize] as usize];
    }
    c == 0
}
