//! The community services directory: Open Referral UK import and listing.

use super::*;

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    /// Services inserted or updated.
    pub upserted: u64,
    pub ids: Vec<String>,
}

/// Import Open Referral UK services: one service, a paginated list (`contents`), or an
/// organisation with its `services`. All or nothing: one invalid service refuses the whole
/// import, naming each problem.
#[utoipa::path(
    post, path = "/directory/import", operation_id = "importDirectory", tag = "directory",
    request_body(content = Object, description = "An Open Referral UK service, a page of them, or an organisation with its services", content_type = "application/json"),
    responses(
        (status = 200, description = "Imported", body = ImportResult),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A service lacks a required field or has an invalid one", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn import_directory(
    State(state): State<AppState>,
    principal: Principal,
    body: axum::body::Bytes,
) -> Result<Json<ImportResult>> {
    principal.require(IMPORT_ROLES)?;
    import(&state, &body).await.map(Json)
}

/// Who may import the directory.
pub const IMPORT_ROLES: &[Role] = &[Role::ServiceManager, Role::Admin];

/// Imports an Open Referral UK JSON body, all or nothing (`importDirectory` and the
/// import page).
pub async fn import(state: &AppState, body: &[u8]) -> Result<ImportResult> {
    let value: Value = parse_body(body)?;
    let services = directory::parse_import(&value).map_err(ApiError::Validation)?;
    let client = state.db.client().await?;
    let upserted = directory::upsert(&client, &services).await?;
    Ok(ImportResult {
        upserted,
        ids: services.into_iter().map(|s| s.id).collect(),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DirectoryQuery {
    /// Words in the name, description or organisation.
    pub q: Option<String>,
    /// A taxonomy term (or its id).
    pub category: Option<String>,
    /// A place in the service area or a location's town or postcode.
    pub area: Option<String>,
    /// Only services that take new connections (true) or only those that do not (false).
    pub accepting: Option<bool>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
}

/// A page of directory services.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryPage {
    pub total: i64,
    pub items: Vec<DirectoryEntry>,
}

/// Search the directory of community services.
#[utoipa::path(
    get, path = "/directory", operation_id = "listDirectory", tag = "directory",
    params(DirectoryQuery),
    responses(
        (status = 200, description = "Matching services", body = DirectoryPage),
        (status = 403, description = "Role not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid paging", body = Problem, content_type = "application/problem+json"),
        linkway_platform::problem::CommonProblems,
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn list_directory(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<DirectoryQuery>,
) -> Result<Json<DirectoryPage>> {
    principal.require(&[Role::LinkWorker, Role::ServiceManager, Role::Admin])?;
    let mut errors = Vec::new();
    let linkway_platform::http::Paging { limit, offset } =
        linkway_platform::http::Paging::read(q.limit, q.offset, &mut errors);
    let mut search =
        |field: &str, raw: Option<&str>| fields::optional(&mut errors, field, raw, fields::SEARCH);
    let (text, category, area) = (
        search("q", q.q.as_deref()),
        search("category", q.category.as_deref()),
        search("area", q.area.as_deref()),
    );
    check(errors)?;
    let client = state.db.client().await?;
    let (total, items) = directory::search(
        &client,
        text.as_deref(),
        category.as_deref(),
        area.as_deref(),
        q.accepting,
        limit,
        offset,
    )
    .await?;
    Ok(Json(DirectoryPage { total, items }))
}
