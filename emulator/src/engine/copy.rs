//! Copying one file the way a transfer does: sync-level skip decision, copy, checksum
//! verification, timestamp preservation. Blocking code for the blocking pool.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use md5::Md5;
use sha2::{Digest, Sha256, Sha512};

/// Hex digest of a file with the named algorithm (MD5, SHA256, SHA512).
pub(crate) fn checksum(path: &Path, algorithm: &str) -> std::io::Result<String> {
    fn digest<D: Digest>(path: &Path) -> std::io::Result<String> {
        let mut file = File::open(path)?;
        let mut hasher = D::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(buf.get(..n).unwrap_or_default());
        }
        Ok(hasher.finalize().iter().fold(String::new(), |mut hex, b| {
            use std::fmt::Write;
            let _ = write!(hex, "{b:02x}");
            hex
        }))
    }
    match algorithm.to_ascii_uppercase().as_str() {
        "MD5" => digest::<Md5>(path),
        "SHA256" | "SHA-256" => digest::<Sha256>(path),
        "SHA512" | "SHA-512" => digest::<Sha512>(path),
        other => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("unsupported checksum algorithm `{other}`"),
        )),
    }
}

/// Whether `src` must be copied over `dst` at this sync level (0 exists, 1 size, 2 mtime,
/// 3 checksum; none: always).
pub(crate) fn needs_copy(src: &Path, dst: &Path, level: Option<u8>) -> std::io::Result<bool> {
    let Some(level) = level else {
        return Ok(true);
    };
    let Ok(d) = std::fs::metadata(dst) else {
        return Ok(true);
    };
    if d.is_dir() {
        return Ok(true);
    }
    let s = std::fs::metadata(src)?;
    Ok(match level {
        0 => false,
        1 => s.len() != d.len(),
        2 => d.modified()? < s.modified()?,
        _ => s.len() != d.len() || checksum(src, "MD5")? != checksum(dst, "MD5")?,
    })
}

/// Creates the destination's parent directories, as transfers do.
pub(crate) fn prepare(dst: &Path) -> std::io::Result<()> {
    match dst.parent() {
        Some(parent) => std::fs::create_dir_all(parent),
        None => Ok(()),
    }
}

/// Copies in one go (unthrottled).
pub(crate) fn copy_whole(src: &Path, dst: &Path) -> std::io::Result<u64> {
    prepare(dst)?;
    std::fs::copy(src, dst)
}

/// Appends one chunk at `offset` (throttled copies write chunk by chunk).
pub(crate) fn copy_chunk(
    src: &Path,
    dst: &Path,
    offset: u64,
    len: usize,
) -> std::io::Result<usize> {
    use std::io::{Seek, SeekFrom};
    let mut input = File::open(src)?;
    input.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0u8; len];
    let n = input.read(&mut buf)?;
    let mut out = if offset == 0 {
        prepare(dst)?;
        File::create(dst)?
    } else {
        std::fs::OpenOptions::new().append(true).open(dst)?
    };
    out.write_all(buf.get(..n).unwrap_or_default())?;
    Ok(n)
}

/// Gives `dst` the modification time of `src`.
pub(crate) fn preserve_mtime(src: &Path, dst: &Path) -> std::io::Result<()> {
    let modified = std::fs::metadata(src)?.modified()?;
    File::options()
        .write(true)
        .open(dst)?
        .set_modified(modified)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn sync_levels_decide_like_the_service() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (src, dst) = (dir.path().join("s"), dir.path().join("d"));
        std::fs::write(&src, b"hello").expect("write");
        assert!(
            needs_copy(&src, &dst, Some(0)).expect("io"),
            "missing destination"
        );
        std::fs::write(&dst, b"HELLO").expect("write");
        assert!(!needs_copy(&src, &dst, Some(0)).expect("io"), "exists");
        assert!(!needs_copy(&src, &dst, Some(1)).expect("io"), "same size");
        assert!(
            needs_copy(&src, &dst, Some(3)).expect("io"),
            "checksums differ"
        );
        let old = SystemTime::now() - Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(&dst)
            .expect("open")
            .set_modified(old)
            .expect("mtime");
        assert!(
            needs_copy(&src, &dst, Some(2)).expect("io"),
            "destination older"
        );
        copy_whole(&src, &dst).expect("copy");
        preserve_mtime(&src, &dst).expect("mtime");
        assert!(!needs_copy(&src, &dst, Some(2)).expect("io"));
        assert!(!needs_copy(&src, &dst, Some(3)).expect("io"));
        assert!(
            needs_copy(&src, &dst, None).expect("io"),
            "no sync level: always copy"
        );
    }

    #[test]
    fn checksums_are_hex_digests() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("f");
        std::fs::write(&f, b"abc").expect("write");
        assert_eq!(
            checksum(&f, "md5").expect("md5"),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            checksum(&f, "SHA256").expect("sha256"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(checksum(&f, "CRC32").is_err());
    }
}
