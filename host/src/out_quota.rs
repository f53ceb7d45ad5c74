//! The output quota, enforced while the plugin writes. `wasi:filesystem/types` is linked with
//! [`QuotaFs`], which hands every call to wasmtime-wasi's own implementation but first charges
//! what the call may add to the output folder:
//!
//! * bytes: `write`, `set-size` growth and every write through a stream from `write-via-stream`
//!   or `append-via-stream` (the stream in the table is swapped for a counting one). Writing or
//!   growing past the end of a file also charges the gap, so a sparse file costs its size;
//! * entries: each file `open-at` creates and each directory `create-directory-at` makes.
//!
//! "Output bytes" are bytes this run wrote, rewrites included; deleting or truncating gives
//! nothing back. A charge past a limit is refused before anything reaches the disk and ends the
//! run with a trap carrying [`LimitExceeded`], so the limit holds whatever the plugin returns.
//!
//! Links (`symlink-at`, `link-at`) and timestamps (`set-times`, `set-times-at`) are refused
//! with `not-permitted`: a plugin needs neither, a link could point the host or the operator
//! outside the folder, and faked timestamps would hide files from the host's listing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemCtxView, WasiFilesystemView};
use wasmtime_wasi::p2::bindings::filesystem::types::{
    self, ErrorCode, HostDescriptor, HostDirectoryEntryStream,
};
use wasmtime_wasi::p2::{
    DynOutputStream, FsError, FsResult, OutputStream, Pollable, StreamError, StreamResult,
};

use crate::limits::LimitExceeded;

/// What one run may add to its output folder, and what it added so far. Shared by the store
/// and the counting streams it hands out.
#[derive(Debug)]
pub struct OutQuota {
    max_bytes: u64,
    max_entries: u64,
    bytes: AtomicU64,
    entries: AtomicU64,
}

impl OutQuota {
    pub fn new(max_bytes: u64, max_entries: u64) -> Arc<OutQuota> {
        Arc::new(OutQuota {
            max_bytes,
            max_entries,
            bytes: AtomicU64::new(0),
            entries: AtomicU64::new(0),
        })
    }

    /// Bytes charged so far (a refused write included).
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Files and directories created so far.
    pub fn entries(&self) -> u64 {
        self.entries.load(Ordering::Relaxed)
    }

    /// Charges `n` bytes, or refuses if that would pass the limit. A refused charge stays
    /// counted: the run ends with it.
    pub fn charge_bytes(&self, n: u64) -> Result<(), LimitExceeded> {
        // Saturating, so a charge of a huge gap cannot wrap the counter round to little.
        let before = self
            .bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_add(n))
            })
            .unwrap_or_else(|b| b);
        let total = before.saturating_add(n);
        if total > self.max_bytes {
            return Err(LimitExceeded::Output {
                limit: self.max_bytes,
                written: total,
            });
        }
        Ok(())
    }

    fn charge_entry(&self) -> Result<(), LimitExceeded> {
        let total = self.entries.fetch_add(1, Ordering::Relaxed) + 1;
        if total > self.max_entries {
            return Err(LimitExceeded::OutputFiles {
                limit: self.max_entries,
            });
        }
        Ok(())
    }

    /// Gives back an entry whose creation failed.
    fn refund_entry(&self) {
        self.entries.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Store data that has a filesystem and a quota.
pub trait OutQuotaView: WasiFilesystemView {
    fn out_quota(&self) -> Arc<OutQuota>;
}

/// Replaces wasmtime-wasi's `wasi:filesystem/types` (already linked by
/// `wasmtime_wasi::p2::add_to_linker_async`) with the quota-charging one.
pub fn add_to_linker<T: OutQuotaView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let linked = types::add_to_linker::<T, QuotaFsData>(linker, |state: &mut T| {
        let quota = state.out_quota();
        QuotaFs {
            fs: state.filesystem(),
            quota,
        }
    });
    linker.allow_shadowing(false);
    linked
}

struct QuotaFsData;

impl HasData for QuotaFsData {
    type Data<'a> = QuotaFs<'a>;
}

/// wasmtime-wasi's filesystem view plus the run's quota.
pub struct QuotaFs<'a> {
    fs: WasiFilesystemCtxView<'a>,
    quota: Arc<OutQuota>,
}

fn trap(limit: LimitExceeded) -> FsError {
    FsError::trap(limit)
}

/// A second handle to a descriptor the guest lent us, for a call made on its behalf.
fn lend(fd: &Resource<Descriptor>) -> Resource<Descriptor> {
    Resource::new_borrow(fd.rep())
}

impl QuotaFs<'_> {
    /// The open file behind `fd`; `None` for a directory (the call itself then fails).
    fn file(&self, fd: &Resource<Descriptor>) -> FsResult<Option<Arc<std::fs::File>>> {
        Ok(match self.fs.table.get(fd)? {
            Descriptor::File(f) => Some(f.file.clone()),
            Descriptor::Dir(_) => None,
        })
    }

    /// Charges for the gap between the end of the file and `offset`, where a write will start.
    fn charge_gap(&self, fd: &Resource<Descriptor>, offset: u64) -> FsResult<()> {
        if let Some(file) = self.file(fd)? {
            gap_charge(&self.quota, &file, offset).map_err(FsError::trap)?;
        }
        Ok(())
    }

    /// Charges an entry if `path` does not exist yet (the open will create it).
    async fn charge_if_new(
        &mut self,
        fd: &Resource<Descriptor>,
        path_flags: types::PathFlags,
        path: &str,
    ) -> FsResult<bool> {
        match self.fs.stat_at(lend(fd), path_flags, path.to_owned()).await {
            Ok(_) => Ok(false),
            Err(e) if matches!(e.downcast_ref(), Some(ErrorCode::NoEntry)) => {
                self.quota.charge_entry().map_err(trap)?;
                Ok(true)
            }
            // Anything else: the open will fail the same way.
            Err(_) => Ok(false),
        }
    }

    /// Puts a counting stream in place of the one wasmtime-wasi made.
    fn count(
        &mut self,
        stream: Resource<DynOutputStream>,
        gap: Option<(Arc<std::fs::File>, u64)>,
    ) -> FsResult<Resource<DynOutputStream>> {
        let inner = self.fs.table.delete(stream)?;
        let counting: DynOutputStream = Box::new(CountingStream {
            inner,
            quota: self.quota.clone(),
            gap,
        });
        Ok(self.fs.table.push(counting)?)
    }
}

/// Charges the bytes between the end of `file` and `offset`: a write there fills them (or makes
/// a sparse file that claims them).
fn gap_charge(quota: &OutQuota, file: &std::fs::File, offset: u64) -> wasmtime::Result<()> {
    // A file whose size cannot be read counts as empty: the whole gap is charged.
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    quota.charge_bytes(offset.saturating_sub(size))?;
    Ok(())
}

/// An output stream to a file that charges the quota before each write.
struct CountingStream {
    inner: DynOutputStream,
    quota: Arc<OutQuota>,
    /// File and start offset, until the first write has charged the gap before it.
    gap: Option<(Arc<std::fs::File>, u64)>,
}

impl CountingStream {
    fn charge(&mut self, n: usize) -> StreamResult<()> {
        if n == 0 {
            return Ok(());
        }
        if let Some((file, offset)) = self.gap.take() {
            gap_charge(&self.quota, &file, offset).map_err(StreamError::Trap)?;
        }
        self.quota
            .charge_bytes(n as u64)
            .map_err(|e| StreamError::Trap(e.into()))
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CountingStream {
    async fn ready(&mut self) {
        self.inner.ready().await
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CountingStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.charge(bytes.len())?;
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.inner.flush()
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.inner.check_write()
    }

    async fn blocking_write_and_flush(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.charge(bytes.len())?;
        self.inner.blocking_write_and_flush(bytes).await
    }

    fn write_zeroes(&mut self, nelem: usize) -> StreamResult<()> {
        self.charge(nelem)?;
        self.inner.write_zeroes(nelem)
    }

    async fn write_ready(&mut self) -> StreamResult<usize> {
        self.inner.write_ready().await
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await
    }
}

impl types::Host for QuotaFs<'_> {
    fn convert_error_code(&mut self, err: FsError) -> wasmtime::Result<ErrorCode> {
        self.fs.convert_error_code(err)
    }

    fn filesystem_error_code(
        &mut self,
        err: Resource<wasmtime::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        self.fs.filesystem_error_code(err)
    }
}

impl HostDescriptor for QuotaFs<'_> {
    async fn write(
        &mut self,
        fd: Resource<Descriptor>,
        buf: Vec<u8>,
        offset: types::Filesize,
    ) -> FsResult<types::Filesize> {
        if !buf.is_empty() {
            self.charge_gap(&fd, offset)?;
            self.quota.charge_bytes(buf.len() as u64).map_err(trap)?;
        }
        self.fs.write(fd, buf, offset).await
    }

    async fn set_size(&mut self, fd: Resource<Descriptor>, size: types::Filesize) -> FsResult<()> {
        self.charge_gap(&fd, size)?;
        self.fs.set_size(fd, size).await
    }

    fn write_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: types::Filesize,
    ) -> FsResult<Resource<DynOutputStream>> {
        // The gap is charged on the stream's first write: the file may grow before that.
        let file = self.file(&fd)?;
        let stream = self.fs.write_via_stream(fd, offset)?;
        self.count(stream, file.map(|f| (f, offset)))
    }

    fn append_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
    ) -> FsResult<Resource<DynOutputStream>> {
        let stream = self.fs.append_via_stream(fd)?;
        self.count(stream, None)
    }

    async fn open_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: types::PathFlags,
        path: String,
        oflags: types::OpenFlags,
        flags: types::DescriptorFlags,
    ) -> FsResult<Resource<Descriptor>> {
        let charged = oflags.contains(types::OpenFlags::CREATE)
            && self.charge_if_new(&fd, path_flags, &path).await?;
        let opened = self.fs.open_at(fd, path_flags, path, oflags, flags).await;
        if charged && opened.is_err() {
            self.quota.refund_entry();
        }
        opened
    }

    async fn create_directory_at(
        &mut self,
        fd: Resource<Descriptor>,
        path: String,
    ) -> FsResult<()> {
        self.quota.charge_entry().map_err(trap)?;
        let created = self.fs.create_directory_at(fd, path).await;
        if created.is_err() {
            self.quota.refund_entry();
        }
        created
    }

    async fn symlink_at(&mut self, _: Resource<Descriptor>, _: String, _: String) -> FsResult<()> {
        Err(ErrorCode::NotPermitted.into())
    }

    async fn link_at(
        &mut self,
        _: Resource<Descriptor>,
        _: types::PathFlags,
        _: String,
        _: Resource<Descriptor>,
        _: String,
    ) -> FsResult<()> {
        Err(ErrorCode::NotPermitted.into())
    }

    async fn set_times(
        &mut self,
        _: Resource<Descriptor>,
        _: types::NewTimestamp,
        _: types::NewTimestamp,
    ) -> FsResult<()> {
        Err(ErrorCode::NotPermitted.into())
    }

    async fn set_times_at(
        &mut self,
        _: Resource<Descriptor>,
        _: types::PathFlags,
        _: String,
        _: types::NewTimestamp,
        _: types::NewTimestamp,
    ) -> FsResult<()> {
        Err(ErrorCode::NotPermitted.into())
    }

    // Everything below only reads or removes: handed on unchanged.

    async fn advise(
        &mut self,
        fd: Resource<Descriptor>,
        offset: types::Filesize,
        len: types::Filesize,
        advice: types::Advice,
    ) -> FsResult<()> {
        self.fs.advise(fd, offset, len, advice).await
    }

    async fn sync_data(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        self.fs.sync_data(fd).await
    }

    async fn get_flags(&mut self, fd: Resource<Descriptor>) -> FsResult<types::DescriptorFlags> {
        self.fs.get_flags(fd).await
    }

    async fn get_type(&mut self, fd: Resource<Descriptor>) -> FsResult<types::DescriptorType> {
        self.fs.get_type(fd).await
    }

    async fn read(
        &mut self,
        fd: Resource<Descriptor>,
        len: types::Filesize,
        offset: types::Filesize,
    ) -> FsResult<(Vec<u8>, bool)> {
        self.fs.read(fd, len, offset).await
    }

    async fn read_directory(
        &mut self,
        fd: Resource<Descriptor>,
    ) -> FsResult<Resource<types::DirectoryEntryStream>> {
        self.fs.read_directory(fd).await
    }

    async fn sync(&mut self, fd: Resource<Descriptor>) -> FsResult<()> {
        self.fs.sync(fd).await
    }

    async fn stat(&mut self, fd: Resource<Descriptor>) -> FsResult<types::DescriptorStat> {
        self.fs.stat(fd).await
    }

    async fn stat_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: types::PathFlags,
        path: String,
    ) -> FsResult<types::DescriptorStat> {
        self.fs.stat_at(fd, path_flags, path).await
    }

    fn drop(&mut self, fd: Resource<Descriptor>) -> wasmtime::Result<()> {
        HostDescriptor::drop(&mut self.fs, fd)
    }

    async fn readlink_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<String> {
        self.fs.readlink_at(fd, path).await
    }

    async fn remove_directory_at(
        &mut self,
        fd: Resource<Descriptor>,
        path: String,
    ) -> FsResult<()> {
        self.fs.remove_directory_at(fd, path).await
    }

    async fn rename_at(
        &mut self,
        fd: Resource<Descriptor>,
        old_path: String,
        new_fd: Resource<Descriptor>,
        new_path: String,
    ) -> FsResult<()> {
        self.fs.rename_at(fd, old_path, new_fd, new_path).await
    }

    async fn unlink_file_at(&mut self, fd: Resource<Descriptor>, path: String) -> FsResult<()> {
        self.fs.unlink_file_at(fd, path).await
    }

    fn read_via_stream(
        &mut self,
        fd: Resource<Descriptor>,
        offset: types::Filesize,
    ) -> FsResult<Resource<wasmtime_wasi::p2::DynInputStream>> {
        self.fs.read_via_stream(fd, offset)
    }

    async fn is_same_object(
        &mut self,
        a: Resource<Descriptor>,
        b: Resource<Descriptor>,
    ) -> wasmtime::Result<bool> {
        self.fs.is_same_object(a, b).await
    }

    async fn metadata_hash(
        &mut self,
        fd: Resource<Descriptor>,
    ) -> FsResult<types::MetadataHashValue> {
        self.fs.metadata_hash(fd).await
    }

    async fn metadata_hash_at(
        &mut self,
        fd: Resource<Descriptor>,
        path_flags: types::PathFlags,
        path: String,
    ) -> FsResult<types::MetadataHashValue> {
        self.fs.metadata_hash_at(fd, path_flags, path).await
    }
}

impl HostDirectoryEntryStream for QuotaFs<'_> {
    async fn read_directory_entry(
        &mut self,
        stream: Resource<types::DirectoryEntryStream>,
    ) -> FsResult<Option<types::DirectoryEntry>> {
        self.fs.read_directory_entry(stream).await
    }

    fn drop(&mut self, stream: Resource<types::DirectoryEntryStream>) -> wasmtime::Result<()> {
        HostDirectoryEntryStream::drop(&mut self.fs, stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_up_to_the_limit_and_refuses_past_it() {
        let quota = OutQuota::new(10, 2);
        quota.charge_bytes(10).unwrap();
        assert_eq!(
            quota.charge_bytes(1),
            Err(LimitExceeded::Output {
                limit: 10,
                written: 11
            })
        );
        quota.charge_entry().unwrap();
        quota.charge_entry().unwrap();
        quota.refund_entry();
        quota.charge_entry().unwrap();
        assert_eq!(
            quota.charge_entry(),
            Err(LimitExceeded::OutputFiles { limit: 2 })
        );
        assert_eq!(quota.entries(), 3);
    }

    #[test]
    fn a_huge_charge_does_not_wrap_around() {
        let quota = OutQuota::new(u64::MAX - 1, 1);
        assert!(quota.charge_bytes(u64::MAX).is_err());
        assert!(quota.charge_bytes(u64::MAX).is_err());
        assert!(quota.charge_bytes(1).is_err());
        assert_eq!(quota.bytes(), u64::MAX);
    }

    use wasmtime::component::ResourceTable;
    use wasmtime_wasi::filesystem::{Dir, WasiFilesystemCtx};
    use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
    use wasmtime_wasi::{FsPerms, OpenMode};

    /// The limit a refused charge carries (a trap, not an error the plugin could handle).
    fn limit(e: FsError) -> LimitExceeded {
        let trap = e.downcast().expect_err("a trap");
        trap.downcast::<LimitExceeded>().expect("a limit")
    }

    fn stream_limit(e: StreamError) -> LimitExceeded {
        match e {
            StreamError::Trap(trap) => trap.downcast::<LimitExceeded>().expect("a limit"),
            other => panic!("not a trap: {other:?}"),
        }
    }

    /// An output folder as a plugin sees it: a directory descriptor in a resource table,
    /// behind a quota.
    struct Folder {
        dir: tempfile::TempDir,
        ctx: WasiFilesystemCtx,
        table: ResourceTable,
        root: Resource<Descriptor>,
        quota: Arc<OutQuota>,
    }

    impl Folder {
        fn new(max_bytes: u64, max_entries: u64) -> Folder {
            let dir = tempfile::tempdir().unwrap();
            let handle = std::fs::File::open(dir.path()).unwrap();
            let root = Dir::new(
                handle,
                FsPerms::ReadWrite,
                OpenMode::READ | OpenMode::WRITE,
                true,
            );
            let mut table = ResourceTable::new();
            let root = table.push(Descriptor::Dir(root)).unwrap();
            Folder {
                dir,
                ctx: WasiFilesystemCtx::default(),
                table,
                root,
                quota: OutQuota::new(max_bytes, max_entries),
            }
        }

        fn fs(&mut self) -> (QuotaFs<'_>, Resource<Descriptor>) {
            let fs = QuotaFs {
                fs: WasiFilesystemCtxView {
                    ctx: &mut self.ctx,
                    table: &mut self.table,
                },
                quota: self.quota.clone(),
            };
            (fs, lend(&self.root))
        }
    }

    async fn open(
        fs: &mut QuotaFs<'_>,
        dir: &Resource<Descriptor>,
        path: &str,
        oflags: types::OpenFlags,
    ) -> FsResult<Resource<Descriptor>> {
        let rw = types::DescriptorFlags::READ | types::DescriptorFlags::WRITE;
        fs.open_at(
            lend(dir),
            types::PathFlags::empty(),
            path.into(),
            oflags,
            rw,
        )
        .await
    }

    /// Each file or folder created costs an entry; opening what exists costs none, and a
    /// creation that fails gives its entry back. Past the limit the run ends.
    #[tokio::test]
    async fn files_and_folders_created_are_counted_and_failed_creations_given_back() {
        let mut folder = Folder::new(1 << 20, 3);
        let quota = folder.quota.clone();
        let (mut fs, root) = folder.fs();
        let create = types::OpenFlags::CREATE;
        open(&mut fs, &root, "a", create).await.unwrap();
        assert_eq!(quota.entries(), 1);
        open(&mut fs, &root, "a", create).await.unwrap();
        open(&mut fs, &root, "a", types::OpenFlags::empty())
            .await
            .unwrap();
        assert_eq!(
            quota.entries(),
            1,
            "opening an existing file creates nothing"
        );
        let absent = open(&mut fs, &root, "b", types::OpenFlags::empty()).await;
        assert!(matches!(
            absent.map(|_| ()).unwrap_err().downcast(),
            Ok(ErrorCode::NoEntry)
        ));
        let no_parent = open(&mut fs, &root, "missing/c", create).await;
        assert!(
            no_parent.unwrap_err().downcast().is_ok(),
            "an error, not a trap"
        );
        assert_eq!(quota.entries(), 1, "a failed creation is given back");
        fs.create_directory_at(lend(&root), "d".into())
            .await
            .unwrap();
        let again = fs.create_directory_at(lend(&root), "d".into()).await;
        assert!(matches!(
            again.unwrap_err().downcast(),
            Ok(ErrorCode::Exist)
        ));
        assert_eq!(quota.entries(), 2);
        open(&mut fs, &root, "e", create).await.unwrap();
        let refused = open(&mut fs, &root, "f", create).await.map(|_| ());
        assert_eq!(
            limit(refused.unwrap_err()),
            LimitExceeded::OutputFiles { limit: 3 }
        );
        let refused = fs.create_directory_at(lend(&root), "g".into()).await;
        assert_eq!(
            limit(refused.unwrap_err()),
            LimitExceeded::OutputFiles { limit: 3 }
        );
        // A path through a file cannot be created: its error is the plugin's to handle, and
        // no entry is charged for it (one more would end the run).
        let through_a_file = open(&mut fs, &root, "a/x", create).await.map(|_| ());
        assert!(
            through_a_file.unwrap_err().downcast().is_ok(),
            "an error, not a trap"
        );
        drop(fs);
        let mut names: Vec<String> = std::fs::read_dir(folder.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a", "d", "e"]);
    }

    /// A write costs its bytes plus the gap between the end of the file and where it starts;
    /// growing a file with `set-size` costs the growth. A charge past the limit ends the run
    /// before anything reaches the disk.
    #[tokio::test]
    async fn writes_cost_their_bytes_and_the_gap_before_them() {
        let mut folder = Folder::new(1000, 10);
        let quota = folder.quota.clone();
        let path = folder.dir.path().join("out.bin");
        let (mut fs, root) = folder.fs();
        let file = open(&mut fs, &root, "out.bin", types::OpenFlags::CREATE)
            .await
            .unwrap();
        fs.write(lend(&file), b"hello".to_vec(), 0).await.unwrap();
        assert_eq!(quota.bytes(), 5);
        fs.write(lend(&file), Vec::new(), 500).await.unwrap();
        assert_eq!(
            quota.bytes(),
            5,
            "an empty write costs nothing, wherever it is"
        );
        fs.write(lend(&file), b"x".to_vec(), 100).await.unwrap();
        assert_eq!(quota.bytes(), 5 + 95 + 1);
        fs.set_size(lend(&file), 300).await.unwrap();
        assert_eq!(quota.bytes(), 300);
        fs.set_size(lend(&file), 10).await.unwrap();
        assert_eq!(quota.bytes(), 300, "shrinking gives nothing back");
        let refused = fs.write(lend(&file), vec![7; 800], 0).await;
        assert_eq!(
            limit(refused.unwrap_err()),
            LimitExceeded::Output {
                limit: 1000,
                written: 1100
            }
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 10);
        let refused = fs.set_size(lend(&file), 5000).await;
        assert!(matches!(
            limit(refused.unwrap_err()),
            LimitExceeded::Output { .. }
        ));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 10);
    }

    /// Streams from `write-via-stream` and `append-via-stream` charge every write; the
    /// first write through a positioned stream also pays the gap to its offset.
    #[tokio::test]
    async fn streams_to_a_file_are_charged_as_they_write() {
        let mut folder = Folder::new(1000, 10);
        let quota = folder.quota.clone();
        let path = folder.dir.path().join("log.txt");
        let (mut fs, root) = folder.fs();
        let file = open(&mut fs, &root, "log.txt", types::OpenFlags::CREATE)
            .await
            .unwrap();
        fs.write(lend(&file), b"0123456789".to_vec(), 0)
            .await
            .unwrap();
        let at = fs.write_via_stream(lend(&file), 50).unwrap();
        let stream = fs.fs.table.get_mut(&at).unwrap();
        stream
            .blocking_write_and_flush(Bytes::from_static(b"abc"))
            .await
            .unwrap();
        assert_eq!(quota.bytes(), 10 + 40 + 3);
        stream
            .blocking_write_and_flush(Bytes::from_static(b"de"))
            .await
            .unwrap();
        assert_eq!(quota.bytes(), 55, "the gap is paid once");
        let end = fs.append_via_stream(lend(&file)).unwrap();
        let stream = fs.fs.table.get_mut(&end).unwrap();
        stream
            .blocking_write_and_flush(Bytes::from_static(b"fgh"))
            .await
            .unwrap();
        assert_eq!(quota.bytes(), 58);
        let refused = stream
            .blocking_write_and_flush(Bytes::from(vec![1; 1000]))
            .await;
        assert!(matches!(
            stream_limit(refused.unwrap_err()),
            LimitExceeded::Output { .. }
        ));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 58);
    }

    /// Every way to write through a counting stream is charged, an empty write costs
    /// nothing (and leaves the gap for the first real write), and a refused write is not
    /// passed on.
    #[tokio::test]
    async fn a_counting_stream_charges_every_kind_of_write() {
        let file = tempfile::tempfile().unwrap();
        file.set_len(10).unwrap();
        let quota = OutQuota::new(100, 1);
        let pipe = MemoryOutputPipe::new(1 << 10);
        let mut stream = CountingStream {
            inner: Box::new(pipe.clone()),
            quota: quota.clone(),
            gap: Some((Arc::new(file), 30)),
        };
        stream.write(Bytes::new()).unwrap();
        assert_eq!(quota.bytes(), 0);
        stream.write(Bytes::from_static(b"ab")).unwrap();
        assert_eq!(quota.bytes(), 20 + 2);
        stream.write_zeroes(3).unwrap();
        assert_eq!(quota.bytes(), 25);
        stream
            .blocking_write_and_flush(Bytes::from_static(b"cd"))
            .await
            .unwrap();
        assert_eq!(quota.bytes(), 27);
        let refused = stream.write(Bytes::from(vec![9; 74])).unwrap_err();
        assert_eq!(
            stream_limit(refused),
            LimitExceeded::Output {
                limit: 100,
                written: 101
            }
        );
        assert_eq!(&pipe.contents()[..], b"ab\0\0\0cd");
    }

    /// Closing a descriptor frees its table slot; two descriptors of one file are the same
    /// object. Links and timestamps are refused.
    #[tokio::test]
    async fn descriptors_are_freed_and_links_refused() {
        let mut folder = Folder::new(1000, 10);
        let (mut fs, root) = folder.fs();
        let create = types::OpenFlags::CREATE;
        let a = open(&mut fs, &root, "a", create).await.unwrap();
        let a_again = open(&mut fs, &root, "a", create).await.unwrap();
        let b = open(&mut fs, &root, "b", create).await.unwrap();
        assert!(fs.is_same_object(lend(&a), lend(&a_again)).await.unwrap());
        assert!(!fs.is_same_object(lend(&a), lend(&b)).await.unwrap());
        let rep = a.rep();
        HostDescriptor::drop(&mut fs, a).unwrap();
        assert!(
            fs.fs
                .table
                .get(&Resource::<Descriptor>::new_borrow(rep))
                .is_err()
        );
        assert!(fs.fs.table.get(&a_again).is_ok());
        let link = fs.symlink_at(lend(&root), "/etc".into(), "l".into()).await;
        assert!(matches!(
            link.unwrap_err().downcast(),
            Ok(ErrorCode::NotPermitted)
        ));
        let now = types::NewTimestamp::Now;
        let times = fs.set_times(lend(&b), now, now).await;
        assert!(matches!(
            times.unwrap_err().downcast(),
            Ok(ErrorCode::NotPermitted)
        ));
    }
}
