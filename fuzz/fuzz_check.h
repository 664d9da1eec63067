// What every fuzz target uses to state a property: FUZZ_CHECK(condition) << "what went wrong";
// a violated property prints its message and aborts, which libFuzzer reports as a crash with the
// input saved. Fuzz-only.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

namespace warden::fuzz {

// Collects the message of a failed check and aborts when it goes out of scope.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition) {
    message_ << file << ":" << line << ": property violated: " << condition << ": ";
  }
  CheckFailure(const CheckFailure&) = delete;
  CheckFailure& operator=(const CheckFailure&) = delete;
  ~CheckFailure() {
    std::string text = message_.str();
    std::fprintf(stderr, "%s\n", text.c_str());
    std::abort();
  }
  template <typename T>
  CheckFailure& operator<<(const T& value) {
    message_ << value;
    return *this;
  }

 private:
  std::ostringstream message_;
};

}  // namespace warden::fuzz

#define FUZZ_CHECK(condition) \
  if (condition) {            \
  } else                      \
    ::warden::fuzz::CheckFailure(__FILE__, __LINE__, #condition)
