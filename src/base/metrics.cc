#include "base/metrics.h"

namespace warden::metrics {

void RecordSandboxRun(std::string_view, std::string_view) {}
void RecordTokens(std::string_view, int64_t, int64_t) {}
void RecordRequest(std::string_view, std::string_view, int, std::chrono::microseconds) {}
std::string Exposition() {
  return "";
}

}  // namespace warden::metrics
