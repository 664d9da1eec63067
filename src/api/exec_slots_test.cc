#include "api/exec_slots.h"

#include <gtest/gtest.h>

namespace warden::api {
namespace {

TEST(ExecSlotsTest, AKeyGetsAtMostItsOwnSlots) {
  ExecSlots slots(4, 2);
  Result<ExecSlots::Slot> first = slots.TryAcquire("alice");
  Result<ExecSlots::Slot> second = slots.TryAcquire("alice");

  Result<ExecSlots::Slot> third = slots.TryAcquire("alice");
  Result<ExecSlots::Slot> other = slots.TryAcquire("bob");

  ASSERT_TRUE(first.ok() && second.ok() && other.ok());
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(third.error().message().find("key 'alice' already has 2"), std::string::npos);
  EXPECT_EQ(slots.busy(), 3u);
}

TEST(ExecSlotsTest, TheServersSlotsBoundEveryKeyTogether) {
  ExecSlots slots(2, 2);
  Result<ExecSlots::Slot> alice = slots.TryAcquire("alice");
  Result<ExecSlots::Slot> anonymous = slots.TryAcquire("");

  Result<ExecSlots::Slot> bob = slots.TryAcquire("bob");

  ASSERT_TRUE(alice.ok() && anonymous.ok());
  ASSERT_FALSE(bob.ok());
  EXPECT_NE(bob.error().message().find("all 2 /v1/exec slots"), std::string::npos);
}

TEST(ExecSlotsTest, ASlotComesBackWhenItsRunEnds) {
  ExecSlots slots(1, 1);
  {
    Result<ExecSlots::Slot> held = slots.TryAcquire("alice");
    ASSERT_TRUE(held.ok());
    ExecSlots::Slot moved = std::move(*held);
    EXPECT_FALSE(slots.TryAcquire("bob").ok());
  }

  EXPECT_EQ(slots.busy(), 0u);
  EXPECT_TRUE(slots.TryAcquire("alice").ok());
}

TEST(ExecSlotsTest, AnonymousRequestsHaveNoKeyLimit) {
  ExecSlots slots(3, 1);
  Result<ExecSlots::Slot> a = slots.TryAcquire("");
  Result<ExecSlots::Slot> b = slots.TryAcquire("");

  EXPECT_TRUE(a.ok() && b.ok());
}

}  // namespace
}  // namespace warden::api
