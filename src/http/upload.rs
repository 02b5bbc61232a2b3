//! Forms with files (multipart): the public ticket form and the agent's
//! reply. Bounded in number, size and type; names made safe to store.

use std::collections::HashMap;

use axum::extract::Multipart;

/// What a form may carry.
pub struct Rules {
    /// Bytes of all files together.
    pub total_max: usize,
    pub files_max: usize,
    /// Content types taken as they are; None takes any (kept, always served
    /// as a download).
    pub types: Option<&'static [&'static str]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    TooLarge,
    TooMany,
    Type,
}

pub type File = (String, String, Vec<u8>);

/// The text fields (at most 20) and the files (`name="files"`) of a form.
pub async fn read(mut m: Multipart, rules: &Rules) -> Result<(HashMap<String, String>, Vec<File>), Refused> {
    let mut fields = HashMap::new();
    let mut files = Vec::new();
    let mut total = 0usize;
    while let Some(f) = m.next_field().await.map_err(|_| Refused::TooLarge)? {
        let name = f.name().unwrap_or("").to_string();
        if name == "files" {
            let file_name = crate::sanitize::file_name(f.file_name().unwrap_or("")).unwrap_or_else(|| "file".into());
            let ct = f
                .content_type()
                .unwrap_or("application/octet-stream")
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            let data = f.bytes().await.map_err(|_| Refused::TooLarge)?;
            // An empty file input still sends a part.
            if data.is_empty() {
                continue;
            }
            total += data.len();
            if total > rules.total_max {
                return Err(Refused::TooLarge);
            }
            if files.len() >= rules.files_max {
                return Err(Refused::TooMany);
            }
            let ct = match rules.types {
                Some(types) if !types.contains(&ct.as_str()) => return Err(Refused::Type),
                Some(_) => ct,
                // Anything else is stored as bytes, never as something a
                // browser would render.
                None if ct.is_empty() || ct.contains(['\r', '\n']) || ct.len() > 100 => {
                    "application/octet-stream".into()
                }
                None => ct,
            };
            files.push((file_name, ct, data.to_vec()));
        } else if fields.len() < 20 {
            let text = f.text().await.map_err(|_| Refused::TooLarge)?;
            fields.insert(name, text);
        }
    }
    Ok((fields, files))
}
