//! The directory of community services, from Open Referral UK (HSDS 3 UK profile) JSON.
//!
//! Directory entries are reference data that other organisations publish and re-publish;
//! they are not facts Linkway causes, so they are upserted into a table of this service's
//! own (`directory_services`, a service migration) instead of the event log. What a case
//! needs to stay reproducible from the log (the service's id and name at the time) is copied
//! into `case.connection_made`.
//!
//! [`parse_import`] is pure: it accepts one service, a paginated list (`contents`) or an
//! organisation with its `services`, and
//! validates the fields the standard requires (`id`, `name`, `status`, `url`). Services
//! arrive by import (`importDirectory`, the upload page) or from an Open Referral UK API
//! feed ([`sync`], reading [`feed`]); a service the feed stops listing is withdrawn and,
//! like an inactive or defunct one, takes no new connections.

pub mod feed;
pub mod sync;

use linkway_platform::FieldError;
use linkway_platform::text::Text;
use serde::Serialize;
use serde_json::Value;

/// The statuses Open Referral UK allows.
pub const STATUSES: [&str; 4] = ["active", "inactive", "defunct", "temporarily closed"];

/// One service, ready to upsert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DirectoryService {
    pub id: String,
    pub name: String,
    pub status: String,
    pub url: String,
    pub description: Option<String>,
    pub organisation_name: Option<String>,
    pub categories: Vec<String>,
    pub areas: String,
    pub document: Value,
}

impl DirectoryService {
    /// Whether the service takes new connections (inactive and defunct ones do not).
    pub fn accepts_connections(&self) -> bool {
        accepts_connections(&self.status)
    }
}

pub fn accepts_connections(status: &str) -> bool {
    !matches!(status, "inactive" | "defunct")
}

/// Turns an import body into services, or every problem found (nothing is imported then).
pub fn parse_import(body: &Value) -> Result<Vec<DirectoryService>, Vec<FieldError>> {
    let Some(object) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            "type",
            "expected an Open Referral service or a paginated list of services",
        )]);
    };
    // An organisation document lists its services under `services` (and has no `status`).
    let list_field = if object.contains_key("contents") {
        Some("contents")
    } else if object.contains_key("services") && !object.contains_key("status") {
        Some("services")
    } else {
        None
    };
    let items: Vec<(String, &Value)> = match list_field.map(|f| (f, &object[f])) {
        Some((field, Value::Array(items))) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{field}.{i}."), v))
            .collect(),
        Some((field, _)) => {
            return Err(vec![FieldError::new(
                field,
                "type",
                "must be an array of services",
            )]);
        }
        None => vec![(String::new(), body)],
    };
    let mut errors = Vec::new();
    let organisation_name = match list_field {
        Some("services") => Reader::new(body, String::new(), &mut errors).text("name", rule::NAME),
        _ => None,
    };
    let mut services = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::new();
    for (prefix, item) in items {
        match parse_service(item, &prefix) {
            Ok(mut service) => {
                if service.organisation_name.is_none() {
                    service.organisation_name = organisation_name.clone();
                }
                if !seen.insert(service.id.clone()) {
                    errors.push(FieldError::new(
                        format!("{prefix}id"),
                        "unique",
                        "the same service id appears twice in one import",
                    ));
                }
                services.push(service);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(services)
    } else {
        Err(errors)
    }
}

/// The directory's text fields under the platform's one text rule (the import's OpenAPI
/// schema states the same, from these).
pub mod rule {
    use linkway_platform::text::Text;

    pub const ID: Text = Text::line(128);
    /// A service's or an organisation's name (a line: a name of digits is a name too).
    pub const NAME: Text = Text::line(255);
    pub const STATUS: Text = Text::line(32);
    pub const URL: Text = Text::line(2048);
    pub const DESCRIPTION: Text = Text::multi_line(10_000);
    pub const TERM: Text = Text::line(255);
    /// Any other string of a service's document, stored with it: it must be storable.
    pub const ANY: Text = Text::multi_line(usize::MAX);
}

/// Reads one item's text fields, each under its rule, naming fields with the item's
/// position (`contents.1.name`) and collecting what is refused.
struct Reader<'v, 'e> {
    item: &'v Value,
    prefix: String,
    errors: &'e mut Vec<FieldError>,
}

impl<'v, 'e> Reader<'v, 'e> {
    fn new(item: &'v Value, prefix: String, errors: &'e mut Vec<FieldError>) -> Self {
        Reader {
            item,
            prefix,
            errors,
        }
    }

    /// The text at `field` (dotted): `None` when absent, blank or not a string, or when
    /// refused (the refusal added to the errors).
    fn text(&mut self, field: &str, text: Text) -> Option<String> {
        match self.item.pointer(&format!("/{}", field.replace('.', "/"))) {
            Some(Value::String(s)) => text.clean(s).unwrap_or_else(|e| {
                let name = format!("{}{field}", self.prefix);
                self.errors.push(crate::api::fields::refusal(&name, e));
                None
            }),
            // What Linkway does not recognise is not read (it is still checked for storage).
            _ => None,
        }
    }

    /// A text that must be there: `required` when absent, `non_empty_string` when blank
    /// or not a string.
    fn required(&mut self, field: &str, text: Text) -> Option<String> {
        let before = self.errors.len();
        let kept = self.text(field, text);
        if kept.is_none() && self.errors.len() == before {
            let name = format!("{}{field}", self.prefix);
            let present = !matches!(self.item.get(field), None | Some(Value::Null));
            self.errors.push(if present {
                FieldError::new(
                    name,
                    "non_empty_string",
                    format!("{field} must be a non-empty string"),
                )
            } else {
                FieldError::new(name, "required", format!("{field} is required"))
            });
        }
        kept
    }
}

/// Every string of a document (keys too) that cannot be stored, by its path.
fn unstorable(value: &Value, path: &str, errors: &mut Vec<FieldError>) {
    let refuse = |errors: &mut Vec<FieldError>, path: &str, s: &str| {
        if let Err(e) = rule::ANY.clean(s)
            && !errors.iter().any(|f| f.field == path)
        {
            errors.push(crate::api::fields::refusal(path, e));
        }
    };
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(s) => refuse(errors, path, s),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                unstorable(v, &join(&i.to_string()), errors);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let at = join(k);
                refuse(errors, &at, k);
                unstorable(v, &at, errors);
            }
        }
        _ => {}
    }
}

fn parse_service(item: &Value, prefix: &str) -> Result<DirectoryService, Vec<FieldError>> {
    let mut errors = Vec::new();
    if !item.is_object() {
        return Err(vec![FieldError::new(
            prefix.trim_end_matches('.'),
            "type",
            "a service must be an object",
        )]);
    }
    let mut read = Reader::new(item, prefix.to_owned(), &mut errors);
    let id = read.required("id", rule::ID);
    let name = read.required("name", rule::NAME);
    let status = read.required("status", rule::STATUS);
    let url = read.required("url", rule::URL);
    let description = read.text("description", rule::DESCRIPTION);
    let organisation_name = read.text("organization.name", rule::NAME);
    let mut categories = Vec::new();
    let attributes = item.get("attributes").and_then(Value::as_array);
    for (i, attribute) in attributes.into_iter().flatten().enumerate() {
        let mut read = Reader::new(attribute, format!("{prefix}attributes.{i}."), &mut errors);
        for key in ["term", "name", "id"] {
            if let Some(v) = read.text(&format!("taxonomy_term.{key}"), rule::TERM) {
                let v = v.to_lowercase();
                if !categories.contains(&v) {
                    categories.push(v);
                }
            }
        }
    }
    let mut areas = Vec::new();
    let service_areas = item.get("service_areas").and_then(Value::as_array);
    for (i, area) in service_areas.into_iter().flatten().enumerate() {
        let mut read = Reader::new(area, format!("{prefix}service_areas.{i}."), &mut errors);
        for key in ["name", "service_area"] {
            areas.extend(read.text(key, rule::TERM));
        }
    }
    let locations = item.get("service_at_locations").and_then(Value::as_array);
    for (i, sal) in locations.into_iter().flatten().enumerate() {
        let addresses = sal.pointer("/location/addresses").and_then(Value::as_array);
        for (j, address) in addresses.into_iter().flatten().enumerate() {
            let mut read = Reader::new(
                address,
                format!("{prefix}service_at_locations.{i}.location.addresses.{j}."),
                &mut errors,
            );
            for key in ["city", "region", "postal_code"] {
                areas.extend(read.text(key, rule::TERM));
            }
        }
    }
    // Exactly as the standard spells them, and a URL from its first character.
    if status.is_some()
        && !item["status"]
            .as_str()
            .is_some_and(|s| STATUSES.contains(&s))
    {
        errors.push(FieldError::new(
            format!("{prefix}status"),
            "status_enum",
            "status must be one of: active, inactive, defunct, temporarily closed",
        ));
    }
    let raw_url = item["url"].as_str().unwrap_or_default();
    if url.is_some() && !(raw_url.starts_with("http://") || raw_url.starts_with("https://")) {
        errors.push(FieldError::new(
            format!("{prefix}url"),
            "url",
            "url must be an http(s) URL",
        ));
    }
    unstorable(item, prefix.trim_end_matches('.'), &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(DirectoryService {
        id: id.unwrap_or_default(),
        name: name.unwrap_or_default(),
        status: status.unwrap_or_default(),
        url: url.unwrap_or_default(),
        description,
        organisation_name,
        categories,
        areas: areas.join("\n"),
        document: item.clone(),
    })
}

/// Upserts imported services in one statement; how many.
pub async fn upsert(
    client: &tokio_postgres::Client,
    services: &[DirectoryService],
) -> Result<u64, tokio_postgres::Error> {
    let (added, updated) = write(client, services, None).await?;
    Ok(added + updated)
}

/// Inserts or updates services in one statement: (inserted, updated). From a feed
/// (`feed`: the feed as shown), a service is marked as the feed's and listed again if it
/// was withdrawn, and one the feed sends unchanged is not updated (nor counted); an import
/// updates every service it names and leaves where it came from as it was.
pub(crate) async fn write(
    client: &impl tokio_postgres::GenericClient,
    services: &[DirectoryService],
    feed: Option<&str>,
) -> Result<(u64, u64), tokio_postgres::Error> {
    let ids: Vec<&str> = services.iter().map(|s| s.id.as_str()).collect();
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let statuses: Vec<&str> = services.iter().map(|s| s.status.as_str()).collect();
    let urls: Vec<&str> = services.iter().map(|s| s.url.as_str()).collect();
    let descriptions: Vec<Option<&str>> =
        services.iter().map(|s| s.description.as_deref()).collect();
    let orgs: Vec<Option<&str>> = services
        .iter()
        .map(|s| s.organisation_name.as_deref())
        .collect();
    // text[][] cannot be ragged, so categories travel as one JSON array per service.
    let categories: Vec<Value> = services
        .iter()
        .map(|s| serde_json::json!(s.categories))
        .collect();
    let areas: Vec<&str> = services.iter().map(|s| s.areas.as_str()).collect();
    let documents: Vec<&Value> = services.iter().map(|s| &s.document).collect();
    let rows = client
        .query(
            "INSERT INTO directory_services AS d (service_id, name, status, url, description, organisation_name,
                 categories, areas, document, feed_url)
             SELECT i, n, s, u, d, o, ARRAY(SELECT jsonb_array_elements_text(c)), a, doc, $10
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[],
                  $8::text[], $9::jsonb[]) AS t(i, n, s, u, d, o, c, a, doc)
             ON CONFLICT (service_id) DO UPDATE SET name = EXCLUDED.name, status = EXCLUDED.status,
                 url = EXCLUDED.url, description = EXCLUDED.description,
                 organisation_name = EXCLUDED.organisation_name, categories = EXCLUDED.categories,
                 areas = EXCLUDED.areas, document = EXCLUDED.document, imported_at = now(),
                 feed_url = COALESCE($10, d.feed_url),
                 withdrawn_at = CASE WHEN $10::text IS NULL THEN d.withdrawn_at END
             WHERE $10::text IS NULL OR d.document IS DISTINCT FROM EXCLUDED.document
                 OR d.withdrawn_at IS NOT NULL OR d.feed_url IS DISTINCT FROM $10
             RETURNING (xmax = 0)",
            &[&ids, &names, &statuses, &urls, &descriptions, &orgs, &categories, &areas, &documents, &feed],
        )
        .await?;
    let added = rows.iter().filter(|r| r.get::<_, bool>(0)).count() as u64;
    Ok((added, rows.len() as u64 - added))
}

/// A service as `listDirectory` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DirectoryEntry {
    pub id: String,
    pub name: String,
    /// active | inactive | defunct | temporarily closed
    pub status: String,
    pub url: String,
    pub description: Option<String>,
    pub organisation_name: Option<String>,
    pub categories: Vec<String>,
    /// Whether the service takes new connections: not inactive, not defunct, and still
    /// listed by the directory feed.
    pub accepts_connections: bool,
    /// When the directory feed stopped listing the service (unset: listed, or imported).
    #[serde(with = "time::serde::rfc3339::option")]
    pub withdrawn_at: Option<time::OffsetDateTime>,
}

fn entry(row: &tokio_postgres::Row) -> DirectoryEntry {
    let status: String = row.get(2);
    let withdrawn_at: Option<time::OffsetDateTime> = row.get(7);
    DirectoryEntry {
        id: row.get(0),
        name: row.get(1),
        accepts_connections: accepts_connections(&status) && withdrawn_at.is_none(),
        withdrawn_at,
        status,
        url: row.get(3),
        description: row.get(4),
        organisation_name: row.get(5),
        categories: row.get(6),
    }
}

const COLUMNS: &str =
    "service_id, name, status, url, description, organisation_name, categories, withdrawn_at";

/// Searches the directory: free text (name, description, organisation), category, area.
pub async fn search(
    client: &tokio_postgres::Client,
    text: Option<&str>,
    category: Option<&str>,
    area: Option<&str>,
    accepting: Option<bool>,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<DirectoryEntry>), tokio_postgres::Error> {
    let like = |s: Option<&str>| {
        s.map(|s| {
            format!(
                "%{}%",
                s.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        })
    };
    let text = like(text);
    let area = like(area);
    let category = category.map(str::to_lowercase);
    let filter =
        "($1::text IS NULL OR name ILIKE $1 OR description ILIKE $1 OR organisation_name ILIKE $1)
         AND ($2::text IS NULL OR $2 = ANY(categories))
         AND ($3::text IS NULL OR areas ILIKE $3)
         AND ($4::bool IS NULL OR (status NOT IN ('inactive', 'defunct') AND withdrawn_at IS NULL) = $4)";
    let total: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM directory_services WHERE {filter}"),
            &[&text, &category, &area, &accepting],
        )
        .await?
        .get(0);
    let rows = client
        .query(
            &format!("SELECT {COLUMNS} FROM directory_services WHERE {filter} ORDER BY name, service_id LIMIT $5 OFFSET $6"),
            &[&text, &category, &area, &accepting, &limit, &offset],
        )
        .await?;
    Ok((total, rows.iter().map(entry).collect()))
}

/// One service by id.
pub async fn get(
    client: &tokio_postgres::Client,
    id: &str,
) -> Result<Option<DirectoryEntry>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM directory_services WHERE service_id = $1"),
            &[&id],
        )
        .await?;
    Ok(row.as_ref().map(entry))
}

#[cfg(test)]
mod tests;
