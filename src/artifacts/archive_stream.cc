// ArchiveStream: libarchive's push-style writer turned into a pull-style stream of pieces.
#include <errno.h>
#include <locale.h>
#include <string.h>
#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include <archive.h>
#include <archive_entry.h>

#include "artifacts/artifacts.h"
#include "artifacts/names.h"
#include "artifacts/workspace_fs.h"
#include "base/log.h"

namespace warden::artifacts {

namespace {

// Input fed to libarchive per Step(): bounds both the read buffer and the output of one step.
constexpr size_t kChunkBytes = size_t{256} * 1024;
// Next() keeps stepping until it has this much output to return...
constexpr size_t kMinPieceBytes = size_t{64} * 1024;
// ...unless it has read this much input for the piece (a highly compressible file would otherwise
// be compressed whole before anything is returned)...
constexpr uint64_t kMaxReadPerPiece = uint64_t{8} * 1024 * 1024;
// ...and never returns more than this at once (the ZIP central directory arrives in one go).
constexpr size_t kMaxPieceBytes = size_t{1024} * 1024;

la_ssize_t AppendToOutput(struct archive*, void* output, const void* data, size_t size) {
  static_cast<std::string*>(output)->append(static_cast<const char*>(data), size);
  return static_cast<la_ssize_t>(size);
}

struct EntryDeleter {
  void operator()(struct archive_entry* entry) const { archive_entry_free(entry); }
};

// libarchive reads the character set of names from the calling thread's LC_CTYPE. Warden leaves
// the process in the "C" locale, in which libarchive cannot tell UTF-8 names from binary ones: it
// marks every non-ASCII tar name as binary and no ZIP name as UTF-8, so unzippers on other systems
// garble them. A thread-local C.UTF-8 for the duration of libarchive's calls fixes both, without
// touching the rest of the process.
locale_t Utf8Ctype() {
  static const locale_t locale = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
  return locale;
}
locale_t CCtype() {
  static const locale_t locale = ::newlocale(LC_CTYPE_MASK, "C", locale_t{});
  return locale;
}

// Sets the calling thread's locale for one scope (no change if `locale` is null).
class ScopedThreadLocale {
 public:
  explicit ScopedThreadLocale(locale_t locale)
      : previous_(locale != locale_t{} ? ::uselocale(locale) : locale_t{}) {}
  ScopedThreadLocale(const ScopedThreadLocale&) = delete;
  ScopedThreadLocale& operator=(const ScopedThreadLocale&) = delete;
  ~ScopedThreadLocale() {
    if (previous_ != locale_t{}) {
      ::uselocale(previous_);
    }
  }

 private:
  locale_t previous_;
};

}  // namespace

std::optional<ArchiveFormat> ParseArchiveFormat(std::string_view name) {
  if (name == "zip") {
    return ArchiveFormat::kZip;
  }
  if (name == "tar.gz" || name == "tgz") {
    return ArchiveFormat::kTarGz;
  }
  return std::nullopt;
}

std::string_view FileExtension(ArchiveFormat format) {
  return format == ArchiveFormat::kZip ? "zip" : "tar.gz";
}

std::string_view ContentType(ArchiveFormat format) {
  return format == ArchiveFormat::kZip ? "application/zip" : "application/gzip";
}

ArchiveStream::ArchiveStream(UniqueFd root, std::vector<std::string> paths)
    : root_(std::move(root)), paths_(std::move(paths)), read_buffer_(kChunkBytes) {}

ArchiveStream::~ArchiveStream() {
  if (writer_ == nullptr) {
    return;
  }
  // An abandoned stream (the client went away): mark the writer failed so that freeing it does not
  // first close the archive, which would pad the current entry to its full size.
  if (!finished_) {
    archive_write_fail(writer_);
  }
  archive_write_free(writer_);
}

Result<std::unique_ptr<ArchiveStream>> ArchiveStream::Open(const std::string& workspace,
                                                           ArchiveFormat format, size_t max_files) {
  ASSIGN_OR_RETURN(UniqueFd root, OpenWorkspace(workspace));
  ASSIGN_OR_RETURN(std::vector<ListedFile> files, ListRegularFiles(root.get(), max_files));
  std::vector<std::string> paths;
  paths.reserve(files.size());
  for (ListedFile& file : files) {
    paths.push_back(std::move(file.path));
  }
  std::unique_ptr<ArchiveStream> stream(new ArchiveStream(std::move(root), std::move(paths)));
  stream->format_ = format;
  stream->writer_ = archive_write_new();
  if (stream->writer_ == nullptr) {
    return Error(ErrorCode::kResourceExhausted, "archive_write_new() failed", ENOMEM);
  }
  ScopedThreadLocale locale(Utf8Ctype());
  struct archive* writer = stream->writer_;
  int rc = ARCHIVE_OK;
  if (format == ArchiveFormat::kZip) {
    rc = archive_write_set_format_zip(writer);
    if (rc == ARCHIVE_OK) {
      rc = archive_write_set_options(writer, "zip:compression=deflate");
    }
  } else {
    // pax_restricted: plain ustar headers unless a name, size or time needs a pax extension.
    rc = archive_write_set_format_pax_restricted(writer);
    if (rc == ARCHIVE_OK) {
      rc = archive_write_add_filter_gzip(writer);
    }
  }
  // No blocking: each write reaches the callback at once instead of waiting for a 10 KiB block,
  // and the end of the archive is not padded.
  if (rc == ARCHIVE_OK) {
    rc = archive_write_set_bytes_per_block(writer, 0);
  }
  if (rc == ARCHIVE_OK) {
    rc = archive_write_open(writer, &stream->output_, nullptr, AppendToOutput, nullptr);
  }
  if (rc != ARCHIVE_OK) {
    return stream->ArchiveError("preparing the archive");
  }
  return stream;
}

Result<std::optional<std::string>> ArchiveStream::Next() {
  if (failed_) {
    return Error(ErrorCode::kFailedPrecondition, "the archive stream failed earlier");
  }
  ScopedThreadLocale locale(Utf8Ctype());
  bytes_read_this_piece_ = 0;
  while (!finished_ && (output_.empty() || (output_.size() < kMinPieceBytes &&
                                            bytes_read_this_piece_ < kMaxReadPerPiece))) {
    Status status = Step();
    if (!status.ok()) {
      failed_ = true;
      return std::move(status).error();
    }
  }
  if (output_.empty()) {
    return std::optional<std::string>();
  }
  if (output_.size() <= kMaxPieceBytes) {
    return std::optional<std::string>(std::exchange(output_, std::string()));
  }
  std::string piece = output_.substr(0, kMaxPieceBytes);
  output_.erase(0, kMaxPieceBytes);
  return std::optional<std::string>(std::move(piece));
}

Status ArchiveStream::Step() {
  if (current_file_) {
    return CopyNextChunk();
  }
  if (next_path_ < paths_.size()) {
    return StartNextFile();
  }
  return FinishArchive();
}

Status ArchiveStream::StartNextFile() {
  const std::string& path = paths_[next_path_++];
  Result<OpenFile> file = OpenBeneath(root_.get(), path);
  if (!file.ok()) {
    ErrorCode code = file.error().code();
    // Removed, or replaced by a symlink or a directory, since the listing: no longer an artifact.
    if (code == ErrorCode::kNotFound || code == ErrorCode::kInvalidArgument) {
      return OkStatus();
    }
    if (code == ErrorCode::kPermissionDenied) {
      LOG_WARN("artifacts: leaving unreadable '{}' out of the archive", path);
      return OkStatus();
    }
    return std::move(file).error();
  }
  struct stat st {};
  if (::fstat(file->fd.get(), &st) != 0) {
    return ErrnoError("fstat(" + Quoted(path) + ")");
  }
  std::unique_ptr<struct archive_entry, EntryDeleter> entry(archive_entry_new());
  if (!entry) {
    return Error(ErrorCode::kResourceExhausted, "archive_entry_new() failed", ENOMEM);
  }
  archive_entry_set_pathname(entry.get(), path.c_str());
  archive_entry_set_filetype(entry.get(), AE_IFREG);
  archive_entry_set_perm(entry.get(), st.st_mode & 0777);
  archive_entry_set_size(entry.get(), static_cast<la_int64_t>(file->size));
  archive_entry_set_mtime(entry.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  int rc = ARCHIVE_OK;
  {
    // A ZIP name that is not UTF-8 must not carry the UTF-8 flag (readers such as Python's reject
    // the whole archive), and libarchive sets the flag whenever the locale is UTF-8.
    bool binary_zip_name = format_ == ArchiveFormat::kZip && !IsValidUtf8(path);
    ScopedThreadLocale locale(binary_zip_name ? CCtype() : locale_t{});
    // ARCHIVE_WARN: a tar name that is not UTF-8 is stored as binary (pax hdrcharset=BINARY).
    rc = archive_write_header(writer_, entry.get());
  }
  if (rc < ARCHIVE_WARN) {
    return ArchiveError("writing the header of " + Quoted(path));
  }
  current_file_ = std::move(file->fd);
  current_path_ = path;
  current_remaining_bytes_ = file->size;
  padding_ = false;
  return OkStatus();
}

Status ArchiveStream::CopyNextChunk() {
  size_t wanted = static_cast<size_t>(std::min<uint64_t>(current_remaining_bytes_, kChunkBytes));
  size_t got = 0;
  if (wanted > 0 && !padding_) {
    ASSIGN_OR_RETURN(got,
                     ReadSome(current_file_.get(), read_buffer_.data(), wanted, current_path_));
    if (got == 0) {
      // The header already promised the original size: keep the archive well-formed.
      LOG_WARN("artifacts: '{}' shrank while being archived; padding it with zeros", current_path_);
      padding_ = true;
    }
  }
  if (padding_) {
    got = wanted;
    ::memset(read_buffer_.data(), 0, got);
  }
  if (got > 0) {
    if (archive_write_data(writer_, read_buffer_.data(), got) < 0) {
      return ArchiveError("compressing " + Quoted(current_path_));
    }
    current_remaining_bytes_ -= got;
    bytes_read_this_piece_ += got;
  }
  if (current_remaining_bytes_ > 0) {
    return OkStatus();
  }
  current_file_.reset();
  if (archive_write_finish_entry(writer_) < ARCHIVE_WARN) {
    return ArchiveError("finishing " + Quoted(current_path_));
  }
  return OkStatus();
}

Status ArchiveStream::FinishArchive() {
  // Flushes the compressor and writes the trailer (tar's end blocks, ZIP's central directory).
  if (archive_write_close(writer_) != ARCHIVE_OK) {
    return ArchiveError("closing the archive");
  }
  finished_ = true;
  return OkStatus();
}

Error ArchiveStream::ArchiveError(std::string_view what) const {
  const char* detail = writer_ != nullptr ? archive_error_string(writer_) : nullptr;
  return Error(ErrorCode::kInternal,
               std::string(what) + ": " + (detail != nullptr ? detail : "libarchive error"),
               writer_ != nullptr ? archive_errno(writer_) : 0);
}

}  // namespace warden::artifacts
