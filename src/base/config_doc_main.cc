// warden_config_doc FILE: rewrites the reference of configuration keys in FILE
// (docs/configuration.md) from the table of keys. Run it after changing src/base/config_keys.cc:
//   build/release/src/base/warden_config_doc docs/configuration.md
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "base/config_doc.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: warden_config_doc docs/configuration.md\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "warden_config_doc: cannot read %s\n", argv[1]);
    return 1;
  }
  std::ostringstream text;
  text << in.rdbuf();
  warden::Result<std::string> spliced = warden::SpliceConfigReference(text.str());
  if (!spliced.ok()) {
    std::fprintf(stderr, "warden_config_doc: %s: %s\n", argv[1], spliced.error().message().c_str());
    return 1;
  }
  std::ofstream out(argv[1], std::ios::binary | std::ios::trunc);
  out << *spliced;
  out.close();
  if (!out) {
    std::fprintf(stderr, "warden_config_doc: cannot write %s\n", argv[1]);
    return 1;
  }
  return 0;
}
