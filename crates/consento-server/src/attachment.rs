//! A file answered as a download, by the API and the console alike: a person's data export.
//! Never cached (RFC 9111 §5.2.2.5: a whole record of a person must not stay in a cache), offered
//! under its name (RFC 6266).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consento_app::export::Download;

/// `file` as an HTTP answer: its media type, no caching, and its name as an attachment.
pub fn attachment(file: Download) -> Response {
    let mut response = (StatusCode::OK, file.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.filename)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}
