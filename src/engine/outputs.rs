//! Writing a command's outputs safely: never over one of its inputs, never over what the user
//! already has unless asked, and the whole set or nothing.
//!
//! Every output is first written under a temporary name in its own folder (so the final rename
//! stays on one file system), and only when all of them are written are they renamed into place.
//! The checks run in [`OutputSet::prepare`], before any analysis, so a bad output path fails in
//! a second instead of after minutes of work.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

/// A set of output files to be written together.
#[derive(Debug)]
pub struct OutputSet {
    staged: Vec<Staged>,
    /// Folders created for the outputs, removed again (if still empty) when nothing is committed.
    created_dirs: Vec<PathBuf>,
    committed: bool,
}

#[derive(Debug)]
struct Staged {
    path: PathBuf,
    temp: PathBuf,
}

impl OutputSet {
    /// Checks `paths` and reserves them: they must be distinct, none may be one of `inputs`
    /// (also through another name or a link), none may exist unless `replace`, and each folder
    /// must be creatable and writable (it is created here and probed with a temporary file).
    pub fn prepare(paths: &[PathBuf], inputs: &[&Path], replace: bool) -> Result<Self> {
        let mut seen = HashSet::new();
        for path in paths {
            if path.file_name().is_none() {
                bail!("{} is not a file name", path.display());
            }
            if !seen.insert(absolute(path)) {
                bail!("{} is named twice as an output", path.display());
            }
            for input in inputs {
                if same_file(path, input) {
                    bail!(
                        "refusing to write {}: it is an input of this command ({}); choose another output name",
                        path.display(),
                        input.display()
                    );
                }
            }
            if path.is_dir() {
                bail!("{} is a folder, not a file", path.display());
            }
            if path.exists() && !replace {
                bail!(
                    "{} already exists; pass --force to replace it",
                    path.display()
                );
            }
        }
        let mut set = Self {
            staged: Vec::with_capacity(paths.len()),
            created_dirs: Vec::new(),
            committed: false,
        };
        for path in paths {
            let dir = parent_of(path);
            set.create_dir(&dir)?;
            let temp = temp_name(path);
            // Probe: the folder takes a file under the temporary name, so the real write will.
            fs::write(&temp, b"")
                .with_context(|| format!("cannot write into {}", dir.display()))?;
            set.staged.push(Staged {
                path: path.clone(),
                temp,
            });
        }
        Ok(set)
    }

    /// Where to write the content of output `path` (one of those given to [`Self::prepare`]).
    /// The temporary name keeps the extension, for writers that choose a format by it.
    pub fn temp_path(&self, path: &Path) -> Result<&Path> {
        self.staged
            .iter()
            .find(|s| s.path == path)
            .map(|s| s.temp.as_path())
            .ok_or_else(|| anyhow!("{} is not one of this command's outputs", path.display()))
    }

    /// The final paths, in the order given.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.staged.iter().map(|s| s.path.as_path())
    }

    /// Moves every written output into place. Files being replaced are set aside first and put
    /// back if any rename fails, so the user sees either every new output or their old files.
    pub fn commit(mut self) -> Result<()> {
        let mut set_aside: Vec<(PathBuf, PathBuf)> = Vec::new();
        let mut placed: Vec<&Staged> = Vec::new();
        let result = (|| -> Result<()> {
            for staged in &self.staged {
                if staged.path.exists() {
                    let aside = aside_name(&staged.path);
                    fs::rename(&staged.path, &aside)
                        .with_context(|| format!("cannot replace {}", staged.path.display()))?;
                    set_aside.push((staged.path.clone(), aside));
                }
                fs::rename(&staged.temp, &staged.path)
                    .with_context(|| format!("cannot write {}", staged.path.display()))?;
                placed.push(staged);
            }
            Ok(())
        })();
        if let Err(e) = result {
            for staged in placed {
                let _ = fs::rename(&staged.path, &staged.temp);
            }
            for (path, aside) in &set_aside {
                let _ = fs::rename(aside, path);
            }
            return Err(e);
        }
        for (_, aside) in &set_aside {
            let _ = fs::remove_file(aside);
        }
        self.committed = true;
        Ok(())
    }

    fn create_dir(&mut self, dir: &Path) -> Result<()> {
        // Remember the outermost folders that did not exist, to remove them if nothing lands.
        let mut missing = Vec::new();
        let mut cursor = Some(dir);
        while let Some(d) = cursor.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            missing.push(d.to_path_buf());
            cursor = d.parent();
        }
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        // Innermost first, the order they can be removed in.
        self.created_dirs.extend(missing);
        Ok(())
    }
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for staged in &self.staged {
            let _ = fs::remove_file(&staged.temp);
        }
        for dir in &self.created_dirs {
            // Fails, harmlessly, on a folder that is not empty.
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Fails unless `path` ends in `.EXT` (any case): an output is named for what it holds.
pub fn require_extension(path: &Path, ext: &str, what: &str) -> Result<()> {
    let ok = path
        .extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case(ext));
    if !ok {
        bail!(
            "{} must end in .{ext}: {what} is written there",
            path.display()
        );
    }
    Ok(())
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `dir/.NAME.partial-PID.EXT` for `dir/NAME.EXT`.
fn temp_name(path: &Path) -> PathBuf {
    hidden_sibling(path, "partial")
}

/// `dir/.NAME.old-PID.EXT`: where a replaced file waits until the new one is in place.
fn aside_name(path: &Path) -> PathBuf {
    hidden_sibling(path, "old")
}

fn hidden_sibling(path: &Path, tag: &str) -> PathBuf {
    let stem = path.file_stem().map(OsString::from).unwrap_or_default();
    let mut name = OsString::from(".");
    name.push(stem);
    name.push(format!(".{tag}-{}", std::process::id()));
    if let Some(ext) = path.extension() {
        name.push(".");
        name.push(ext);
    }
    parent_of(path).join(name)
}

fn absolute(path: &Path) -> PathBuf {
    let dir = fs::canonicalize(parent_of(path)).unwrap_or_else(|_| parent_of(path));
    dir.join(path.file_name().unwrap_or_default())
}

/// Whether `a` and `b` name one file: the same resolved path, or (on Unix) the same inode.
fn same_file(a: &Path, b: &Path) -> bool {
    if absolute(a) == absolute(b) {
        return true;
    }
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) if x == y => return true,
        _ => {}
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (fs::metadata(a), fs::metadata(b)) {
            return x.dev() == y.dev() && x.ino() == y.ino();
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(dir: &Path, names: &[&str]) -> Vec<PathBuf> {
        names.iter().map(|n| dir.join(n)).collect()
    }

    #[test]
    fn nothing_lands_until_commit_and_everything_lands_then() {
        let dir = tempfile::tempdir().unwrap();
        let paths = outputs(dir.path(), &["a.wav", "a.png"]);
        let set = OutputSet::prepare(&paths, &[], false).unwrap();
        for p in &paths {
            fs::write(set.temp_path(p).unwrap(), p.to_string_lossy().as_bytes()).unwrap();
            assert!(!p.exists());
        }
        set.commit().unwrap();
        for p in &paths {
            assert_eq!(fs::read_to_string(p).unwrap(), p.to_string_lossy());
        }
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn an_abandoned_set_leaves_no_trace_and_keeps_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("new/deeper");
        let paths = vec![nested.join("x.wav"), dir.path().join("old.txt")];
        fs::write(&paths[1], "mine").unwrap();
        {
            let set = OutputSet::prepare(&paths, &[], true).unwrap();
            fs::write(set.temp_path(&paths[1]).unwrap(), "new").unwrap();
            // Dropped without commit, as when the analysis fails.
        }
        assert_eq!(fs::read_to_string(&paths[1]).unwrap(), "mine");
        assert!(!dir.path().join("new").exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn inputs_existing_files_and_duplicates_are_refused_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("song.wav");
        fs::write(&input, "audio").unwrap();
        // The same file through another spelling of its path.
        let other_spelling = dir.path().join(".").join("song.wav");
        let err = OutputSet::prepare(&[other_spelling], &[&input], true).unwrap_err();
        assert!(format!("{err}").contains("is an input"), "{err}");
        #[cfg(unix)]
        {
            let link = dir.path().join("link.wav");
            std::os::unix::fs::symlink(&input, &link).unwrap();
            let err = OutputSet::prepare(&[link], &[&input], true).unwrap_err();
            assert!(format!("{err}").contains("is an input"), "{err}");
        }
        let existing = dir.path().join("edited.wav");
        fs::write(&existing, "old edit").unwrap();
        let err = OutputSet::prepare(std::slice::from_ref(&existing), &[], false).unwrap_err();
        assert!(format!("{err}").contains("--force"), "{err}");
        let twice = vec![dir.path().join("a.png"), dir.path().join("a.png")];
        assert!(OutputSet::prepare(&twice, &[], false).is_err());
        assert_eq!(fs::read_to_string(&input).unwrap(), "audio");
        assert_eq!(fs::read_to_string(&existing).unwrap(), "old edit");
    }

    #[test]
    fn replacing_swaps_the_new_file_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("edited.wav");
        fs::write(&path, "old").unwrap();
        let set = OutputSet::prepare(std::slice::from_ref(&path), &[], true).unwrap();
        fs::write(set.temp_path(&path).unwrap(), "new").unwrap();
        set.commit().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temporary_names_keep_the_extension() {
        let temp = temp_name(Path::new("out/edited.cuts.json"));
        assert_eq!(temp.extension().unwrap(), "json");
        assert!(temp.file_name().unwrap().to_string_lossy().starts_with('.'));
        assert!(require_extension(Path::new("x.WAV"), "wav", "audio").is_ok());
        assert!(require_extension(Path::new("x.png"), "wav", "audio").is_err());
        assert!(require_extension(Path::new("x"), "wav", "audio").is_err());
    }
}
