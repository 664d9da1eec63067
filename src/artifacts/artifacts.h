// Artifacts: the files a job leaves in its workspace. Lists them with their SHA-256 (the
// manifest, hashed within a budget), opens one of them from an untrusted relative path without
// ever leaving the workspace, and streams the whole workspace as a ZIP or tar.gz archive, piece by
// piece, in bounded memory. Independent of HTTP: api/ turns the pieces into response bodies.
//
// What counts as an artifact, everywhere in this file: a regular file below the workspace.
// Symbolic links are never followed and never listed (a sandbox could point one at /etc/shadow);
// FIFOs, sockets and device files are skipped; directories on another file system than the
// workspace are not entered. Files the server may not read (EACCES) are skipped with a warning in
// the log, so one unreadable file does not cost the user all the others. Empty directories are
// not part of the manifest or of archives.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace warden {
class Config;
}

struct archive;  // libarchive's writer, confined to archive_stream.cc

namespace warden::artifacts {

// Why a FileInfo has no SHA-256.
enum class Unhashed {
  kNo,          // it has one
  kOverBudget,  // the hashing budget (bytes or time) did not reach it
  kNotAsked,    // listed without hashing (ManifestOptions::hashing unset)
};

// One file of a manifest.
struct FileInfo {
  std::string path;   // relative to the workspace, '/'-separated, no "", "." or ".." segment; the
                      // name's own bytes (names.h says how they are shown as text)
  uint64_t size = 0;  // bytes: exactly those hashed, or the size when listed if not hashed
  std::optional<std::string> sha256;  // 64 lower-case hex digits, or why not below
  Unhashed unhashed = Unhashed::kNo;
  int64_t mtime_ms = 0;  // last modification, milliseconds since the Unix epoch
};

inline constexpr size_t kDefaultManifestLimit = 10000;

// What a manifest may spend on digests: the bytes read in all, and the time from its start. Zero
// bytes or zero time hash nothing (never "unlimited").
struct HashBudget {
  uint64_t bytes = uint64_t{1} << 30;
  std::chrono::milliseconds time{10'000};
};

// The budget set in the configuration: `artifacts.hash_budget` (a size, "1G") and
// `artifacts.hash_time` (a duration, "10s"); the defaults above for what is unset.
// kInvalidArgument naming the key and the form expected for anything else.
Result<HashBudget> HashBudgetFromConfig(const Config& config);

struct ManifestOptions {
  size_t max_files = kDefaultManifestLimit;
  // Unset: no file is read, only listed (a live listing: cheap, whatever the files hold).
  std::optional<HashBudget> hashing = HashBudget{};
};

// Lists the artifacts of `workspace` (a directory), sorted by path in byte order. With a hashing
// budget, each file gets the SHA-256 of its content (read in 64 KiB pieces, never whole), the
// smallest files first, so that one huge (or sparse) file cannot cost all the others their
// digests: a file larger than what is left of the byte budget, or reached after the time budget
// has run out, is listed with its size and Unhashed::kOverBudget. A file that disappears or stops
// being a regular file while the manifest is taken is left out. Fails with kNotFound when the
// workspace does not exist and with kResourceExhausted (no errno) when it holds more than
// `max_files` artifacts or is nested more than 256 directories deep: no partial manifest, so that
// a caller cannot mistake a truncated list for the whole.
Result<std::vector<FileInfo>> Manifest(const std::string& workspace,
                                       const ManifestOptions& options = {});

// A regular file of a workspace, open for reading.
struct OpenFile {
  UniqueFd fd;
  uint64_t size = 0;  // at the time it was opened
  int64_t mtime_ms = 0;
};

// Opens the artifact at `relative`, a path taken from an untrusted URL, and never anything outside
// `workspace`. The path must be relative and plain: no leading '/', no empty, "." or ".." segment,
// no NUL byte, at most 4095 bytes; otherwise kInvalidArgument. It is resolved below the workspace
// with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) (on kernels without
// openat2, one component at a time with O_NOFOLLOW), so a symlink anywhere on the way, planted
// before or during the call, fails the open (kInvalidArgument) instead of being followed.
// kNotFound when nothing is there; kInvalidArgument "is a directory" / "is not a regular file"
// for anything but a regular file; kPermissionDenied on EACCES.
Result<OpenFile> OpenInWorkspace(const std::string& workspace, std::string_view relative);

// Reads an open artifact front to back in pieces of at most 64 KiB. It stops at the size the file
// had when it was opened, so that a Content-Length announced from OpenFile::size stays true; a
// file that has shrunk since fails with kDataLoss. Owns the descriptor. Not thread-safe; may be
// handed from thread to thread between calls.
class FileReader {
 public:
  static constexpr size_t kPieceBytes = size_t{64} * 1024;

  explicit FileReader(OpenFile file);

  // The next piece (never empty), or std::nullopt after the last byte.
  Result<std::optional<std::string>> Next();

 private:
  UniqueFd fd_;
  uint64_t remaining_bytes_;
};

enum class ArchiveFormat {
  kZip,    // deflate; Zip64 for files over 3.75 GiB; UTF-8 names flagged as such
  kTarGz,  // POSIX ustar, with pax extended headers where ustar falls short, gzip-compressed
};

// "zip" -> kZip; "tar.gz" and "tgz" -> kTarGz; anything else -> std::nullopt.
std::optional<ArchiveFormat> ParseArchiveFormat(std::string_view name);
// "zip" or "tar.gz": the extension of a download's file name.
std::string_view FileExtension(ArchiveFormat format);
// "application/zip" or "application/gzip".
std::string_view ContentType(ArchiveFormat format);

inline constexpr size_t kDefaultArchiveLimit = 100000;

// The artifacts of a workspace as one archive, produced on demand: each Next() compresses the next
// few hundred KiB of the workspace's files and returns the archive bytes that came out. Memory
// stays bounded whatever the size of the files: one 256 KiB read buffer, the compressor's state,
// the list of paths and (for ZIP) the central directory, which grows by about 100 bytes per file.
//
// Entries are the artifacts, in the order of Manifest(), with relative paths (no leading '/', no
// ".."), their permission bits without set-id bits, their mtime, and owner 0:0 (the sandbox's ids
// mean nothing to whoever unpacks the archive). A file that disappears between listing and
// archiving is left out; one that changes size while it is read is cut at, or padded with zeros
// to, the size recorded in its header, so the archive stays well-formed.
//
// Owns the workspace descriptor, the open file and the libarchive writer. Not thread-safe; may be
// handed from thread to thread between calls. Not movable: libarchive holds its address.
class ArchiveStream {
 public:
  // Lists the workspace (kNotFound when it does not exist; kResourceExhausted past `max_files`
  // artifacts) and prepares the writer. Nothing is read from the files yet.
  static Result<std::unique_ptr<ArchiveStream>> Open(const std::string& workspace,
                                                     ArchiveFormat format,
                                                     size_t max_files = kDefaultArchiveLimit);

  ArchiveStream(const ArchiveStream&) = delete;
  ArchiveStream& operator=(const ArchiveStream&) = delete;
  ~ArchiveStream();

  // The next bytes of the archive (never empty; usually 64 KiB to 400 KiB, never over 1 MiB), or
  // std::nullopt once the whole archive has been returned. After an error the stream is
  // unusable: later calls fail with kFailedPrecondition.
  Result<std::optional<std::string>> Next();

 private:
  ArchiveStream(UniqueFd root, std::vector<std::string> paths);

  // One bounded unit of work: the next file's header, or its next ≤ 256 KiB, or the end of the
  // archive. What libarchive emits meanwhile is appended to output_.
  Status Step();
  Status StartNextFile();
  Status CopyNextChunk();
  Status FinishArchive();
  Error ArchiveError(std::string_view what) const;

  UniqueFd root_;
  ArchiveFormat format_ = ArchiveFormat::kZip;
  std::vector<std::string> paths_;
  size_t next_path_ = 0;
  struct archive* writer_ = nullptr;
  std::string output_;  // filled by libarchive's write callback
  std::vector<char> read_buffer_;
  UniqueFd current_file_;  // valid while a file's data is being copied
  std::string current_path_;
  uint64_t current_remaining_bytes_ = 0;
  bool padding_ = false;  // the current file ended early; zeros stand in for the rest
  uint64_t bytes_read_this_piece_ = 0;
  bool finished_ = false;
  bool failed_ = false;
};

}  // namespace warden::artifacts
