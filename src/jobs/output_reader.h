// A job's output (the bytes of its "output" events, stdout and stderr as they came) read piece by
// piece, one bounded page of events at a time: what GET /v1/jobs/{id}/logs streams.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "jobs/store.h"

namespace warden::jobs {

// Reads the output stored up to the job's last event when it was opened (`job.last_event_seq`):
// output a running job prints later is not part of it. Holds one page of events (about
// kEventPageBytes) at a time, never the whole output. The bytes are the program's exactly, also
// where they are not UTF-8. Not thread-safe; the store must outlive it.
class OutputReader {
 public:
  // `tail_lines` > 0 keeps only the last that many lines: a last line without '\n' counts as one,
  // the '\n' that ends the output begins none. Finding where they begin reads the output backwards,
  // only as far as they go.
  static Result<std::unique_ptr<OutputReader>> Open(JobStore& store, const Job& job,
                                                    int64_t tail_lines);

  // The next piece of the output, at most about kEventPageBytes; std::nullopt at the end.
  Result<std::optional<std::string>> Next();

 private:
  OutputReader(JobStore& store, std::string job_id, int64_t end_seq)
      : store_(store), job_id_(std::move(job_id)), end_seq_(end_seq) {}

  // Positions the reader at the start of the last `lines` lines.
  Status SeekTail(int64_t lines);

  JobStore& store_;
  std::string job_id_;
  int64_t end_seq_;        // the last event of the output read
  int64_t after_seq_ = 0;  // the last event read so far
  int64_t skip_seq_ = 0;   // of this event, the first `skip_bytes_` bytes are left out (tail)
  size_t skip_bytes_ = 0;
  bool done_ = false;
};

}  // namespace warden::jobs
