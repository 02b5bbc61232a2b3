//! The files we ship to browsers: the chat widget, the form script, the
//! console's script and styles. Each is compressed once (brotli and gzip),
//! named by its content's hash, and served from a versioned address with a
//! year's immutable cache; the old address keeps working with a short one.
//! The widget's snippet address, `/widget.js`, never changes (stores paste
//! it once), so it serves a loader of a few hundred bytes that pulls the
//! versioned widget.

use std::io::Write;
use std::sync::OnceLock;

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub struct Asset {
    /// The file name in its versioned address, `/static/v/HASH/NAME`.
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
    ready: OnceLock<Ready>,
}

struct Ready {
    hash: String,
    etag: HeaderValue,
    // Bytes: every answer shares these instead of copying them.
    br: Bytes,
    gzip: Bytes,
}

impl Asset {
    const fn new(name: &'static str, content_type: &'static str, body: &'static str) -> Self {
        Self {
            name,
            content_type,
            body,
            ready: OnceLock::new(),
        }
    }

    fn ready(&self) -> &Ready {
        self.ready.get_or_init(|| {
            let hash = hex::encode(&Sha256::digest(self.body.as_bytes())[..8]);
            let mut br = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut br, 4096, 11, 22);
                w.write_all(self.body.as_bytes()).expect("writing to memory");
            }
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(self.body.as_bytes()).expect("writing to memory");
            Ready {
                etag: HeaderValue::from_str(&format!("\"{hash}\"")).expect("hex is a valid header"),
                hash,
                br: br.into(),
                gzip: gz.finish().expect("writing to memory").into(),
            }
        })
    }

    /// The versioned address, for pages and the loader.
    pub fn url(&self) -> String {
        format!("/static/v/{}/{}", self.ready().hash, self.name)
    }

    /// Sizes as sent: plain, gzip, brotli.
    pub fn sizes(&self) -> (usize, usize, usize) {
        let r = self.ready();
        (self.body.len(), r.gzip.len(), r.br.len())
    }

    /// The file, compressed as the client accepts, with `cache`; 304 when
    /// the client has this version.
    fn serve(&self, headers: &HeaderMap, cache: &'static str) -> Response {
        let r = self.ready();
        let mut common = vec![
            (header::CONTENT_TYPE, HeaderValue::from_static(self.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (header::ETAG, r.etag.clone()),
            (header::VARY, HeaderValue::from_static("accept-encoding")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ];
        let matches = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .any(|t| t.trim().trim_start_matches("W/") == r.etag.to_str().unwrap_or(""))
            });
        if matches {
            common.retain(|(h, _)| *h != header::CONTENT_TYPE);
            return with_headers(StatusCode::NOT_MODIFIED, common, Bytes::new());
        }
        let accepts = |coding: &str| {
            headers
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| {
                    v.split(',').any(|c| {
                        let mut parts = c.split(';');
                        parts.next().is_some_and(|n| n.trim().eq_ignore_ascii_case(coding))
                            && !parts.any(|q| q.trim().replace(' ', "") == "q=0")
                    })
                })
        };
        if accepts("br") {
            common.push((header::CONTENT_ENCODING, HeaderValue::from_static("br")));
            with_headers(StatusCode::OK, common, r.br.clone())
        } else if accepts("gzip") {
            common.push((header::CONTENT_ENCODING, HeaderValue::from_static("gzip")));
            with_headers(StatusCode::OK, common, r.gzip.clone())
        } else {
            with_headers(StatusCode::OK, common, Bytes::from_static(self.body.as_bytes()))
        }
    }
}

fn with_headers(status: StatusCode, headers: Vec<(header::HeaderName, HeaderValue)>, body: Bytes) -> Response {
    let mut r = (status, body).into_response();
    for (k, v) in headers {
        r.headers_mut().insert(k, v);
    }
    r
}

pub static WIDGET: Asset = Asset::new(
    "widget.js",
    "application/javascript; charset=utf-8",
    include_str!("../../static/widget.js"),
);
pub static FORM: Asset = Asset::new(
    "form.js",
    "application/javascript; charset=utf-8",
    include_str!("../../static/form.js"),
);
pub static SURVEY: Asset = Asset::new(
    "survey.js",
    "application/javascript; charset=utf-8",
    include_str!("../../static/survey.js"),
);
pub static CONSOLE_JS: Asset = Asset::new(
    "console.js",
    "application/javascript; charset=utf-8",
    include_str!("../../static/console.js"),
);
pub static CONSOLE_CSS: Asset = Asset::new(
    "console.css",
    "text/css; charset=utf-8",
    include_str!("../../static/console.css"),
);

const ALL: [&Asset; 5] = [&WIDGET, &FORM, &SURVEY, &CONSOLE_JS, &CONSOLE_CSS];

const YEAR: &str = "public, max-age=31536000, immutable";
/// The unversioned addresses: a shop's pages and old pages keep working,
/// and a new version is picked up within minutes.
const SHORT: &str = "public, max-age=300, stale-while-revalidate=86400";

/// `/static/v/{hash}/{name}`: immutable when the hash is this version's;
/// an older hash (a page cached before a deploy) gets today's file, briefly.
pub async fn versioned(Path((hash, name)): Path<(String, String)>, headers: HeaderMap) -> Response {
    match ALL.iter().find(|a| a.name == name) {
        Some(a) if a.ready().hash == hash => a.serve(&headers, YEAR),
        Some(a) => a.serve(&headers, SHORT),
        None => crate::error::AppError::not_found("file").into_response(),
    }
}

/// An unversioned address (`/static/form.js`, `/static/console.css`).
pub fn plain(asset: &'static Asset, headers: &HeaderMap) -> Response {
    asset.serve(headers, SHORT)
}

/// `/widget.js`, the address in every store's snippet: a loader that adds
/// the versioned widget with the snippet's own attributes, so the widget
/// finds its workspace and language as if the snippet had named it.
pub async fn widget_loader(headers: HeaderMap) -> Response {
    static LOADER: OnceLock<Asset> = OnceLock::new();
    let loader = LOADER.get_or_init(|| {
        let js = format!(
            "(function(){{var s=document.currentScript;if(!s)return;var w=document.createElement('script');\
             w.src=new URL('{}',s.src).href;w.async=true;for(var i=0;i<s.attributes.length;i++){{var a=s.attributes[i];\
             if(a.name.indexOf('data-')===0)w.setAttribute(a.name,a.value);}}(s.parentNode||document.head).appendChild(w);}})();\n",
            WIDGET.url()
        );
        Asset::new("widget-loader.js", "application/javascript; charset=utf-8", Box::leak(js.into_boxed_str()))
    });
    loader.serve(&headers, SHORT)
}

/// The versioned addresses, for templates.
pub fn urls() -> minijinja::Value {
    minijinja::context! { console_js => CONSOLE_JS.url(), console_css => CONSOLE_CSS.url(), form_js => FORM.url(), survey_js => SURVEY.url() }
}

#[cfg(test)]
mod tests {
    /// The widget loads on every page of a store: its budget is 30 KB
    /// gzipped (as served).
    #[test]
    fn widget_stays_within_its_gzipped_budget() {
        let (plain, gzip, _) = super::WIDGET.sizes();
        assert!(
            gzip <= 30 * 1024,
            "widget.js is {gzip} bytes gzipped ({plain} plain), over 30 KB"
        );
    }
}
