//! Reading Bot API parameters from a query string, a JSON body, a form body or a multipart body.
//!
//! Everything lands in one JSON map. Query and form values are strings; the getters accept a
//! number or its decimal string, and JSON-valued fields (`reply_markup`, `allowed_updates`) as
//! JSON or as a JSON string, which is what Telegram-style clients send in forms.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::server::ApiFail;

/// A file part of a multipart body.
#[derive(Debug, Clone)]
pub(crate) struct FilePart {
    pub(crate) file_name: String,
    pub(crate) size: usize,
}

/// The parameters of one call.
#[derive(Debug, Default)]
pub(crate) struct Params {
    pub(crate) map: Map<String, Value>,
    pub(crate) files: Vec<(String, FilePart)>,
}

fn form_pairs(bytes: &[u8], map: &mut Map<String, Value>) -> Result<(), ApiFail> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
        .map_err(|e| ApiFail::bad_request(format!("can't parse the form: {e}")))?;
    for (k, v) in pairs {
        map.insert(k, Value::String(v));
    }
    Ok(())
}

impl Params {
    /// Reads the query string, then the body by its content type (body values win).
    pub(crate) async fn read(
        query: Option<&str>,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<Self, ApiFail> {
        let mut params = Self::default();
        if let Some(q) = query {
            form_pairs(q.as_bytes(), &mut params.map)?;
        }
        if body.is_empty() {
            return Ok(params);
        }
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        if ct.starts_with("multipart/form-data") {
            params
                .read_multipart(content_type.unwrap_or(""), body)
                .await?;
        } else if ct.starts_with("application/x-www-form-urlencoded") {
            form_pairs(&body, &mut params.map)?;
        } else {
            // JSON is the default, whatever the content type says.
            match serde_json::from_slice::<Value>(&body) {
                Ok(Value::Object(obj)) => params.map.extend(obj),
                Ok(_) => return Err(ApiFail::bad_request("the JSON body must be an object")),
                Err(e) => return Err(ApiFail::bad_request(format!("can't parse JSON: {e}"))),
            }
        }
        Ok(params)
    }

    async fn read_multipart(&mut self, content_type: &str, body: Bytes) -> Result<(), ApiFail> {
        let boundary = multer::parse_boundary(content_type)
            .map_err(|e| ApiFail::bad_request(format!("bad multipart content type: {e}")))?;
        let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        let bad = |e: multer::Error| ApiFail::bad_request(format!("bad multipart body: {e}"));
        while let Some(field) = multipart.next_field().await.map_err(bad)? {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(file_name) => {
                    let bytes = field.bytes().await.map_err(bad)?;
                    self.files.push((
                        name,
                        FilePart {
                            file_name,
                            size: bytes.len(),
                        },
                    ));
                }
                None => {
                    let text = field.text().await.map_err(bad)?;
                    self.map.insert(name, Value::String(text));
                }
            }
        }
        Ok(())
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// An optional integer (a JSON number or a decimal string).
    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, ApiFail> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let parsed = match v {
            Value::Number(n) => n.as_i64().or_else(|| {
                let f = n.as_f64()?;
                #[expect(clippy::cast_possible_truncation, reason = "checked integral")]
                (f.fract() == 0.0 && f.abs() < 9e15).then_some(f as i64)
            }),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        parsed
            .map(Some)
            .ok_or_else(|| ApiFail::bad_request(format!("parameter \"{name}\" must be an integer")))
    }

    /// A required integer.
    pub(crate) fn req_int(&self, name: &str) -> Result<i64, ApiFail> {
        self.int(name)?.ok_or_else(|| missing(name))
    }

    /// An optional string (a number is accepted as its decimal text).
    pub(crate) fn str(&self, name: &str) -> Result<Option<String>, ApiFail> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(ApiFail::bad_request(format!(
                "parameter \"{name}\" must be a string"
            ))),
        }
    }

    /// A required string.
    pub(crate) fn req_str(&self, name: &str) -> Result<String, ApiFail> {
        self.str(name)?.ok_or_else(|| missing(name))
    }

    /// An optional boolean (`true`/`false`, or their string forms, or 1/0).
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, ApiFail> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "1" => Ok(Some(true)),
            Some(Value::String(s)) if s == "false" || s == "0" || s.is_empty() => Ok(Some(false)),
            Some(Value::Number(n)) => Ok(Some(n.as_i64() != Some(0))),
            Some(_) => Err(ApiFail::bad_request(format!(
                "parameter \"{name}\" must be a boolean"
            ))),
        }
    }

    /// An optional JSON-valued parameter, given as JSON or as a JSON string.
    pub(crate) fn json<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ApiFail> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let bad = |e: serde_json::Error| {
            ApiFail::bad_request(format!("can't parse parameter \"{name}\": {e}"))
        };
        let value = match v {
            Value::String(s) => serde_json::from_str::<Value>(s).map_err(bad)?,
            other => other.clone(),
        };
        serde_json::from_value(value).map(Some).map_err(bad)
    }

    /// The raw JSON value of a JSON-valued parameter (decoded when given as a string).
    pub(crate) fn raw_json(&self, name: &str) -> Result<Option<Value>, ApiFail> {
        self.json::<Value>(name)
    }

    /// A media parameter: a URL string or an uploaded file part.
    pub(crate) fn media(&self, name: &str) -> Result<Value, ApiFail> {
        if let Some((_, file)) = self.files.iter().find(|(n, _)| n == name) {
            return Ok(serde_json::json!({
                "file_name": file.file_name,
                "file_size": file.size,
                "uploaded": true,
            }));
        }
        match self.str(name)? {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Ok(serde_json::json!({ "url": url }))
            }
            Some(_) => Err(ApiFail::bad_request(format!(
                "parameter \"{name}\" must be a public URL or a multipart upload (no file_id reuse)"
            ))),
            None => Err(missing(name)),
        }
    }
}

fn missing(name: &str) -> ApiFail {
    ApiFail::bad_request(format!("parameter \"{name}\" is required"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(query: Option<&str>, ct: Option<&str>, body: &str) -> Params {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(Params::read(query, ct, Bytes::from(body.to_owned())))
            .unwrap()
    }

    #[test]
    fn query_form_and_json_values_read_alike() {
        let q = read(
            Some("chat_id=-42&allowed_updates=%5B%22message%22%5D"),
            None,
            "",
        );
        let f = read(
            None,
            Some("application/x-www-form-urlencoded"),
            "chat_id=-42&allowed_updates=%5B%22message%22%5D",
        );
        let j = read(
            None,
            Some("application/json"),
            r#"{"chat_id": -42, "allowed_updates": ["message"]}"#,
        );
        for p in [q, f, j] {
            assert_eq!(p.req_int("chat_id").unwrap(), -42);
            assert_eq!(
                p.json::<Vec<String>>("allowed_updates").unwrap(),
                Some(vec!["message".to_owned()])
            );
        }
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let p = read(Some("limit=abc"), None, "");
        assert!(p.int("limit").unwrap_err().description.contains("limit"));
        assert!(p.req_str("text").unwrap_err().description.contains("text"));
    }
}
