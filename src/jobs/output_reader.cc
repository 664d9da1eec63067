#include "jobs/output_reader.h"

#include "agent/output.h"

namespace warden::jobs {
namespace {

constexpr std::string_view kOutputType = "output";

EventQuery OutputPage(int64_t after_seq, int64_t before_seq, bool newest_first) {
  EventQuery query;
  query.after_seq = after_seq;
  query.before_seq = before_seq;
  query.type = kOutputType;
  query.newest_first = newest_first;
  query.limit = kMaxPageLimit;
  query.max_bytes = kEventPageBytes;
  return query;
}

}  // namespace

Result<std::unique_ptr<OutputReader>> OutputReader::Open(JobStore& store, const Job& job,
                                                         int64_t tail_lines) {
  std::unique_ptr<OutputReader> reader(new OutputReader(store, job.id, job.last_event_seq));
  if (tail_lines > 0) {
    RETURN_IF_ERROR(reader->SeekTail(tail_lines));
  }
  return reader;
}

Status OutputReader::SeekTail(int64_t lines) {
  // Newest first, counting newlines back from the end; the line that follows the `lines`-th one
  // found is where the tail begins. The newline that ends the output begins no line.
  bool at_end = true;
  int64_t found = 0;
  for (int64_t before = end_seq_ + 1;;) {
    ASSIGN_OR_RETURN(EventPage page, store_.ReadEvents(job_id_, OutputPage(0, before, true)));
    for (const Event& event : page.events) {
      std::string bytes = agent::OutputBytes(event.data);
      size_t end = bytes.size();
      if (at_end && end > 0) {
        at_end = false;
        end -= bytes.back() == '\n' ? 1 : 0;
      }
      while (end > 0) {
        size_t newline = bytes.rfind('\n', end - 1);
        if (newline == std::string::npos) {
          break;
        }
        if (++found == lines) {
          after_seq_ = event.seq - 1;
          skip_seq_ = event.seq;
          skip_bytes_ = newline + 1;
          return OkStatus();
        }
        end = newline;
      }
      before = event.seq;
    }
    if (!page.more) {
      return OkStatus();  // fewer lines than asked for: all of them, from the start
    }
  }
}

Result<std::optional<std::string>> OutputReader::Next() {
  while (!done_) {
    ASSIGN_OR_RETURN(EventPage page,
                     store_.ReadEvents(job_id_, OutputPage(after_seq_, end_seq_ + 1, false)));
    std::string piece;
    for (const Event& event : page.events) {
      std::string bytes = agent::OutputBytes(event.data);
      if (event.seq == skip_seq_) {
        bytes.erase(0, skip_bytes_);
      }
      piece += bytes;
      after_seq_ = event.seq;
    }
    done_ = !page.more;
    if (!piece.empty()) {
      return std::optional<std::string>(std::move(piece));
    }
  }
  return std::optional<std::string>();
}

}  // namespace warden::jobs
