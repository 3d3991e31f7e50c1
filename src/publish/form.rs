//! The multipart body of the upload step (docs/protocol.md §5.3), read with every part
//! bounded: the archive by the registry's limit, each text field by a few KiB and the
//! whole body by the archive limit plus a little. A body that breaks a bound is refused
//! as soon as it does, before the rest of it is read.

use super::Refusal;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

/// The bounds of one upload form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormLimits {
    /// Bytes of the `file` part.
    pub archive: u64,
    /// Bytes of every other part (`upload_id` is 32 characters).
    pub text: u64,
}

/// What the text parts, part headers and boundaries may add to the archive.
pub const OVERHEAD: u64 = 64 << 10;

impl FormLimits {
    /// The limits for archives of at most `archive` bytes.
    pub fn for_archive(archive: u64) -> FormLimits {
        FormLimits {
            archive,
            text: 4 << 10,
        }
    }

    /// The most bytes a whole upload body may have.
    pub fn body(&self) -> u64 {
        self.archive.saturating_add(OVERHEAD)
    }
}

/// The parts of the form that tagpub uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadForm {
    pub upload_id: String,
    pub archive: Vec<u8>,
}

/// Why an upload body was refused; the messages are for the person publishing.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("the upload is not multipart/form-data with a boundary; use `dart pub publish`")]
    NotMultipart,
    #[error(
        "the archive is larger than this registry's limit of {} MiB; make the package smaller (check .pubignore)",
        limit >> 20
    )]
    ArchiveTooLarge { limit: u64 },
    #[error("the form field `{name}` is longer than {limit} bytes; use `dart pub publish`")]
    FieldTooLarge { name: String, limit: u64 },
    #[error(
        "the upload is larger than this registry's limit of {} MiB for an archive and its form; make the package smaller (check .pubignore)",
        limit >> 20
    )]
    BodyTooLarge { limit: u64 },
    #[error("the form has the field `{name}` twice; use `dart pub publish`")]
    Duplicate { name: &'static str },
    #[error(
        "the upload needs the upload_id field and a file part named `file`; use `dart pub publish`"
    )]
    MissingFields,
    #[error("the upload_id field is not text")]
    NotText,
    #[error("the upload is not valid multipart/form-data: {0}")]
    Malformed(#[source] multer::Error),
    #[error("the upload was cut off before its end; try again")]
    CutOff(#[source] multer::Error),
}

impl FormError {
    /// The kind of refusal and the GCS-style error code the client shows.
    pub fn kind_and_code(&self) -> (Refusal, &'static str) {
        match self {
            FormError::ArchiveTooLarge { .. }
            | FormError::FieldTooLarge { .. }
            | FormError::BodyTooLarge { .. } => (Refusal::TooLarge, "EntityTooLarge"),
            FormError::CutOff(_) => (Refusal::Invalid, "IncompleteBody"),
            FormError::MissingFields => (Refusal::Invalid, "MissingFields"),
            _ => (Refusal::Invalid, "MalformedPOSTRequest"),
        }
    }

    fn from_multer(e: multer::Error, limits: &FormLimits) -> FormError {
        match e {
            multer::Error::FieldSizeExceeded { field_name, .. }
                if field_name.as_deref() == Some("file") =>
            {
                FormError::ArchiveTooLarge {
                    limit: limits.archive,
                }
            }
            multer::Error::FieldSizeExceeded { field_name, limit } => FormError::FieldTooLarge {
                name: shown_name(field_name.as_deref().unwrap_or("")),
                limit,
            },
            multer::Error::StreamSizeExceeded { limit } => FormError::BodyTooLarge { limit },
            e @ (multer::Error::IncompleteStream
            | multer::Error::IncompleteFieldData { .. }
            | multer::Error::IncompleteHeaders
            | multer::Error::StreamReadFailed(_)) => FormError::CutOff(e),
            e => FormError::Malformed(e),
        }
    }
}

/// A field name as it may appear in a message: printable ASCII, at most 40 characters.
fn shown_name(name: &str) -> String {
    name.chars()
        .take(40)
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect()
}

/// Reads the upload form from `body`, a request body with `Content-Type` `content_type`.
/// Other fields are read (within the bounds) and ignored, as a storage service would.
/// The body is borrowed, so that after a refusal the caller can still read what is left
/// of it.
pub async fn read_upload_form<S, E>(
    body: &mut S,
    content_type: Option<&str>,
    limits: FormLimits,
) -> Result<UploadForm, FormError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let boundary = content_type
        .and_then(|c| multer::parse_boundary(c).ok())
        .ok_or(FormError::NotMultipart)?;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limits.body())
            .per_field(limits.text)
            .for_field("file", limits.archive),
    );
    let mut form = multer::Multipart::with_constraints(body.by_ref(), boundary, constraints);
    let fail = |e| FormError::from_multer(e, &limits);
    let (mut upload_id, mut archive) = (None, None);
    while let Some(mut field) = form.next_field().await.map_err(fail)? {
        match field.name() {
            Some("upload_id") if upload_id.is_some() => {
                return Err(FormError::Duplicate { name: "upload_id" });
            }
            Some("file") if archive.is_some() => {
                return Err(FormError::Duplicate { name: "file" });
            }
            Some("upload_id") => {
                let bytes = field.bytes().await.map_err(fail)?;
                let text = String::from_utf8(bytes.to_vec()).map_err(|_| FormError::NotText)?;
                upload_id = Some(text);
            }
            Some("file") => archive = Some(field.bytes().await.map_err(fail)?.to_vec()),
            _ => while field.chunk().await.map_err(fail)?.is_some() {},
        }
    }
    match (upload_id, archive) {
        (Some(upload_id), Some(archive)) => Ok(UploadForm { upload_id, archive }),
        _ => Err(FormError::MissingFields),
    }
}

/// [`read_upload_form`] on a body that is all in memory, without an async runtime:
/// every read completes at once.
pub fn read_upload_form_from(
    body: Bytes,
    content_type: Option<&str>,
    limits: FormLimits,
) -> Result<UploadForm, FormError> {
    use futures_util::FutureExt;
    let mut stream = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(body)]);
    read_upload_form(&mut stream, content_type, limits)
        .now_or_never()
        .expect("a body in memory never makes the reader wait")
}

#[cfg(test)]
mod tests;
