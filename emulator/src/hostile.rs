//! Hostile answers: what a broken proxy, a wrong URL or a misbehaving service sends back.
//!
//! A client that trusts its server's bytes panics, hangs or reads without bound when the
//! server is not what it expects. These answers let tests prove the client does none of that:
//! bodies that are not JSON, JSON of the wrong shape, bodies too large to hold, statuses that
//! make no sense for the call, answers that arrive a byte a second, and redirects to another
//! host (which must never receive the client's token).

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::faults::Fault;

/// The most of a real answer read back to reshape it.
const RESHAPE_LIMIT: usize = 64 << 20;

/// The address `Redirect` sends clients to by default: TEST-NET-2, which routes nowhere.
const ELSEWHERE: &str = "http://198.51.100.1";

/// Whether this fault needs the real answer to build its own.
pub(crate) fn reshapes(fault: &Fault) -> bool {
    matches!(fault, Fault::WrongTypes | Fault::SlowDrip { .. })
}

/// The answer of a fault that replaces the real one, or `None` when it is not such a fault.
pub(crate) fn answer(fault: &Fault, path: &str, query: Option<&str>) -> Option<Response> {
    let response = match fault {
        Fault::MalformedJson => json_response(
            StatusCode::OK,
            Body::from(r#"{"DATA_TYPE": "task_list", "DATA": [{"task_id": "#),
        ),
        Fault::HugeBody { bytes, declared } => huge(*bytes, *declared),
        Fault::BareStatus { status } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = Response::new(Body::empty());
            *r.status_mut() = status;
            r
        }
        Fault::Redirect { location } => {
            let default = match query {
                Some(q) => format!("{ELSEWHERE}{path}?{q}"),
                None => format!("{ELSEWHERE}{path}"),
            };
            let target = location
                .as_deref()
                .and_then(|l| HeaderValue::from_str(l).ok())
                .or_else(|| HeaderValue::from_str(&default).ok())
                .unwrap_or(HeaderValue::from_static(ELSEWHERE));
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::FOUND;
            r.headers_mut().insert(header::LOCATION, target);
            r
        }
        _ => return None,
    };
    Some(response)
}

/// Turns the real answer into the fault's version of it.
pub(crate) async fn reshape(fault: &Fault, response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, RESHAPE_LIMIT).await else {
        return json_response(StatusCode::INTERNAL_SERVER_ERROR, Body::empty());
    };
    let bytes = bytes.to_vec();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = match fault {
        Fault::WrongTypes => Body::from(wrong_types(&bytes)),
        Fault::SlowDrip { bytes_per_second } => {
            if let Ok(v) = HeaderValue::from_str(&bytes.len().to_string()) {
                parts.headers.insert(header::CONTENT_LENGTH, v);
            }
            drip(bytes, *bytes_per_second)
        }
        _ => Body::from(bytes),
    };
    Response::from_parts(parts, body)
}

fn json_response(status: StatusCode, body: Body) -> Response {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A body that opens a JSON document and then sends only spaces, `bytes` in all, produced
/// as it is sent (the emulator never holds it).
fn huge(bytes: u64, declared: bool) -> Response {
    const CHUNK: u64 = 64 << 10;
    const HEAD: &[u8] = br#"{"DATA": ["#;
    let stream = futures_util::stream::unfold(0u64, move |sent| async move {
        if sent >= bytes {
            return None;
        }
        let n = (bytes - sent).min(CHUNK);
        let mut chunk = vec![b' '; usize::try_from(n).unwrap_or(0)];
        if sent == 0 {
            let head = HEAD.len().min(chunk.len());
            chunk[..head].copy_from_slice(&HEAD[..head]);
        }
        Some((Ok::<_, std::io::Error>(chunk), sent + n))
    });
    let mut r = json_response(StatusCode::OK, Body::from_stream(stream));
    if declared && let Ok(v) = HeaderValue::from_str(&bytes.to_string()) {
        r.headers_mut().insert(header::CONTENT_LENGTH, v);
    }
    r
}

/// `bytes`, sent `rate` bytes a second.
fn drip(bytes: Vec<u8>, rate: u64) -> Body {
    let step = usize::try_from(rate.max(1)).unwrap_or(usize::MAX);
    let stream = futures_util::stream::unfold(0usize, move |at| {
        let chunk = bytes
            .get(at..)
            .map(|rest| rest[..rest.len().min(step)].to_vec());
        async move {
            let chunk = chunk.filter(|c| !c.is_empty())?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let next = at + chunk.len();
            Some((Ok::<_, std::io::Error>(chunk), next))
        }
    });
    Body::from_stream(stream)
}

/// The JSON object in `bytes` with every top-level value replaced by one of another type;
/// anything else unchanged.
fn wrong_types(bytes: &[u8]) -> Vec<u8> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(bytes) else {
        return bytes.to_vec();
    };
    let swapped: serde_json::Map<String, Value> = map
        .into_iter()
        .map(|(k, v)| {
            let other = match v {
                Value::String(_) => json!(42),
                Value::Number(_) => json!("42"),
                Value::Bool(_) => json!("yes"),
                Value::Array(_) => json!("not a list"),
                Value::Object(_) => json!(["not", "an", "object"]),
                Value::Null => json!({}),
            };
            (k, other)
        })
        .collect();
    serde_json::to_vec(&Value::Object(swapped)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_types_swaps_every_top_level_type() {
        let out = wrong_types(br#"{"task_id": "abc", "DATA": [], "n": 1, "ok": true}"#);
        let v: Value = serde_json::from_slice(&out).expect("still JSON");
        assert_eq!(v["task_id"], json!(42));
        assert_eq!(v["DATA"], json!("not a list"));
        assert_eq!(v["n"], json!("42"));
        assert_eq!(v["ok"], json!("yes"));
        assert_eq!(wrong_types(b"not json"), b"not json");
    }

    #[tokio::test]
    async fn a_huge_body_has_the_size_asked_for() {
        let r = huge(200_000, true);
        assert_eq!(
            r.headers().get(header::CONTENT_LENGTH),
            Some(&HeaderValue::from_static("200000"))
        );
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(body.len(), 200_000);
        assert!(body.starts_with(br#"{"DATA": ["#));
    }

    #[test]
    fn a_redirect_defaults_to_another_host_with_the_same_path() {
        let r = answer(
            &Fault::Redirect { location: None },
            "/v0.10/task_list",
            Some("limit=1"),
        )
        .expect("an answer");
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(
            r.headers().get(header::LOCATION),
            Some(&HeaderValue::from_static(
                "http://198.51.100.1/v0.10/task_list?limit=1"
            ))
        );
    }
}
