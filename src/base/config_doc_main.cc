// warden_config_doc FILE: rewrites the reference of configuration keys in FILE
// (docs/configuration.md) from the table of keys. Run it after changing src/base/config_keys.cc:
//   build/release/src/base/warden_config_doc docs/configuration.md
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "base/config_doc.h"

// NOLINTNEXTLINE(bugprone-exception-escape): a tool run by hand; the runtime names an exception
int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: warden_config_doc docs/configuration.md\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    fmt::print(stderr, "warden_config_doc: cannot read {}\n", argv[1]);
    return 1;
  }
  std::ostringstream text;
  text << in.rdbuf();
  warden::Result<std::string> spliced = warden::SpliceConfigReference(text.str());
  if (!spliced.ok()) {
    fmt::print(stderr, "warden_config_doc: {}: {}\n", argv[1], spliced.error().message());
    return 1;
  }
  std::ofstream out(argv[1], std::ios::binary | std::ios::trunc);
  out << *spliced;
  out.close();
  if (!out) {
    fmt::print(stderr, "warden_config_doc: cannot write {}\n", argv[1]);
    return 1;
  }
  return 0;
}
