//! Which link-worker service a referral goes to, the one choice intake makes on submit and
//! the admin pages' preview shows. Rules come from the registry; a rule on the referring
//! organisation beats a rule on the person's postcode district, and among rules of the
//! same kind the lowest priority value wins (ties: lowest rule id, so the answer never
//! depends on row order). Also the postcode rule a district is read by (a referral's
//! postcode, a rule's district). Pure: no I/O.

use uuid::Uuid;

/// What a rule matches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Criterion {
    /// Declared first: it is tried first.
    ReferringOrganisation,
    PostcodeDistrict,
}

impl Criterion {
    pub fn parse(kind: &str) -> Option<Criterion> {
        match kind {
            "referring_organisation" => Some(Criterion::ReferringOrganisation),
            "postcode_district" => Some(Criterion::PostcodeDistrict),
            _ => None,
        }
    }
}

/// A routing rule as the registry read model holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub rule_id: Uuid,
    pub link_worker_organisation_id: String,
    pub criterion: Criterion,
    pub value: String,
    pub priority: i32,
}

/// Where a referral goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    To {
        link_worker_organisation_id: String,
        rule_id: Uuid,
    },
    Unroutable {
        reason: String,
    },
}

/// Picks the rule for a referral from `referrer` for a person in `district`.
pub fn choose(rules: &[Rule], referrer: &str, district: &str) -> Route {
    let best = rules
        .iter()
        .filter(|r| match r.criterion {
            Criterion::ReferringOrganisation => r.value == referrer,
            Criterion::PostcodeDistrict => r.value.eq_ignore_ascii_case(district),
        })
        .min_by_key(|r| (r.criterion, r.priority, r.rule_id));
    match best {
        Some(r) => Route::To {
            link_worker_organisation_id: r.link_worker_organisation_id.clone(),
            rule_id: r.rule_id,
        },
        None => Route::Unroutable {
            reason: format!(
                "no routing rule matches the referring organisation or postcode district {district}"
            ),
        },
    }
}

/// A UK postcode in its canonical form (`LS6 9ZZ`), or `None` when it is not one.
pub fn normalise_postcode(input: &str) -> Option<String> {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
        return None;
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    let i = inward.as_bytes();
    if !(i[0].is_ascii_digit() && i[1].is_ascii_uppercase() && i[2].is_ascii_uppercase()) {
        return None;
    }
    is_outward_code(outward).then(|| format!("{outward} {inward}"))
}

/// `[A-Z]{1,2}[0-9][A-Z0-9]?`
pub fn is_outward_code(s: &str) -> bool {
    let b = s.as_bytes();
    let letters = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    if !(1..=2).contains(&letters) || b.len() <= letters || !b[letters].is_ascii_digit() {
        return false;
    }
    let rest = &b[letters + 1..];
    rest.is_empty() || (rest.len() == 1 && rest[0].is_ascii_alphanumeric())
}

/// The outward code of a canonical postcode: `LS6 9ZZ` -> `LS6`.
pub fn postcode_district(canonical: &str) -> &str {
    canonical.split(' ').next().unwrap_or(canonical)
}

/// Whether `district` is the outward code of some valid postcode (what a rule may match).
pub fn is_district(district: &str) -> bool {
    normalise_postcode(&format!("{district} 9ZZ"))
        .is_some_and(|canonical| postcode_district(&canonical) == district)
}

/// The district of what someone typed: a whole postcode (`ls6 4qx`) or a district alone
/// (`ls6`), upper-cased; `None` when it is neither.
pub fn district_of(typed: &str) -> Option<String> {
    if let Some(canonical) = normalise_postcode(typed) {
        return Some(postcode_district(&canonical).to_owned());
    }
    let district = typed.trim().to_ascii_uppercase();
    is_district(&district).then_some(district)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(n: u128, to: &str, criterion: Criterion, value: &str, priority: i32) -> Rule {
        Rule {
            rule_id: Uuid::from_u128(n),
            link_worker_organisation_id: to.into(),
            criterion,
            value: value.into(),
            priority,
        }
    }

    fn to(route: Route) -> String {
        match route {
            Route::To {
                link_worker_organisation_id,
                ..
            } => link_worker_organisation_id,
            Route::Unroutable { .. } => "-".into(),
        }
    }

    #[test]
    fn referring_organisation_beats_postcode_district_whatever_the_priority() {
        let rules = [
            rule(
                1,
                "district-service",
                Criterion::PostcodeDistrict,
                "LS6",
                -100,
            ),
            rule(
                2,
                "practice-service",
                Criterion::ReferringOrganisation,
                "gp-1",
                100,
            ),
        ];
        assert_eq!(to(choose(&rules, "gp-1", "LS6")), "practice-service");
        assert_eq!(to(choose(&rules, "gp-2", "LS6")), "district-service");
    }

    #[test]
    fn lowest_priority_value_wins_then_lowest_rule_id() {
        let rules = [
            rule(3, "b", Criterion::PostcodeDistrict, "LS6", 5),
            rule(2, "a", Criterion::PostcodeDistrict, "LS6", 1),
            rule(1, "c", Criterion::PostcodeDistrict, "LS6", 1),
        ];
        assert_eq!(to(choose(&rules, "gp", "LS6")), "c");
    }

    #[test]
    fn district_matching_ignores_case_and_does_not_match_prefixes() {
        let rules = [rule(1, "a", Criterion::PostcodeDistrict, "ls6", 0)];
        assert_eq!(to(choose(&rules, "gp", "LS6")), "a");
        assert_eq!(to(choose(&rules, "gp", "LS61")), "-");
    }

    #[test]
    fn no_match_is_unroutable_with_a_reason() {
        match choose(&[], "gp", "LS6") {
            Route::Unroutable { reason } => assert!(reason.contains("LS6")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_district_is_read_from_a_whole_postcode_or_a_district_alone() {
        assert_eq!(district_of("ls6 4qx").as_deref(), Some("LS6"));
        assert_eq!(district_of(" sw1a ").as_deref(), Some("SW1A"));
        assert_eq!(district_of("LS6 4Q"), None);
        assert_eq!(district_of("6LS"), None);
        assert!(is_district("EC1V") && !is_district("LS66A1") && !is_district(""));
    }

    proptest! {
        /// The answer does not depend on the order the rules are listed in.
        #[test]
        fn order_of_rules_does_not_matter(
            specs in proptest::collection::vec((0u8..2, 0u8..3, -3i32..3), 0..8),
            seed in any::<u64>(),
        ) {
            let rules: Vec<Rule> = specs.iter().enumerate().map(|(i, (k, v, p))| {
                let criterion = if *k == 0 { Criterion::ReferringOrganisation } else { Criterion::PostcodeDistrict };
                let value = match (criterion, v) {
                    (Criterion::ReferringOrganisation, 0) => "gp",
                    (Criterion::ReferringOrganisation, _) => "other",
                    (_, 0) => "LS6",
                    (_, _) => "LS7",
                };
                rule(i as u128, &format!("svc{i}"), criterion, value, *p)
            }).collect();
            let mut shuffled = rules.clone();
            let n = shuffled.len();
            if n > 1 {
                for i in 0..n {
                    let j = ((seed >> (i % 60)) as usize + i * 7) % n;
                    shuffled.swap(i, j);
                }
            }
            prop_assert_eq!(choose(&rules, "gp", "LS6"), choose(&shuffled, "gp", "LS6"));
        }
    }
}
