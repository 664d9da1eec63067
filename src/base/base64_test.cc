#include "base/base64.h"

#include <string>

#include <gtest/gtest.h>

namespace warden {
namespace {

// The test vectors of RFC 4648 §10.
TEST(Base64Test, EncodesTheVectorsOfRfc4648) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, EveryByteValueSurvivesARoundTrip) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes.push_back(static_cast<char>(i));
  }
  for (size_t cut = 0; cut < 4; ++cut) {
    std::string piece = bytes.substr(cut);
    EXPECT_EQ(Base64Decode(Base64Encode(piece)), piece) << cut;
  }
}

TEST(Base64Test, DecodingRefusesWhatIsNotCanonicalBase64) {
  EXPECT_EQ(Base64Decode("Zm9vYmFy"), "foobar");
  for (std::string bad : {"Zg=", "Zg", "Z===", "Zm9v!mFy", "Zg==Zg==", "Zh==", "Zm9=", "=Zg="}) {
    EXPECT_FALSE(Base64Decode(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace warden
