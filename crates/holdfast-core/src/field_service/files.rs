//! Photos and files on a job (a technician's photo from a phone on site, a signed PDF): the
//! limits, the types allowed — decided by the bytes, never by what the client declared — the
//! file name as it is kept, and the wire types.
//!
//! Why sniffing: the declared content type and the name's extension are the client's word; a
//! page or script renamed `.png` and served back from our origin would be a stored XSS. Only
//! formats recognised by their magic bytes are kept, with the type the bytes say; the download
//! adds `nosniff` and a sandboxing policy on top (`http/src/download.rs`).

use crate::error::{ApiError, ErrorCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The largest file: 10 MiB (a phone's photo at full size fits).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// At most this many files on one job.
pub const MAX_FILES_PER_JOB: i64 = 50;

/// The largest upload body: one file at [`MAX_FILE_BYTES`] and the form's framing (boundaries,
/// part headers). The edge lets bodies this large through on the upload routes only
/// ([`is_upload_path`]).
pub const UPLOAD_BODY_LIMIT: usize = MAX_FILE_BYTES + 64 * 1024;

/// The longest file name kept, in characters.
pub const MAX_FILENAME_CHARS: usize = 200;

/// Whether `path` is a job file upload: `/api/v1/jobs/{id}/files`, or the console's form at
/// `/app/jobs/{id}/files` (the job page posts a photo there). The edge allows
/// [`UPLOAD_BODY_LIMIT`] on these (POST only); every other body keeps the configured limit.
pub fn is_upload_path(path: &str) -> bool {
    let rest = path
        .strip_prefix("/api/v1/jobs/")
        .or_else(|| path.strip_prefix("/app/jobs/"));
    match rest.and_then(|r| r.split_once('/')) {
        Some((id, "files")) => !id.is_empty(),
        _ => false,
    }
}

/// What a file is for the console: a photo (shown as a picture) or any other file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Photo,
    File,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Photo => "photo",
            FileKind::File => "file",
        }
    }

    pub fn parse(text: &str) -> Option<FileKind> {
        match text {
            "photo" => Some(FileKind::Photo),
            "file" => Some(FileKind::File),
            _ => None,
        }
    }
}

/// A format a job file may have, as its bytes show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Jpeg,
    Png,
    Webp,
    Heic,
    Heif,
    Pdf,
}

/// The words a refusal uses for the allowed formats.
pub const ALLOWED_WORDS: &str = "JPEG, PNG, WebP, HEIC/HEIF photos or PDF documents";

impl FileType {
    /// The content type kept and served.
    pub fn content_type(self) -> &'static str {
        match self {
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
            FileType::Webp => "image/webp",
            FileType::Heic => "image/heic",
            FileType::Heif => "image/heif",
            FileType::Pdf => "application/pdf",
        }
    }

    /// Photos are the image formats; a PDF is a file.
    pub fn kind(self) -> FileKind {
        match self {
            FileType::Pdf => FileKind::File,
            _ => FileKind::Photo,
        }
    }

    /// The extension a name gets when it has none.
    pub fn extension(self) -> &'static str {
        match self {
            FileType::Jpeg => "jpg",
            FileType::Png => "png",
            FileType::Webp => "webp",
            FileType::Heic => "heic",
            FileType::Heif => "heif",
            FileType::Pdf => "pdf",
        }
    }

    /// The extensions a name of this format may end with (lower case).
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            FileType::Jpeg => &["jpg", "jpeg", "jpe"],
            FileType::Png => &["png"],
            FileType::Webp => &["webp"],
            FileType::Heic | FileType::Heif => &["heic", "heif"],
            FileType::Pdf => &["pdf"],
        }
    }

    /// The kept content type back (for a stored row); `None` for anything else.
    pub fn of_content_type(text: &str) -> Option<FileType> {
        [
            FileType::Jpeg,
            FileType::Png,
            FileType::Webp,
            FileType::Heic,
            FileType::Heif,
            FileType::Pdf,
        ]
        .into_iter()
        .find(|t| t.content_type() == text)
    }

    /// Whether a browser may show it in place (`Content-Disposition: inline`): the image
    /// formats every browser draws as a picture. HEIC and PDF download.
    pub fn inline(self) -> bool {
        matches!(self, FileType::Jpeg | FileType::Png | FileType::Webp)
    }
}

/// HEIF brands of HEVC-coded images (HEIC) and of the general image formats (HEIF).
const HEIC_BRANDS: &[&[u8; 4]] = &[b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"];
const HEIF_BRANDS: &[&[u8; 4]] = &[b"mif1", b"msf1"];

/// The format `bytes` are in, by their magic numbers; `None` for anything not allowed.
pub fn sniff(bytes: &[u8]) -> Option<FileType> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(FileType::Jpeg);
    }
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        return Some(FileType::Png);
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return Some(FileType::Webp);
    }
    if bytes.starts_with(b"%PDF-") {
        return Some(FileType::Pdf);
    }
    heif(bytes)
}

/// An ISO base media file whose `ftyp` box names a HEIF image brand (AVIF and video are not
/// among them).
fn heif(bytes: &[u8]) -> Option<FileType> {
    if bytes.get(4..8) != Some(b"ftyp") {
        return None;
    }
    let size = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let end = size.clamp(16, 256).min(bytes.len());
    let major: &[u8] = bytes.get(8..12)?;
    // The major brand, then the compatible brands after the minor version.
    let brands: Vec<&[u8]> = std::iter::once(major)
        .chain(bytes.get(16..end).unwrap_or_default().chunks_exact(4))
        .collect();
    if brands
        .iter()
        .any(|b| HEIC_BRANDS.iter().any(|h| h[..] == **b))
    {
        return Some(FileType::Heic);
    }
    if brands.iter().any(|b| *b == b"avif" || *b == b"avis") {
        return None;
    }
    if HEIF_BRANDS.iter().any(|h| h[..] == *major) {
        return Some(FileType::Heif);
    }
    None
}

/// Checks a file's bytes: 422 when empty, 413 over [`MAX_FILE_BYTES`], 415 when they are not
/// an allowed format (the declared type is named in the detail, to help whoever sent it).
/// The type the bytes show wins over the declared one.
pub fn check(bytes: &[u8], declared_type: Option<&str>) -> Result<FileType, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "the file is empty; choose the photo or document again",
        ));
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_large());
    }
    sniff(bytes).ok_or_else(|| {
        let sent = declared_type
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| format!(" (it was sent as {})", t.chars().take(100).collect::<String>()))
            .unwrap_or_default();
        ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!(
                "the file's contents are not one of the allowed formats{sent}: a job takes {ALLOWED_WORDS}, recognised by their bytes, not their name or declared type"
            ),
        )
    })
}

/// The refusal of a file over [`MAX_FILE_BYTES`].
pub fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!(
            "the file is larger than {} MiB; send a smaller photo or document",
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    )
}

/// The name a file is kept under: the last part of whatever path the client sent (`/` or `\`),
/// without control or bidirectional-override characters, trimmed of spaces and leading dots,
/// at most [`MAX_FILENAME_CHARS`] characters (the extension kept when it is cut). Empty after
/// all that: `file.<ext>` for the sniffed type.
pub fn sanitize_filename(raw: &str, file_type: FileType) -> String {
    let name = cleaned_name(raw, file_type);
    // The name ends as the bytes are: a picture saved from the console is never opened as a
    // page or a program because of the name it was uploaded with (`evil.html` → `evil.html.png`).
    let fits = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .is_some_and(|ext| file_type.extensions().contains(&ext.as_str()));
    if fits {
        return name;
    }
    let ext = file_type.extension();
    let keep = MAX_FILENAME_CHARS - ext.len() - 1;
    let stem: String = name.chars().take(keep).collect();
    format!("{}.{ext}", stem.trim_end())
}

/// The last path part of `raw` without control or format characters, at most
/// [`MAX_FILENAME_CHARS`] (a short extension kept); `file.<ext>` when nothing is left.
fn cleaned_name(raw: &str, file_type: FileType) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_format_char(*c))
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim();
    if cleaned.is_empty() {
        return format!("file.{}", file_type.extension());
    }
    if cleaned.chars().count() <= MAX_FILENAME_CHARS {
        return cleaned.to_owned();
    }
    // Keep a short extension at the end, cut the stem.
    let ext: Option<&str> = cleaned
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| !e.is_empty() && e.chars().count() <= 10);
    match ext {
        Some(ext) => {
            let keep = MAX_FILENAME_CHARS - ext.chars().count() - 1;
            let stem: String = cleaned.chars().take(keep).collect();
            format!("{}.{ext}", stem.trim_end())
        }
        None => cleaned.chars().take(MAX_FILENAME_CHARS).collect(),
    }
}

/// Invisible characters that reorder or hide text (a name like `photo<RLO>gpj.exe`).
fn is_format_char(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// A job's photo or file as answered.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct JobFileOut {
    pub id: String,
    /// The name as kept (no path, no control characters, at most 200 characters).
    pub filename: String,
    /// The type its bytes showed: image/jpeg, image/png, image/webp, image/heic, image/heif or
    /// application/pdf.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    pub kind: FileKind,
    /// Who: `user:<id>` or `api_key:<id>`.
    pub uploaded_by: String,
    pub created_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_ends_as_its_bytes_are() {
        assert_eq!(
            sanitize_filename("evil.html", FileType::Png),
            "evil.html.png"
        );
        assert_eq!(
            sanitize_filename("boiler.JPEG", FileType::Jpeg),
            "boiler.JPEG"
        );
        assert_eq!(sanitize_filename("scan", FileType::Pdf), "scan.pdf");
        assert_eq!(
            sanitize_filename("IMG_1.heic", FileType::Heif),
            "IMG_1.heic"
        );
        let long = format!("{}.exe", "a".repeat(300));
        let kept = sanitize_filename(&long, FileType::Webp);
        assert!(
            kept.ends_with(".webp") && kept.chars().count() <= MAX_FILENAME_CHARS,
            "{kept}"
        );
    }

    #[test]
    fn formats_are_told_by_their_bytes() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some(FileType::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(FileType::Png));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some(FileType::Webp));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some(FileType::Pdf));
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        assert_eq!(sniff(heic), Some(FileType::Heic));
        let heif = b"\0\0\0\x18ftypmif1\0\0\0\0mif1miaf";
        assert_eq!(sniff(heif), Some(FileType::Heif));
        let avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf";
        assert_eq!(sniff(avif), None);
        let avif_mif1 = b"\0\0\0\x1cftypmif1\0\0\0\0avifmif1miaf";
        assert_eq!(sniff(avif_mif1), None);
        let mp4 = b"\0\0\0\x18ftypisom\0\0\0\0isomiso2";
        assert_eq!(sniff(mp4), None);
        for other in [
            &b"<svg xmlns='http://www.w3.org/2000/svg'/>"[..],
            b"<html><script>alert(1)</script>",
            b"GIF89a",
            b"hello, I am text",
            b"RIFF\0\0\0\0WAVE",
            b"\x89PN",
            b"",
        ] {
            assert_eq!(sniff(other), None, "{other:?}");
        }
    }

    #[test]
    fn empty_large_and_foreign_files_are_refused_with_their_reason() {
        assert_eq!(check(b"", None).unwrap_err().code, ErrorCode::Validation);
        let big = vec![0xFF; MAX_FILE_BYTES + 1];
        assert_eq!(
            check(&big, Some("image/jpeg")).unwrap_err().code,
            ErrorCode::PayloadTooLarge
        );
        let text = check(b"just text", Some("image/png")).unwrap_err();
        assert_eq!(text.code, ErrorCode::UnsupportedMediaType);
        assert!(text.detail.contains("sent as image/png"), "{}", text.detail);
        // The bytes win over the declared type.
        assert_eq!(
            check(b"%PDF-1.4", Some("image/png")).unwrap(),
            FileType::Pdf
        );
    }

    #[test]
    fn names_lose_their_path_controls_and_excess() {
        let t = FileType::Png;
        assert_eq!(sanitize_filename("../../etc/passwd", t), "passwd.png");
        assert_eq!(
            sanitize_filename("C:\\Users\\me\\boiler.png", t),
            "boiler.png"
        );
        assert_eq!(sanitize_filename("a\r\nb\0c.png", t), "abc.png");
        assert_eq!(
            sanitize_filename("photo\u{202E}gnp.exe", t),
            "photognp.exe.png"
        );
        assert_eq!(sanitize_filename("..", t), "file.png");
        assert_eq!(sanitize_filename(".hidden", t), "hidden.png");
        assert_eq!(sanitize_filename("   ", FileType::Pdf), "file.pdf");
        assert_eq!(sanitize_filename("dir/", t), "file.png");
        let long = format!("{}.jpeg", "é".repeat(300));
        let kept = sanitize_filename(&long, FileType::Jpeg);
        assert_eq!(kept.chars().count(), MAX_FILENAME_CHARS);
        assert!(kept.ends_with(".jpeg"));
        let no_ext = "x".repeat(500);
        assert_eq!(sanitize_filename(&no_ext, t).len(), MAX_FILENAME_CHARS);
    }

    #[test]
    fn only_the_upload_routes_are_upload_paths() {
        assert!(is_upload_path("/api/v1/jobs/job_1/files"));
        assert!(is_upload_path("/app/jobs/job_1/files"));
        for other in [
            "/api/v1/jobs/job_1/files/jf_1",
            "/api/v1/jobs//files",
            "/api/v1/jobs/job_1/notes",
            "/api/v1/jobs/files",
            "/api/v1/contacts/x/files",
            "/api/v1/jobs/a/b/files",
        ] {
            assert!(!is_upload_path(other), "{other}");
        }
    }
}
