#include "base/sha256.h"

#include <cstdint>
#include <string>

#include <gtest/gtest.h>

namespace warden {
namespace {

// The examples of FIPS 180-4 / NIST CSRC "SHA-256" and the long-message vectors of FIPS 180-2.
TEST(Sha256Test, EmptyMessage) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256Test, OneBlockMessageAbc) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, TwoBlockMessageOf448Bits) {
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, MessageOf896Bits) {
  EXPECT_EQ(Sha256Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                      "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256Test, OneMillionLetterA) {
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, OneMillionLetterAFedInUnevenPieces) {
  Sha256 hash;
  std::string piece(997, 'a');
  size_t fed = 0;
  while (fed + piece.size() <= 1000000) {
    hash.Update(piece);
    fed += piece.size();
  }
  hash.Update(std::string(1000000 - fed, 'a'));
  EXPECT_EQ(hash.FinishHex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Lengths around the padding boundary (55 bytes fit one block with the length, 56 do not); the
// digests come from Python's hashlib.
TEST(Sha256Test, LengthsAroundThePaddingBoundary) {
  struct Case {
    size_t length;
    const char* hex;
  };
  const Case cases[] = {
      {55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
      {56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
      {63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
      {64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
      {65, "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9"},
      {119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c"},
      {120, "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98"},
      {128, "24da1b81d0b16df6428eee73c69fcb2a93c76bc6df706f0c6670fe6bfe800464"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Sha256Hex(std::string(c.length, 'x')), c.hex) << c.length << " bytes";
  }
}

TEST(Sha256Test, SplitUpdatesGiveTheOneShotDigest) {
  std::string message;
  uint32_t state = 12345;
  for (int i = 0; i < 300; ++i) {
    state = state * 1103515245 + 12345;
    message.push_back(static_cast<char>(state >> 16));
  }
  std::string expected = Sha256Hex(message);
  for (size_t first = 0; first <= message.size(); ++first) {
    for (size_t second = first; second <= message.size(); second += 37) {
      std::string_view view = message;
      Sha256 hash;
      hash.Update(view.substr(0, first));
      hash.Update(view.substr(first, second - first));
      hash.Update(view.substr(second));
      ASSERT_EQ(hash.FinishHex(), expected) << "split at " << first << " and " << second;
    }
  }
}

TEST(Sha256Test, FinishStartsANewMessage) {
  Sha256 hash;
  hash.Update("unrelated");
  hash.Finish();
  hash.Update("abc");
  EXPECT_EQ(hash.FinishHex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, ByteByByteUpdatesGiveTheOneShotDigest) {
  std::string message = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  Sha256 hash;
  for (char c : message) {
    hash.Update(&c, 1);
  }
  EXPECT_EQ(hash.FinishHex(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

}  // namespace
}  // namespace warden
