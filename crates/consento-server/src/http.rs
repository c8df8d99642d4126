//! The answers the API and the console give alike over HTTP: a download (a person's data export,
//! a consent receipt, the list of numbers for the opt-out register) and the streamed newsletter
//! audience. All hold personal data: never cached (RFC 9111 §5.2.2.5), a download offered under
//! its name (RFC 6266).

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use consento_app::audience::{AudienceFormat, AudienceStream, ExportEnd};
use consento_app::export::Download;
use tokio::task::JoinHandle;

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

/// The header of the opt-out register's list that gives how many numbers it holds.
pub const COUNT_HEADER: &str = "consento-count";

/// The list of numbers to send to the opt-out register, as a download named by its local `day`
/// (`rpo-2026-03-02.txt`): plain UTF-8 text, never cached, its count in [`COUNT_HEADER`].
pub fn rpo_list(text: String, count: usize, day: Option<&str>) -> Response {
    let mut response = (StatusCode::OK, text).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(COUNT_HEADER, HeaderValue::from(count));
    let name = day.map_or_else(|| "rpo.txt".to_owned(), |d| format!("rpo-{d}.txt"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// The header that tells which instant the audience was computed for: ask the counts with the
/// same instant for the counts of the same send.
pub const AUDIENCE_AT_HEADER: &str = "consento-audience-at";

/// A started audience export as a streamed answer in `format`: its media type, no caching, and
/// the instant it was computed for; and how the export ended, once it has. If the database fails mid-way the body ends without its
/// final chunk, so a partial list is never taken for a whole one.
pub fn audience(
    stream: AudienceStream,
    format: AudienceFormat,
) -> (Response, JoinHandle<ExportEnd>) {
    let mut rx = stream.chunks;
    // The body keeps the export's slot until it is dropped: after its last chunk, or when the
    // reader goes away.
    let slot = stream.slot;
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| {
        let _holds = &slot;
        rx.poll_recv(cx).map(|c| c.map(|c| c.map(Bytes::from)))
    }));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&stream.at.to_rfc3339()) {
        headers.insert(AUDIENCE_AT_HEADER, v);
    }
    (response, stream.end)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::to_bytes;
    use tokio::sync::{Semaphore, mpsc};

    use super::*;

    #[tokio::test]
    async fn an_audience_answer_holds_its_export_slot_until_its_body_is_read_or_dropped() {
        let slots = Arc::new(Semaphore::new(1));
        for read in [true, false] {
            let (tx, chunks) = mpsc::channel(4);
            tx.send(Ok(b"contact_id\r\n".to_vec())).await.unwrap();
            // The task that read the list has ended: only the answer can hold the slot now.
            drop(tx);
            let stream = AudienceStream {
                chunks,
                at: consento_domain::Timestamp::from_micros(0),
                end: tokio::spawn(async {
                    ExportEnd {
                        rows: 0,
                        complete: true,
                    }
                }),
                slot: Arc::new(Arc::clone(&slots).try_acquire_owned().unwrap()),
            };
            let (response, _) = audience(stream, AudienceFormat::Csv);
            assert_eq!(slots.available_permits(), 0, "while the body is unread");
            if read {
                let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
                assert_eq!(&body[..], b"contact_id\r\n");
            } else {
                drop(response);
            }
            assert_eq!(
                slots.available_permits(),
                1,
                "once the body is read: {read}"
            );
        }
    }
}
