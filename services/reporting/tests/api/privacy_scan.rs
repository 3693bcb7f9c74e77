//! The personal-data scan of reporting's answers and read model: a test person's whole
//! values (NHS number, phone, email, names, postcode, address, date of birth, free text)
//! are looked for as whole tokens, so digits or letters that happen to occur inside a
//! pseudonym, a sequence or a timestamp never match by chance (issue 9: `07700` was found
//! inside random hex), while any value that leaked, however it is quoted or escaped, does.

use crate::support::{TestPerson, person};

/// Letters and digits in runs, lower-cased: `{"n":"9434765919"}` is `n 9434765919`.
fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `needle`'s tokens occur, consecutive and whole, among `haystack`'s.
fn holds(haystack: &[String], needle: &str) -> bool {
    let needle = tokens(needle);
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|w| w == needle.as_slice())
}

/// What of a person must never appear in reporting, by what it is.
pub fn personal_values(p: &TestPerson) -> Vec<(&'static str, String)> {
    vec![
        ("NHS number", p.nhs_number.clone()),
        ("phone", p.phone.clone()),
        ("email", p.email.clone()),
        ("given name", p.given_name.clone()),
        ("family name", p.family_name.clone()),
        ("postcode", p.postcode.clone()),
        ("postcode", p.postcode.replace(' ', "")),
        ("address", p.address_line.clone()),
        ("birth date", p.birth_date.clone()),
        ("needs text", p.needs_text.clone()),
    ]
}

/// Which personal values of which people `text` holds, as "what (person n)": the value
/// itself is not repeated in the failure message.
pub fn personal_data_in(text: &str, people: &[TestPerson]) -> Vec<String> {
    let haystack = tokens(text);
    let mut found = Vec::new();
    for (n, p) in people.iter().enumerate() {
        for (what, value) in personal_values(p) {
            if holds(&haystack, &value) {
                found.push(format!("{what} (person {n})"));
            }
        }
    }
    found
}

#[test]
fn the_scan_finds_every_leaked_value_however_it_is_quoted() {
    let people = [person(3), person(17)];
    let p = &people[1];
    for (what, value) in personal_values(p) {
        for dump in [
            format!("(abc,{value},7)"),
            format!("{{\"x\": \"{value}\"}}"),
            format!("(1,\"{{\"\"x\"\": \"\"{value}\"\"}}\")"),
            format!("{}\n", value.to_uppercase()),
        ] {
            let found = personal_data_in(&dump, &people);
            // An email holds the family name, the needs text the given name.
            assert!(
                found.contains(&format!("{what} (person 1)")),
                "{what} in {dump:?}: {found:?}"
            );
            assert!(found.iter().all(|f| f.ends_with("(person 1)")), "{found:?}");
        }
    }
}

#[test]
fn the_scan_does_not_match_parts_of_pseudonyms_sequences_or_times() {
    let people: Vec<TestPerson> = (1..50).map(person).collect();
    // Hex and digits that contain the test people's digits, but never as a whole token.
    let mut dump = String::new();
    for p in &people {
        dump.push_str(&format!(
            "(a{}f,{}1,2026-01-05 10:00:00+00,x{}x)\n",
            p.nhs_number,
            p.phone,
            p.postcode.replace(' ', "")
        ));
    }
    dump.push_str("(07700a9f3,077009001230,1985,LS1)\n");
    assert!(personal_data_in(&dump, &people).is_empty(), "{dump}");
}
