//! What the derived OpenAPI document cannot say by itself, stated from the same constants
//! the handlers check with ([`super::fields`]): each text's `pattern` (the platform's
//! [`Text::pattern`]) and `maxLength`, required text that must not be blank, a contact's and
//! an outcome measure's shape by kind, and the command headers' formats. So a request valid
//! by the document is one the code accepts, and one invalid by it is refused.

use linkway_platform::text::Text;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::{Components, OpenApi, Ref, RefOr};

use super::fields;
use crate::case::CaseState;
use crate::outcomes::Instrument;

/// Characters `str::trim` removes (Unicode `White_Space`), as the body of a class:
/// required text needs another.
const WHITE_SPACE: &str =
    "\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";
/// `Idempotency-Key`: 1-255 visible ASCII characters.
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]+$";
/// `If-Match`: `"N"`, `W/"N"` or `N`, N of 1-19 digits.
pub const IF_MATCH_PATTERN: &str = "^(?:(?:W/)?\"[0-9]{1,19}\"|[0-9]{1,19})$";

/// Applies everything below to the derived document.
pub fn exact(mut doc: OpenApi) -> OpenApi {
    if let Some(components) = doc.components.as_mut() {
        for (schema, property, text) in fields::DOCUMENTED {
            let presence = if schema_required(components, schema, property) {
                Presence::Required
            } else {
                Presence::Nullable
            };
            with_property(components, schema, property, |p| match p {
                Schema::Array(array) => {
                    if let utoipa::openapi::schema::ArrayItems::RefOrSchema(items) =
                        &mut array.items
                    {
                        **items = RefOr::T(text_schema(*text, Presence::Required, None));
                    }
                }
                other => {
                    let description = description_of(other);
                    *other = text_schema(*text, presence, description);
                }
            });
        }
        with_property(components, "PlanRequest", "goals", |p| {
            if let Schema::Array(a) = p {
                a.min_items = Some(*fields::GOALS.start());
                a.max_items = Some(*fields::GOALS.end());
            }
        });
        with_property(components, "PlanRequest", "actions", |p| {
            if let Schema::Array(a) = p {
                a.max_items = Some(fields::MAX_ACTIONS);
            }
        });
        with_property(components, "ConnectRequest", "share", |p| {
            if let Schema::Array(a) = p {
                a.unique_items = true;
            }
        });
        components
            .schemas
            .insert("ContactRequest".into(), RefOr::T(contact_request()));
        components
            .schemas
            .insert("OutcomeRequest".into(), RefOr::T(outcome_request()));
        super::import_contract::add(components);
    }
    let import = doc.paths.paths.get_mut("/directory/import");
    let body = import.and_then(|item| item.post.as_mut()?.request_body.as_mut());
    let content = body.and_then(|b| match b {
        RefOr::T(b) => b.content.get_mut("application/json"),
        RefOr::Ref(_) => None,
    });
    if let Some(RefOr::T(content)) = content {
        content.schema = Some(Ref::from_schema_name("DirectoryImport").into());
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        for op in [item.get.as_mut(), item.post.as_mut()]
            .into_iter()
            .flatten()
        {
            let parameters = op.parameters.iter_mut().flatten();
            for p in parameters.filter_map(|p| match p {
                RefOr::T(p) => Some(p),
                RefOr::Ref(_) => None,
            }) {
                let schema = match (path.as_str(), p.name.as_str()) {
                    (_, "Idempotency-Key") => {
                        string(Some(IDEMPOTENCY_KEY_PATTERN), Some(1), Some(255))
                    }
                    (_, "If-Match") => string(Some(IF_MATCH_PATTERN), None, None),
                    ("/directory", "q" | "category" | "area") => {
                        text_schema(fields::SEARCH, Presence::Optional, None)
                    }
                    ("/caseload", "link_worker") => {
                        text_schema(fields::LINK_WORKER_ID, Presence::Optional, None)
                    }
                    ("/caseload", "state") => string(Some(&states_pattern()), None, None),
                    _ => continue,
                };
                p.schema = Some(RefOr::T(schema));
            }
        }
    }
    doc
}

/// A string with an optional pattern and length bounds.
fn string(pattern: Option<&str>, min: Option<usize>, max: Option<usize>) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(pattern)
        .min_length(min)
        .max_length(max)
        .into()
}

/// Whether a text must be there, may be `null` (or absent), or may be absent.
#[derive(Clone, Copy, PartialEq)]
enum Presence {
    Required,
    Nullable,
    Optional,
}

/// A text field's schema: the text rule's pattern and length; when required, the same
/// pattern holding at least one character other than white space.
fn text_schema(text: Text, presence: Presence, description: Option<String>) -> Schema {
    let types: SchemaType = match presence {
        Presence::Nullable => SchemaType::from_iter([Type::String, Type::Null]),
        _ => Type::String.into(),
    };
    let pattern = match presence {
        Presence::Required => required_pattern(text),
        _ => text.pattern().to_owned(),
    };
    ObjectBuilder::new()
        .schema_type(types)
        .pattern(Some(pattern))
        .max_length(Some(text.max_chars))
        .description(description)
        .into()
}

/// [`Text::pattern`] (`^X*$`, X one allowed character) for text that must not be blank:
/// `^X*Y X*$`, Y an allowed character that `str::trim` would not remove. One pattern, so
/// a generator need not filter.
pub fn required_pattern(text: Text) -> String {
    let pattern = text.pattern();
    let one = pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix("*$"))
        .expect("the text rule's pattern is ^X*$");
    let refused = one
        .split_once("[^")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(class, _)| class)
        .expect("X holds one negated class");
    format!("^{one}*[^{refused}{WHITE_SPACE}]{one}*$")
}

/// The `state` filter: case states separated by commas (spaces and empty parts ignored).
fn states_pattern() -> String {
    let names: Vec<&str> = CaseState::ALL.iter().map(|s| s.as_str()).collect();
    let one = format!(" *(?:{})? *", names.join("|"));
    format!("^{one}(?:,{one})*$")
}

/// A contact: an attempt (channel, outcome) or a contact made (minutes 1-600, notes).
fn contact_request() -> Schema {
    let kind = |k: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some([k]))
    };
    let channel = Ref::from_schema_name("ContactChannel");
    let null = || ObjectBuilder::new().schema_type(Type::Null);
    let attempt = ObjectBuilder::new()
        .description(Some(
            "A contact attempt: the person was not reached. `outcome` says how it ended \
             (default `not_recorded`).",
        ))
        .property("kind", kind("attempt"))
        .property("channel", channel.clone())
        .property(
            "outcome",
            OneOfBuilder::new()
                .item(Ref::from_schema_name("ContactOutcome"))
                .item(null()),
        )
        .property("minutes", null())
        .property("notes", null())
        .required("kind")
        .required("channel")
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
    let notes = text_schema(
        fields::CONTACT_NOTES,
        Presence::Nullable,
        Some("What was said (personal). Blank is no notes.".into()),
    );
    let made = ObjectBuilder::new()
        .description(Some("A contact made: its minutes and notes."))
        .property("kind", kind("made"))
        .property("channel", channel)
        .property("outcome", null())
        .property(
            "minutes",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(*fields::MINUTES.start() as usize))
                .maximum(Some(*fields::MINUTES.end() as usize)),
        )
        .property("notes", notes)
        .required("kind")
        .required("channel")
        .required("minutes")
        .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false)));
    OneOfBuilder::new()
        .description(Some("A contact attempt or a contact made."))
        .item(attempt)
        .item(made)
        .into()
}

/// An outcome measure: each instrument's item count and answer range.
fn outcome_request() -> Schema {
    let mut one_of = OneOfBuilder::new().description(Some(
        "An outcome measure: the instrument, the timepoint and every item's answer in the questionnaire's order.",
    ));
    // One schema per instrument and item count (MYCaW's second concern is optional, and
    // it names one concern per item before wellbeing): the counts tell them apart.
    for instrument in Instrument::ALL {
        let (_, min, max) = instrument.shape();
        for count in instrument.item_counts() {
            let answers = ArrayBuilder::new()
                .items(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(usize::from(min)))
                        .maximum(Some(usize::from(max))),
                )
                .min_items(Some(count))
                .max_items(Some(count));
            let mut measure = ObjectBuilder::new()
                .property(
                    "instrument",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([instrument.as_str()])),
                )
                .property("timepoint", Ref::from_schema_name("Timepoint"))
                .property("item_answers", answers)
                .required("instrument")
                .required("timepoint")
                .required("item_answers");
            if instrument.asks_for_concerns() {
                let concerns = ArrayBuilder::new()
                    .description(Some(
                        "The concerns the person named, in their own words: one for each \
                         item before wellbeing (one fewer than `item_answers`).",
                    ))
                    .items(RefOr::T(text_schema(
                        fields::MEASURED_CONCERN,
                        Presence::Required,
                        None,
                    )))
                    .min_items(Some(count - 1))
                    .max_items(Some(count - 1));
                measure = measure.property("concerns", concerns).required("concerns");
            }
            one_of = one_of.item(
                measure
                    .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(false))),
            );
        }
    }
    one_of.into()
}

fn object<'c>(
    components: &'c mut Components,
    schema: &str,
) -> Option<&'c mut utoipa::openapi::schema::Object> {
    match components.schemas.get_mut(schema) {
        Some(RefOr::T(Schema::Object(o))) => Some(o),
        _ => None,
    }
}

fn schema_required(components: &mut Components, schema: &str, property: &str) -> bool {
    object(components, schema).is_some_and(|o| o.required.iter().any(|r| r == property))
}

fn with_property(
    components: &mut Components,
    schema: &str,
    property: &str,
    f: impl FnOnce(&mut Schema),
) {
    let found = object(components, schema).and_then(|o| o.properties.get_mut(property));
    match found {
        Some(RefOr::T(p)) => f(p),
        _ => panic!("{schema}.{property} is not in the document"),
    }
}

fn description_of(schema: &Schema) -> Option<String> {
    match schema {
        Schema::Object(o) => o.description.clone(),
        _ => None,
    }
}
