//! The JSON types of the elements intake reads, checked before anything is read: an element
//! of the wrong type (a number for `birthDate`, a string for `name.given`) is refused naming
//! its place in the bundle (`Bundle.entry[2].resource.birthDate`, rule `schema`), never its
//! value, instead of being read as absent. Elements intake does not read are not checked:
//! a BaRS message carries much that Linkway has no use for.

use serde_json::Value;

use super::Issue;

/// The JSON type an element must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Array,
    Object,
}

impl Kind {
    fn holds(self, v: &Value) -> bool {
        match self {
            Kind::String => v.is_string(),
            Kind::Array => v.is_array(),
            Kind::Object => v.is_object(),
        }
    }

    fn says(self) -> &'static str {
        match self {
            Kind::String => "must be a string",
            Kind::Array => "must be an array",
            Kind::Object => "must be an object",
        }
    }
}

use Kind::{Array, Object, String};

/// `(resourceType, path, kind)`: `a[]` steps into every item of array `a`.
const ELEMENTS: &[(&str, &str, Kind)] = &[
    ("Patient", "identifier", Array),
    ("Patient", "identifier[]", Object),
    ("Patient", "identifier[].system", String),
    ("Patient", "identifier[].value", String),
    ("Patient", "name", Array),
    ("Patient", "name[]", Object),
    ("Patient", "name[].family", String),
    ("Patient", "name[].given", Array),
    ("Patient", "name[].given[]", String),
    ("Patient", "birthDate", String),
    ("Patient", "gender", String),
    ("Patient", "address", Array),
    ("Patient", "address[]", Object),
    ("Patient", "address[].line", Array),
    ("Patient", "address[].line[]", String),
    ("Patient", "address[].city", String),
    ("Patient", "address[].postalCode", String),
    ("Patient", "telecom", Array),
    ("Patient", "telecom[]", Object),
    ("Patient", "telecom[].system", String),
    ("Patient", "telecom[].value", String),
    ("Patient", "communication", Array),
    ("Patient", "extension", Array),
    ("ServiceRequest", "priority", String),
    ("ServiceRequest", "reasonCode", Array),
    ("ServiceRequest", "reasonCode[]", Object),
    ("ServiceRequest", "reasonCode[].coding", Array),
    ("ServiceRequest", "reasonCode[].coding[].code", String),
    ("ServiceRequest", "reasonCode[].coding[].display", String),
    ("ServiceRequest", "note", Array),
    ("ServiceRequest", "note[]", Object),
    ("ServiceRequest", "note[].text", String),
    ("ServiceRequest", "patientInstruction", String),
    ("ServiceRequest", "extension", Array),
    ("Practitioner", "name", Array),
    ("Practitioner", "name[].prefix", Array),
    ("Practitioner", "name[].prefix[]", String),
    ("Practitioner", "name[].given", Array),
    ("Practitioner", "name[].given[]", String),
    ("Practitioner", "name[].family", String),
    ("Practitioner", "name[].text", String),
    ("Practitioner", "telecom", Array),
    ("Practitioner", "telecom[].value", String),
    ("Consent", "status", String),
    ("Consent", "extension", Array),
    ("Consent", "extension[]", Object),
    ("Consent", "policyRule", Object),
    ("Consent", "policyRule.coding", Array),
    ("Consent", "policyRule.coding[]", Object),
    ("Consent", "policyRule.coding[].system", String),
    ("Consent", "policyRule.coding[].code", String),
    ("Consent", "provision", Object),
    ("Consent", "provision.type", String),
    ("Consent", "provision.period", Object),
    ("Consent", "provision.period.start", String),
    ("Consent", "provision.period.end", String),
];

/// One issue per element of the wrong type, in entry order.
pub fn check(entries: &[Value]) -> Vec<Issue> {
    let mut issues = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let resource = &entry["resource"];
        let Some(t) = resource["resourceType"].as_str() else {
            continue;
        };
        for (_, path, kind) in ELEMENTS.iter().filter(|(rt, _, _)| *rt == t) {
            let steps: Vec<&str> = path.split('.').collect();
            walk(
                resource,
                &steps,
                &mut format!("Bundle.entry[{i}].resource"),
                *kind,
                &mut issues,
            );
        }
    }
    issues
}

fn walk(v: &Value, steps: &[&str], at: &mut std::string::String, kind: Kind, out: &mut Vec<Issue>) {
    let Some((step, rest)) = steps.split_first() else {
        if !v.is_null() && !kind.holds(v) {
            out.push(
                Issue::error("structure", format!("{at} {}", kind.says()))
                    .at(at.clone())
                    .rule("schema"),
            );
        }
        return;
    };
    let (name, each) = match step.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (*step, false),
    };
    let child = &v[name];
    let len = at.len();
    at.push('.');
    at.push_str(name);
    if each {
        // A value that is not an array is reported by the array's own entry.
        for (n, item) in child.as_array().into_iter().flatten().enumerate() {
            let item_len = at.len();
            at.push_str(&format!("[{n}]"));
            walk(item, rest, at, kind, out);
            at.truncate(item_len);
        }
    } else if v.is_object() {
        walk(child, rest, at, kind, out);
    }
    at.truncate(len);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_element_of_the_wrong_type_is_named_by_its_place_and_not_its_value() {
        let entries = vec![
            json!({"resource": {"resourceType": "MessageHeader"}}),
            json!({"resource": {"resourceType": "Patient", "birthDate": 19580211,
                "name": [{"given": "Alex", "family": "Fictional"}, {"given": ["A", 7]}]}}),
        ];
        let found: Vec<(std::string::String, std::string::String)> = check(&entries)
            .into_iter()
            .map(|i| (i.expression.unwrap(), i.diagnostics))
            .collect();
        let at: Vec<&str> = found.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(
            at,
            [
                "Bundle.entry[1].resource.name[0].given",
                "Bundle.entry[1].resource.name[1].given[1]",
                "Bundle.entry[1].resource.birthDate",
            ]
        );
        assert!(
            found
                .iter()
                .all(|(_, d)| !d.contains("19580211") && !d.contains("Alex"))
        );
    }

    #[test]
    fn elements_of_the_right_type_or_absent_pass() {
        let entries = vec![
            json!({"resource": {"resourceType": "Patient", "birthDate": "1958-02-11",
            "name": [{"given": ["Alex"]}], "gender": null}}),
        ];
        assert!(check(&entries).is_empty());
    }
}
