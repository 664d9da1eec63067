#include "base/result.h"

#include <gtest/gtest.h>

namespace warden {
namespace {

Result<int> Half(int n) {
  if (n % 2 != 0) {
    return Error(ErrorCode::kInvalidArgument, "odd");
  }
  return n / 2;
}

Result<int> Quarter(int n) {
  ASSIGN_OR_RETURN(int half, Half(n));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckEven(int n) {
  RETURN_IF_ERROR(Half(n));
  return OkStatus();
}

TEST(ResultTest, AssignOrReturnPropagatesTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> odd = Quarter(6);
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(odd.error().message(), "odd");
}

TEST(ResultTest, ReturnIfErrorTurnsAResultIntoAStatus) {
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(3).error().code(), ErrorCode::kInvalidArgument);
}

TEST(ResultTest, ErrnoErrorNamesTheCallTheObjectAndTheErrno) {
  Error e = Error::FromErrno("mount(/workspace)", EPERM);
  EXPECT_EQ(e.code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(e.sys_errno(), EPERM);
  EXPECT_EQ(e.message(), "mount(/workspace): EPERM (Operation not permitted)");
  EXPECT_EQ(Error::FromErrno("open(x)", ENOENT).code(), ErrorCode::kNotFound);
}

TEST(ResultTest, WithContextPrependsAndKeepsCodeAndErrno) {
  Error e = Error::FromErrno("mkdir(/sys/fs/cgroup/x)", EACCES).WithContext("creating cgroup");
  EXPECT_EQ(e.message(), "creating cgroup: mkdir(/sys/fs/cgroup/x): EACCES (Permission denied)");
  EXPECT_EQ(e.sys_errno(), EACCES);
  EXPECT_EQ(e.ToString().rfind("permission_denied: ", 0), 0U);
}

}  // namespace
}  // namespace warden
