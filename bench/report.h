// The closing summary of the spawn benchmark: every target next to what was measured.
#pragma once

#include <string>
#include <vector>

namespace warden::bench {

enum class Verdict {
  kMet,
  kMissed,
  kInvalid,  // runs failed or were not isolated: the measured number means nothing
  kSkipped,  // the row could not run on this host (no bwrap, no python3)
};

struct TargetCheck {
  std::string goal;      // "warden exec <= bwrap, /bin/true median"
  std::string measured;  // "0.62x", "1.12 ms"
  Verdict verdict = Verdict::kInvalid;
};

// kInvalid unless `valid`; then kMet or kMissed.
Verdict Judge(bool valid, bool met);

// Prints the targets as a table. Returns false when any of them is kInvalid.
bool PrintTargets(const std::vector<TargetCheck>& targets);

// Prints up to `max_lines` lines of a failed command's output, indented, for the reader to see why.
void PrintExcerpt(const std::string& output, int max_lines);

}  // namespace warden::bench
