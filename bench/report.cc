#include "report.h"

#include <string_view>

#include <fmt/format.h>

namespace warden::bench {
namespace {

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kMet:
      return "met";
    case Verdict::kMissed:
      return "MISSED";
    case Verdict::kInvalid:
      return "INVALID (see above)";
    case Verdict::kSkipped:
      return "skipped";
  }
  return "?";
}

}  // namespace

Verdict Judge(bool valid, bool met) {
  if (!valid) {
    return Verdict::kInvalid;
  }
  return met ? Verdict::kMet : Verdict::kMissed;
}

bool PrintTargets(const std::vector<TargetCheck>& targets) {
  fmt::print("\n== Targets\n");
  bool all_valid = true;
  for (const TargetCheck& target : targets) {
    fmt::print("  {:<58} {:>10}   {}\n", target.goal, target.measured, VerdictName(target.verdict));
    all_valid = all_valid && target.verdict != Verdict::kInvalid;
  }
  if (!all_valid) {
    fmt::print(
        "\nBENCHMARK INVALID: runs failed or were not isolated (see FAILED and NOT ISOLATED "
        "above); those numbers mean nothing.\n");
  }
  return all_valid;
}

void PrintExcerpt(const std::string& output, int max_lines) {
  if (output.empty()) {
    fmt::print("      (no output)\n");
  }
  std::string_view rest = output;
  for (int i = 0; i < max_lines && !rest.empty(); ++i) {
    size_t newline = rest.find('\n');
    fmt::print("      | {}\n", rest.substr(0, newline));
    rest = newline == std::string_view::npos ? "" : rest.substr(newline + 1);
  }
}

}  // namespace warden::bench
