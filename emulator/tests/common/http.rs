//! A tiny JSON-over-HTTP client for the API tests.

use reqwest::StatusCode;
use serde_json::Value;

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Api {
    pub fn new(base: String) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Self { base, http }
    }

    async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        Self::answer(resp).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Answer {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request");
        Self::answer(resp).await
    }

    pub async fn form(
        &self,
        path: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> Answer {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some((user, pass)) = basic {
            req = req.basic_auth(user, Some(pass));
        }
        Self::answer(req.send().await.expect("request")).await
    }

    pub async fn raw_get(&self, url: &str) -> reqwest::Response {
        self.http.get(url).send().await.expect("request")
    }
}

/// A transfer document between two collections.
pub fn transfer_doc(
    src: uuid::Uuid,
    dst: uuid::Uuid,
    items: &[(&str, &str)],
    extra: Value,
) -> Value {
    let mut doc = serde_json::json!({
        "DATA_TYPE": "transfer",
        "submission_id": uuid::Uuid::new_v4(),
        "source_endpoint": src,
        "destination_endpoint": dst,
        "DATA": items.iter().map(|(s, d)| serde_json::json!({
            "DATA_TYPE": "transfer_item", "source_path": s, "destination_path": d})).collect::<Vec<_>>(),
    });
    if let (Value::Object(d), Value::Object(e)) = (&mut doc, extra) {
        d.extend(e);
    }
    doc
}
