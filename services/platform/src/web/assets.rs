//! `/assets/`: nhsuk-frontend's styles, scripts and images, served from the installed npm
//! package (`web/node_modules/nhsuk-frontend/dist/nhsuk`, installed by `deploy/assets.sh`;
//! `LINKWAY_ASSETS_DIR`). The stylesheet asks for its images at `/assets/images/`, which is
//! the package's `assets/images`. Without the folder, pages still work, unstyled.

use std::path::Path;

use axum::http::header;
use axum::routing::get;
use tower_http::services::ServeDir;

/// Starts nhsuk-frontend's components (the error summary takes focus, radios and
/// buttons behave as the design system says); pages work without it.
const START: &str = "import { initAll } from './nhsuk-frontend.min.js';\ninitAll();\n";

/// The asset routes (none but the starter when there is no folder).
pub fn routes(dist: Option<&Path>) -> axum::Router {
    let start = axum::Router::new().route(
        "/assets/linkway.mjs",
        get(|| async {
            (
                [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                START,
            )
        }),
    );
    match dist {
        Some(dist) => start.nest_service(
            "/assets",
            ServeDir::new(dist.join("assets")).fallback(ServeDir::new(dist)),
        ),
        None => start,
    }
}
