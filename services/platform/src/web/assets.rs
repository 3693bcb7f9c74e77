//! `/assets/`: nhsuk-frontend's styles, scripts and images, served from the installed npm
//! package (`web/node_modules/nhsuk-frontend/dist/nhsuk`, installed by `deploy/assets.sh`;
//! `LINKWAY_ASSETS_DIR`). The stylesheet asks for its images at `/assets/images/`, which is
//! the package's `assets/images`. Without the folder, pages still work, unstyled.

use std::path::Path;

use tower_http::services::ServeDir;

/// The asset routes (none when there is no folder).
pub fn routes(dist: Option<&Path>) -> axum::Router {
    match dist {
        Some(dist) => axum::Router::new().nest_service(
            "/assets",
            ServeDir::new(dist.join("assets")).fallback(ServeDir::new(dist)),
        ),
        None => axum::Router::new(),
    }
}
