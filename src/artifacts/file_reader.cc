#include <algorithm>
#include <utility>

#include "artifacts/artifacts.h"
#include "artifacts/workspace_fs.h"

namespace warden::artifacts {

FileReader::FileReader(OpenFile file) : fd_(std::move(file.fd)), remaining_bytes_(file.size) {}

Result<std::optional<std::string>> FileReader::Next() {
  if (remaining_bytes_ == 0) {
    return std::optional<std::string>();
  }
  std::string piece(static_cast<size_t>(std::min<uint64_t>(remaining_bytes_, kPieceBytes)), '\0');
  size_t filled = 0;
  // A regular file may return less than asked before its end (a signal, a FUSE file system): read
  // until the piece is full or the file ends.
  while (filled < piece.size()) {
    ASSIGN_OR_RETURN(size_t n,
                     ReadSome(fd_.get(), piece.data() + filled, piece.size() - filled, "artifact"));
    if (n == 0) {
      return Error(ErrorCode::kDataLoss, "the artifact shrank while it was being read");
    }
    filled += n;
  }
  remaining_bytes_ -= filled;
  return std::optional<std::string>(std::move(piece));
}

}  // namespace warden::artifacts
