#include "base/units.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

using std::chrono::milliseconds;

TEST(UnitsTest, ParsesSizesWithBinarySuffixes) {
  EXPECT_EQ(*ParseBytes("1024"), 1024U);
  EXPECT_EQ(*ParseBytes("64K"), 64U * 1024);
  EXPECT_EQ(*ParseBytes("256M"), 256ULL << 20);
  EXPECT_EQ(*ParseBytes("1G"), 1ULL << 30);
  EXPECT_EQ(*ParseBytes("1.5g"), 3ULL << 29);
  EXPECT_EQ(*ParseBytes("10MiB"), 10ULL << 20);
  EXPECT_EQ(*ParseBytes("2kb"), 2048U);
}

TEST(UnitsTest, RejectsMalformedSizesWithAHint) {
  for (const char* bad : {"", "abc", "-1M", "12Q", "M"}) {
    auto r = ParseBytes(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(ParseBytes("12Q").error().message().find("256M"), std::string::npos);
  EXPECT_FALSE(ParseBytes("99999999T").ok());
}

TEST(UnitsTest, ParsesDurations) {
  EXPECT_EQ(*ParseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(*ParseDuration("10s"), milliseconds(10'000));
  EXPECT_EQ(*ParseDuration("10"), milliseconds(10'000));
  EXPECT_EQ(*ParseDuration("7d"), milliseconds(7LL * 24 * 3600 * 1000));
  EXPECT_EQ(*ParseDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(*ParseDuration("2m"), milliseconds(120'000));
  EXPECT_EQ(*ParseDuration("1h"), milliseconds(3'600'000));
  EXPECT_FALSE(ParseDuration("10 parsecs").ok());
  EXPECT_FALSE(ParseDuration("-1s").ok());
}

TEST(UnitsTest, FormatsForHumans) {
  EXPECT_EQ(FormatBytes(256ULL << 20), "256M");
  EXPECT_EQ(FormatBytes(1536), "1.5K");
  EXPECT_EQ(FormatBytes(100), "100");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(milliseconds(120'000)), "2m");
  EXPECT_EQ(FormatDuration(milliseconds(30'000)), "30s");
}

}  // namespace
}  // namespace warden
