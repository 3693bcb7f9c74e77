//! The `importDirectory` body as [`crate::directory::parse_import`] reads it, for the
//! OpenAPI document: one Open Referral UK service, a page of them (`contents`) or an
//! organisation with its `services`. A service names its `id`, `name`, `status` (as the
//! standard spells it) and `url` (http or https); the other fields Linkway reads are text
//! under their rule when they are strings (anything else there is not read); and every
//! string of the document, keys too, must be storable (`Storable`), as the whole document
//! is kept.

use linkway_platform::text::Text;
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema,
    SchemaType, Type,
};
use utoipa::openapi::{Components, Ref};

use super::contract::required_pattern;
use crate::directory::{STATUSES, rule};

/// Adds `Storable`, `DirectoryService` and `DirectoryImport` to the components.
pub fn add(components: &mut Components) {
    components
        .schemas
        .insert("Storable".into(), storable().into());
    components
        .schemas
        .insert("DirectoryService".into(), service().into());
    components
        .schemas
        .insert("DirectoryImport".into(), import().into());
}

fn storable() -> Schema {
    let any = rule::ANY.pattern();
    let me = || Ref::from_schema_name("Storable");
    AnyOfBuilder::new()
        .description(Some(
            "A JSON value whose every string (and key) is free of control characters other than newline and tab, bidirectional controls and noncharacters.",
        ))
        .item(ObjectBuilder::new().schema_type(SchemaType::from_iter([
            Type::Null,
            Type::Boolean,
            Type::Number,
        ])))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(any)),
        )
        .item(ArrayBuilder::new().items(me()))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property_names(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(any)),
                ))
                .additional_properties(Some(AdditionalProperties::RefOr(me().into()))),
        )
        .into()
}

/// Text Linkway reads when it is a string (no type: anything else is not read).
fn read_if_text(text: Text) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .pattern(Some(text.pattern()))
        .max_length(Some(text.max_chars))
}

/// An object of these properties when it is an object (anything else is not read).
fn read_if_object(properties: Vec<(&str, Schema)>) -> ObjectBuilder {
    properties.into_iter().fold(
        ObjectBuilder::new().schema_type(SchemaType::AnyValue),
        |o, (k, v)| o.property(k, v),
    )
}

/// An array of these when it is an array (anything else is not read).
fn read_if_array(items: impl Into<Schema>) -> Schema {
    let items: Schema = items.into();
    // Any type (utoipa writes no type on an array as `null`): `items` holds of arrays only.
    let any = [
        Type::Array,
        Type::Object,
        Type::String,
        Type::Number,
        Type::Boolean,
        Type::Null,
    ];
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter(any))
        .items(utoipa::openapi::RefOr::T(items))
        .into()
}

fn required_text(text: Text, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(required_pattern(text)))
        .max_length(Some(text.max_chars))
        .description(Some(description))
}

fn service() -> Schema {
    let url = rule::URL.pattern().replacen('^', "^https?://", 1);
    let terms = |keys: &[&str]| {
        read_if_object(
            keys.iter()
                .map(|k| (*k, read_if_text(rule::TERM).into()))
                .collect(),
        )
    };
    let taxonomy = read_if_object(vec![(
        "taxonomy_term",
        terms(&["term", "name", "id"]).into(),
    )]);
    let address = terms(&["city", "region", "postal_code"]);
    let location = read_if_object(vec![(
        "location",
        read_if_object(vec![("addresses", read_if_array(address))]).into(),
    )]);
    let fields = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("id", required_text(rule::ID, "The service's id."))
        .property("name", required_text(rule::NAME, "The service's name."))
        .property(
            "status",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(STATUSES)),
        )
        .property(
            "url",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(url))
                .max_length(Some(rule::URL.max_chars)),
        )
        .property("description", read_if_text(rule::DESCRIPTION))
        .property(
            "organization",
            read_if_object(vec![("name", read_if_text(rule::NAME).into())]),
        )
        .property("attributes", read_if_array(taxonomy))
        .property(
            "service_areas",
            read_if_array(terms(&["name", "service_area"])),
        )
        .property("service_at_locations", read_if_array(location))
        .required("id")
        .required("name")
        .required("status")
        .required("url");
    AllOfBuilder::new()
        .description(Some("An Open Referral UK service."))
        .item(Ref::from_schema_name("Storable"))
        .item(fields)
        .into()
}

fn import() -> Schema {
    let service = || Ref::from_schema_name("DirectoryService");
    let list = |field: &str| {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(field, ArrayBuilder::new().items(service()))
            .required(field)
    };
    // A page holds `contents`; an organisation, `services` (and no `status`).
    let organisation = list("services").property("name", read_if_text(rule::NAME));
    AnyOfBuilder::new()
        .description(Some(
            "One service, a page of services (`contents`), or an organisation with its `services`. All or nothing; a service id appears once.",
        ))
        .item(list("contents"))
        .item(organisation)
        .item(service())
        .into()
}
