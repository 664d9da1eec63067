// Fuzz target: framing of streamed LLM responses (llm/stream.h), SSE and NDJSON, fed the same
// bytes whole and in pieces cut where the input says. Properties: no crash, no sanitizer report;
// the events and lines do not depend on where the network cut the stream; no line handed over
// holds a line feed.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "llm/stream.h"

namespace warden::llm {
namespace {

struct Seen {
  std::vector<std::string> sse;  // "event\x1f" + data, per event
  bool sse_pending = false;
  std::vector<std::string> lines;
};

// Feeds `pieces` in order to both parsers; what they produced, in order.
Seen Feed(const std::vector<std::string_view>& pieces) {
  Seen seen;
  SseParser sse([&](const SseEvent& event) {
    seen.sse.push_back(event.event + '\x1f' + event.data);
    return OkStatus();
  });
  LineSplitter lines([&](std::string_view line) {
    FUZZ_CHECK(line.find('\n') == std::string_view::npos) << "a line with a line feed";
    seen.lines.emplace_back(line);
    return OkStatus();
  });
  for (std::string_view piece : pieces) {
    FUZZ_CHECK(sse.Feed(piece).ok());
    FUZZ_CHECK(lines.Feed(piece).ok());
  }
  FUZZ_CHECK(lines.Finish().ok());
  seen.sse_pending = sse.Pending();
  return seen;
}

}  // namespace
}  // namespace warden::llm

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using warden::llm::Feed;
  using warden::llm::Seen;
  FuzzedDataProvider provider(data, size);
  // The first bytes say where to cut; the rest is the stream.
  std::vector<size_t> cuts;
  size_t cut_count = provider.ConsumeIntegralInRange<size_t>(0, 16);
  for (size_t i = 0; i < cut_count; ++i) {
    cuts.push_back(provider.ConsumeIntegral<uint16_t>());
  }
  std::string stream = provider.ConsumeRemainingBytesAsString();

  Seen whole = Feed({stream});
  std::vector<std::string_view> pieces;
  std::string_view rest = stream;
  for (size_t cut : cuts) {
    size_t n = rest.empty() ? 0 : cut % (rest.size() + 1);
    pieces.push_back(rest.substr(0, n));
    rest.remove_prefix(n);
  }
  pieces.push_back(rest);
  Seen cut = Feed(pieces);

  FUZZ_CHECK(whole.sse == cut.sse)
      << whole.sse.size() << " events whole, " << cut.sse.size() << " in pieces";
  FUZZ_CHECK(whole.sse_pending == cut.sse_pending);
  FUZZ_CHECK(whole.lines == cut.lines)
      << whole.lines.size() << " lines whole, " << cut.lines.size() << " in pieces";
  return 0;
}
